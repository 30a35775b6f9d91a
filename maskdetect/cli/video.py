"""Live mask detection on a webcam, a video file or a stream."""

import dataclasses
import os
import sys

from maskdetect.cli.common import HEARTBEAT_VARIABLE, apply_verbosity, new_parser, run_main
from maskdetect.cli.options import add_options, read_options
from maskdetect.cli.status import EXIT_INTERRUPTED, EXIT_OK
from maskdetect.io.outputs import is_stdout
from maskdetect.io.redact import redacted
from maskdetect.runs import run_cameras, run_video, source_addresses
from maskdetect.settings import VideoSettings

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


def parse_args(argv=None):
    parser = new_parser("mask-detect-video", __doc__, EXAMPLES_TEXT)
    add_options(parser, VideoSettings())
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    settings = read_options(VideoSettings(), args)
    settings = dataclasses.replace(
        settings, progress=not args.quiet, heartbeat=settings.heartbeat or os.environ.get(HEARTBEAT_VARIABLE) or None
    )
    out = sys.stderr if is_stdout(settings.json_path) else sys.stdout
    if settings.cameras.ray is not None:
        summaries, stopped = run_cameras(settings, verbose=args.verbose)
        for summary in summaries:
            print(f"== camera {summary['camera']}: {summary['source']} ==", file=out)
            faces = ", ".join(f"{count} {label}" for label, count in summary.get("faces", {}).items()) or "none"
            print(
                f"frames processed: {summary['frames_in_all']}\nfaces seen: {faces}\n"
                f"alerts raised: {summary.get('alerts', 0)}\nwatcher restarts: {summary['restarts']}",
                file=out,
            )
        return EXIT_INTERRUPTED if stopped else EXIT_OK
    summaries = run_video(settings)
    for source, summary in zip(source_addresses(settings.source), summaries):
        if len(summaries) > 1:
            print(f"== {redacted(source)} ==", file=out)
        print(summary.text(), file=out)
    return EXIT_INTERRUPTED if any(summary.interrupted for summary in summaries) else EXIT_OK


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
