"""Live mask detection on a webcam, a video file or a stream."""

import dataclasses
import os
import sys
import threading
from pathlib import Path

from maskdetect.cli.common import (
    HEARTBEAT_VARIABLE,
    add_detection_options,
    apply_verbosity,
    at_least,
    detector_from_args,
    detector_settings,
    has_display,
    new_parser,
    number,
    run_main,
)
from maskdetect.cli.status import EXIT_INTERRUPTED, EXIT_OK
from maskdetect.cluster.cameras import DEFAULT_STREAMS_PER_WATCHER, CameraSettings
from maskdetect.detect.detectors import VIDEO_DETECT_SIZE
from maskdetect.errors import InputError
from maskdetect.io.outputs import is_stdout
from maskdetect.io.redact import redacted
from maskdetect.pipeline import FACE_FINDING_THREADS, VIDEO_CLASSIFIER_THREADS
from maskdetect.serve.access import DEFAULT_MAX_CLIENTS, access_for
from maskdetect.serve.dashboard import Dashboard
from maskdetect.serve.live import LiveFeed
from maskdetect.serve.pages import PageServer, parse_address
from maskdetect.video.loop import (
    VideoOptions,
    check_video_outputs,
    run_video,
    stop_on_ctrl_c,
)
from maskdetect.video.several import check_sources, run_videos, source_options
from maskdetect.video.sources import is_file_source
from maskdetect.video.statistics import save_statistics_plot, write_statistics_csv

DEFAULTS = VideoOptions()


EXAMPLES_TEXT = """
    mask-detect-video                                   webcam 0 in a window; q or Esc quits
    mask-detect-video -s entrance.mp4 --no-display -o checked.avi --json events.jsonl
    mask-detect-video -s rtsp://camera/stream --no-display --json - --alert-frames 15
    mask-detect-video -s 0 --detect-size 640            find smaller (farther) faces, more slowly
    mask-detect-video -s door.mp4 --no-display --blur --snapshots alerts/ --stats-csv people.csv --stats-plot people.png
    mask-detect-video -s rtsp://camera/stream --no-display --serve 8000    live page at http://127.0.0.1:8000/
    mask-detect-video -s rtsp://door1/stream -s rtsp://door2/stream --no-display --serve 0.0.0.0:8000 --json events.jsonl
    mask-detect-video --ray auto -s rtsp://door1/stream -s rtsp://door2/stream --serve 8000 --json events.jsonl
                                                        cameras on a Ray cluster, one dashboard (docs/cluster.md)
"""


# -s env:NAME: the source's address is in the environment variable NAME.
SOURCE_VARIABLE_PREFIX = "env:"




def source_addresses(sources):
    """The -s values, with each env:NAME read from the environment (default: webcam 0)."""
    addresses = []
    for source in sources or ["0"]:
        if source.startswith(SOURCE_VARIABLE_PREFIX):
            name = source.removeprefix(SOURCE_VARIABLE_PREFIX)
            address = os.environ.get(name)
            if not address:
                raise InputError(f"-s {source}: the environment variable {name} is not set")
            source = address
        addresses.append(source)
    return addresses


