"""Live mask detection on a webcam, a video file or a stream."""

import sys

from maskdetect.cli.common import (
    add_detection_options,
    apply_verbosity,
    at_least,
    detector_from_args,
    has_display,
    new_parser,
    run_main,
)
from maskdetect.cli.status import EXIT_INTERRUPTED, EXIT_OK
from maskdetect.detect.detectors import VIDEO_DETECT_SIZE
from maskdetect.errors import InputError
from maskdetect.io.outputs import is_stdout
from maskdetect.pipeline import FACE_FINDING_THREADS, VIDEO_CLASSIFIER_THREADS
from maskdetect.video.live_page import LiveFeed, LivePageServer, parse_address
from maskdetect.video.loop import VideoOptions, run_video
from maskdetect.video.several import check_sources, run_videos, source_options

DEFAULTS = VideoOptions()


EXAMPLES_TEXT = """
    mask-detect-video                                   webcam 0 in a window; q or Esc quits
    mask-detect-video -s entrance.mp4 --no-display -o checked.avi --json events.jsonl
    mask-detect-video -s rtsp://camera/stream --no-display --json - --alert-frames 15
    mask-detect-video -s 0 --detect-size 640            find smaller (farther) faces, more slowly
    mask-detect-video -s door.mp4 --no-display --blur --snapshots alerts/ --stats-csv people.csv --stats-plot people.png
    mask-detect-video -s rtsp://camera/stream --no-display --serve 8000    live page at http://127.0.0.1:8000/
    mask-detect-video -s rtsp://door1/stream -s rtsp://door2/stream --no-display --serve 0.0.0.0:8000 --json events.jsonl
"""


def parse_args(argv=None):
    parser = new_parser("mask-detect-video", __doc__, EXAMPLES_TEXT)
    parser.add_argument(
        "-s", "--source", action="append",
        help="webcam index, video file, device (/dev/video0), image sequence (img_%%04d.jpg), GStreamer pipeline or "
        "stream URL; repeat to watch several at once, each with numbered outputs (out-1.avi, ...) (default: 0)",
    )
    add_detection_options(parser, VIDEO_DETECT_SIZE)
    parser.add_argument("--no-display", action="store_true", help="run headless: no window")
    parser.add_argument("-o", "--output", help="write the annotated video here (.avi, .mp4 or .mkv)")
    parser.add_argument("--json", metavar="PATH", help="JSON lines per frame and alert, to PATH or '-' for stdout")
    parser.add_argument("--alert-frames", type=at_least(1), default=DEFAULTS.alert_frames,
                        help="a person raises one alert once their voted label has been unmasked for this many of their frames in a row")
    parser.add_argument("--realert-after", type=float, default=DEFAULTS.realert_s, metavar="SECONDS",
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
        help="serve a live page with the annotated stream and the counts at http://HOST:PORT/ (host 127.0.0.1 unless given)",
    )
    parser.add_argument("--max-frames", type=at_least(1), help="stop after this many frames")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    options = VideoOptions(
        display=not args.no_display, output=args.output, json_path=args.json, alert_frames=args.alert_frames,
        realert_s=args.realert_after, alert_classes=args.alert_on,
        compliant_classes=args.compliant, beep=args.beep, max_frames=args.max_frames,
        progress=not args.quiet, snapshots=args.snapshots, blur=args.blur, stats_csv=args.stats_csv,
        stats_plot=args.stats_plot,
    )
    sources = args.source or ["0"]
    if options.display and not has_display():
        raise InputError("cannot open a window here (no display); run with --no-display")
    if len(sources) > 1 and (options.display or is_stdout(args.json)):
        raise InputError("several sources show side by side on the live page (--serve), not in windows or on stdout: "
                         "add --no-display, and give --json a file")
    per_source = source_options(options, len(sources))
    check_sources(sources, per_source)
    server = None
    if args.serve:
        host, port = parse_address(args.serve)
        feed = LiveFeed(sources)
        for settings in per_source:
            settings.live = feed
        server = LivePageServer(feed, host, port)
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
            print(f"== {source} ==", file=out)
        print(summary.text(), file=out)
    return EXIT_INTERRUPTED if any(summary.interrupted for summary in summaries) else EXIT_OK


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
