"""``python -m maskdetect health HEARTBEAT``: is a video run alive? For container health checks and monitors."""

import json
import os
import sys
import time
from pathlib import Path

from maskdetect.cli.common import HEARTBEAT_VARIABLE, new_parser, run_main
from maskdetect.cli.status import EXIT_OK, EXIT_SOME_INPUTS_FAILED
from maskdetect.io.outputs import numbered
from maskdetect.settings import number

DEFAULT_MAX_AGE_S = 30.0


def heartbeat_files(path):
    """``path``, or the numbered heartbeats (heartbeat-1.json, ...) a run of several sources writes in its place."""
    path = Path(path)
    if path.exists():
        return [path]
    files = []
    while numbered(path, len(files) + 1).exists():
        files.append(numbered(path, len(files) + 1))
    return files or [path]


def check_heartbeat(path, max_age):
    """None when the run writing ``path`` is alive, else why not (one line)."""
    try:
        with open(path, encoding="utf-8") as handle:
            beat = json.load(handle)
        age = time.time() - float(beat["time"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"no readable heartbeat at {path} ({getattr(error, 'strerror', None) or error})"
    if beat.get("state") != "running":
        return f"the run has {beat.get('state')} ({beat.get('frames')} frames; {path})"
    if age > max_age:
        return f"no frame for {age:.0f} s (the run has stalled; {beat.get('frames')} frames; {path})"
    return None


def main(argv=None):
    parser = new_parser(
        "python -m maskdetect health",
        "Exit 0 when the video run writing HEARTBEAT (detect_mask_video.py --heartbeat) has handled a frame "
        "within --max-age seconds, 1 (with one line) when it has stalled, ended or never started.",
        """
        python -m maskdetect health /run/maskdetect/heartbeat.json
        python -m maskdetect health heartbeat.json --max-age 60
        """,
    )
    parser.add_argument(
        "heartbeat",
        nargs="?",
        default=os.environ.get(HEARTBEAT_VARIABLE),
        help="the file detect_mask_video.py --heartbeat writes; a run of several sources writes one "
        f"per source (NAME-1.json, ...), all checked (default: ${HEARTBEAT_VARIABLE})",
    )
    parser.add_argument(
        "--max-age",
        type=number(above=0.0),
        default=DEFAULT_MAX_AGE_S,
        help="seconds since the last frame after which the run counts as stalled",
    )
    args = parser.parse_args(argv)
    if not args.heartbeat:
        parser.error(f"give the heartbeat file, or set {HEARTBEAT_VARIABLE}")
    files = heartbeat_files(args.heartbeat)
    for path in files:
        problem = check_heartbeat(path, args.max_age)
        if problem:
            print(f"unhealthy: {problem}", file=sys.stderr)
            return EXIT_SOME_INPUTS_FAILED
    print(f"healthy: {len(files)} run{'s' if len(files) > 1 else ''} handling frames ({', '.join(map(str, files))})")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