def parse_args(argv=None):
    parser = new_parser("mask-detect-video", __doc__, EXAMPLES_TEXT)
    parser.add_argument(
        "-s", "--source", action="append",
        help="webcam index, video file, device (/dev/video0), image sequence (img_%%04d.jpg), GStreamer pipeline or "
        "stream URL; env:NAME reads it from the environment variable NAME, keeping a camera's password out of the "
        "process list; repeat to watch several at once, each with numbered outputs (out-1.avi, ...) (default: 0)",
    )
    add_detection_options(parser, VIDEO_DETECT_SIZE)
    parser.add_argument("--no-display", action="store_true", help="run headless: no window")
    parser.add_argument("-o", "--output", help="write the annotated video here (.avi, .mp4 or .mkv)")
    parser.add_argument("--json", metavar="PATH", help="JSON lines per frame and alert, to PATH or '-' for stdout")
    parser.add_argument("--alert-frames", type=at_least(1), default=DEFAULTS.alert_frames,
                        help="a person raises one alert once their voted label has been unmasked for this many of their frames in a row")
    parser.add_argument("--realert-after", type=number(minimum=0.0), default=DEFAULTS.realert_s, metavar="SECONDS",
                        help="alert again for a person still unmasked after this many seconds (0: one alert per person)")
    parser.add_argument("--snapshots", metavar="DIR", help="save the annotated frame of each alert here as a JPEG")
    parser.add_argument("--blur", action="store_true",
                        help="blur every face in everything written and shown (video, snapshots, window)")
    parser.add_argument("--stats-csv", metavar="PATH", help="write unique people per class and masked share, per minute, as CSV")
    parser.add_argument("--stats-plot", metavar="PATH", help="plot people per class and masked share per minute (PNG)")
    parser.add_argument(
        "--alert-on", nargs="+", metavar="CLASS",
        help="the classes that raise alerts (default: every class that does not comply, see --compliant: "
        "without_mask and mask_weared_incorrect)",
    )
    parser.add_argument(
        "--compliant", nargs="+", metavar="CLASS",
        help="the classes that comply, for alerts and the masked share (default: with_mask; "
        "'--compliant with_mask mask_weared_incorrect' counts a mask worn under the nose as compliant)",
    )
    parser.add_argument("--beep", action="store_true", help="ring the terminal bell on each alert")
    parser.add_argument(
        "--serve", metavar="[HOST:]PORT",
        help="serve a live page with the annotated stream and the counts at http://HOST:PORT/ (host 127.0.0.1 unless "
        "given); opened with the token the run prints (docs/entrance.md#watching-from-another-machine)",
    )
    events = parser.add_argument_group("MQTT events for a building's systems (pip install 'maskdetect[mqtt]')")
    events.add_argument("--mqtt", metavar="URL",
                        help="publish alerts, per-minute statistics, state and summary to mqtt://[USER@]HOST[:PORT][/PREFIX] "
                        "(mqtts:// for TLS), under PREFIX/CAMERA/... (docs/json.md#mqtt-events)")
    events.add_argument("--mqtt-password-file", metavar="PATH",
                        help="the broker password, from a file only you can read (or the MASKDETECT_MQTT_PASSWORD variable)")
    events.add_argument("--mqtt-ca-file", metavar="PATH", help="the certificate authority of an mqtts:// broker")
    events.add_argument("--mqtt-discovery", action="store_true",
                        help="announce each camera's sensors to Home Assistant (MQTT discovery)")
    events.add_argument("--camera-name", action="append", default=[], metavar="NAME",
                        help="each source's name in the topics, in -s order (default: from its address)")
    serving = parser.add_argument_group("who may open the live page")
    serving.add_argument("--serve-token-file", metavar="PATH",
                         help="the page's token, from a file only you can read (default: a new random token each run)")
    serving.add_argument("--serve-no-auth", action="store_true",
                         help="no token: only for a page on this machine (127.0.0.1)")
    serving.add_argument("--serve-cert", metavar="FILE", help="serve over HTTPS with this certificate (PEM)")
    serving.add_argument("--serve-key", metavar="FILE", help="the private key of --serve-cert (PEM)")
    serving.add_argument("--serve-allow-host", action="append", default=[], metavar="NAME",
                         help="also answer requests for this host name (a reverse proxy's, the machine's DNS name); "
                         "others are refused against DNS rebinding")
    serving.add_argument("--serve-max-clients", type=at_least(1), default=DEFAULT_MAX_CLIENTS,
                         help="streams served at once; more viewers get 503")
    parser.add_argument("--max-frames", type=at_least(1), help="stop after this many frames (of each source)")
    parser.add_argument("--heartbeat", metavar="PATH", default=os.environ.get(HEARTBEAT_VARIABLE) or None,
                        help="rewrite PATH every 2 s while frames come, for 'python -m maskdetect health PATH' "
                        f"(a container's HEALTHCHECK, a monitor; default: ${HEARTBEAT_VARIABLE}, which the image sets)")
    parser.add_argument(
        "--open-timeout", type=number(above=0.0, maximum=3600.0), default=DEFAULTS.open_timeout, metavar="SECONDS",
        help="give up on a source that does not open within this time (a FIFO nobody writes to, a server that "
        "never answers); a stream also gives up a read that waits this long",
    )
    cluster = parser.add_argument_group("many cameras on a Ray cluster (pip install 'maskdetect[ray]')")
    cluster.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help="watch the sources on Ray actors: alone or 'local' starts a local Ray, 'auto' finds a running one, "
        "HOST:PORT joins one; events, statistics and the --serve dashboard gather every camera (no window, no -o)",
    )
    cluster.add_argument("--streams-per-watcher", type=at_least(1), default=DEFAULT_STREAMS_PER_WATCHER,
                         help="with --ray: sources per actor, sharing its detector")
    cluster.add_argument("--stats-every", type=number(above=0.0), default=CameraSettings.statistics_every_s, metavar="SECONDS",
                         help="with --ray: how often each camera's people counts and masked share are sent (the chart)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    if args.ray is not None:
        return run_on_ray(args)
    options = VideoOptions(
        display=not args.no_display, output=args.output, json_path=args.json, alert_frames=args.alert_frames,
        realert_s=args.realert_after, alert_classes=args.alert_on,
        compliant_classes=args.compliant, beep=args.beep, max_frames=args.max_frames,
        progress=not args.quiet, snapshots=args.snapshots, blur=args.blur, stats_csv=args.stats_csv,
        stats_plot=args.stats_plot, open_timeout=args.open_timeout, heartbeat=args.heartbeat,
    )
    sources = source_addresses(args.source)
    if options.display and not has_display():
        raise InputError("cannot open a window here (no display); run with --no-display")
    if len(sources) > 1 and (options.display or is_stdout(args.json)):
        raise InputError("several sources show side by side on the live page (--serve), not in windows or on stdout: "
                         "add --no-display, and give --json a file")
    per_source = source_options(options, len(sources))
    check_sources(sources, per_source)
    for settings, events in zip(per_source, mqtt_events(args, sources)):
        settings.mqtt = events
    server = None
    if args.serve:
        host, port = parse_address(args.serve)
        access = serve_access(args, host)
        feed = LiveFeed(sources)
        for settings in per_source:
            settings.live = feed
        server = PageServer(feed, host, port, access)
    try:
        # Frames are not searched again for faces lying on their side: people at a camera stand upright.
        detectors = [detector_from_args(args, VIDEO_CLASSIFIER_THREADS, FACE_FINDING_THREADS, upright=False) for _ in sources]
        summaries = run_videos(detectors, sources, per_source) if len(sources) > 1 else [
            run_video(detectors[0], sources[0], per_source[0], checked=True)
        ]
    finally:
        if server is not None:
            server.close()
    out = sys.stderr if is_stdout(args.json) else sys.stdout
    for source, summary in zip(sources, summaries):
        if len(sources) > 1:
            print(f"== {redacted(source)} ==", file=out)
        print(summary.text(), file=out)
    return EXIT_INTERRUPTED if any(summary.interrupted for summary in summaries) else EXIT_OK


def mqtt_events(args, sources):
    """One connected MQTT publisher per source (None each without --mqtt); refused credentials are one line."""
    if not args.mqtt:
        return [None] * len(sources)
    if len(args.camera_name) not in (0, len(sources)):
        raise InputError(f"give --camera-name once per source ({len(sources)}), or not at all")
    from maskdetect.video.mqtt import (
        Broker,
        CameraEvents,
        broker_password,
        camera_name,
        import_paho,
    )

    import_paho()

    broker, password = Broker.parse(args.mqtt), broker_password(args.mqtt_password_file)
    names = [camera_name(source, given) for source, given in zip(sources, args.camera_name or [None] * len(sources))]
    if len(set(names)) < len(names):
        raise InputError(f"two sources would publish under one camera name ({', '.join(names)}): give --camera-name")
    return [CameraEvents(broker, name, password, args.mqtt_ca_file, args.mqtt_discovery).start() for name in names]


def serve_access(args, host):
    """Who may open the page, from the --serve-* options."""
    return access_for(host, args.serve_token_file, args.serve_no_auth, args.serve_cert, args.serve_key,
                      args.serve_allow_host, args.serve_max_clients)


def run_on_ray(args):
    """Every source on Ray watchers; the events, snapshots, statistics and dashboard gathered here."""
    from maskdetect.cluster.connect import connect, import_ray

    import_ray()
    from maskdetect.cluster.cameras import run_cameras

    if args.output:
        raise InputError("-o records one machine's video; with --ray use --snapshots, --json and the --serve dashboard")
    if args.stats_every <= 0:
        raise InputError(f"--stats-every must be more than 0 seconds, got {args.stats_every}")
    sources = source_addresses(args.source)
    options = VideoOptions(display=False, json_path=args.json, alert_frames=args.alert_frames, realert_s=args.realert_after,
                           alert_classes=args.alert_on, compliant_classes=args.compliant, max_frames=args.max_frames,
                           snapshots=args.snapshots, stats_csv=args.stats_csv, stats_plot=args.stats_plot)
    per_source = source_options(dataclasses.replace(options, json_path=None, snapshots=None), len(sources))
    check_sources(sources, per_source)
    for source in sources:
        check_video_outputs(source, dataclasses.replace(options, stats_csv=None, stats_plot=None))
    settings = CameraSettings(alert_frames=args.alert_frames, realert_s=args.realert_after, alert_classes=args.alert_on,
                              compliant_classes=args.compliant, blur=args.blur, max_frames=args.max_frames,
                              statistics_every_s=args.stats_every)
    detector = detector_settings(args, upright=False)
    # The watchers run in other folders, maybe on other machines: local paths made absolute.
    detector.update(model=str(Path(detector["model"]).resolve()), face_detector_dir=str(Path(detector["face_detector_dir"]).resolve()))
    sources = [str(Path(source).resolve()) if is_file_source(source) else source for source in sources]
    mqtt = mqtt_events(args, sources) if args.mqtt else None
    dashboard = server = None
    if args.serve:
        host, port = parse_address(args.serve)
        dashboard = Dashboard(sources)
        server = PageServer(dashboard, host, port, serve_access(args, host))
    stop = threading.Event()
    try:
        ray = connect(args.ray, verbose=args.verbose)
        with stop_on_ctrl_c(stop):
            summaries, _ = run_cameras(ray, sources, detector, settings, args.json, args.snapshots, dashboard,
                                       args.streams_per_watcher, stop, mqtt)
    finally:
        if server is not None:
            server.close()
    for summary, source_settings in zip(summaries, per_source):
        if "per_minute" in summary and source_settings.stats_csv:
            write_statistics_csv(summary, source_settings.stats_csv)
        if "per_minute" in summary and source_settings.stats_plot:
            save_statistics_plot(summary, source_settings.stats_plot)
    out = sys.stderr if is_stdout(args.json) else sys.stdout
    for summary in summaries:
        print(f"== camera {summary['camera']}: {summary['source']} ==", file=out)
        faces = ", ".join(f"{count} {label}" for label, count in summary.get("faces", {}).items()) or "none"
        print(f"frames processed: {summary['frames_in_all']}\nfaces seen: {faces}\nalerts raised: {summary.get('alerts', 0)}\n"
              f"watcher restarts: {summary['restarts']}", file=out)
    return EXIT_INTERRUPTED if stop.is_set() else EXIT_OK


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
