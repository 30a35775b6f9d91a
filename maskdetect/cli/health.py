"""``python -m maskdetect health HEARTBEAT``: is a video run alive? For container health checks and monitors."""

import json
import sys
import time

from maskdetect.cli.common import new_parser, number, run_main
from maskdetect.cli.status import EXIT_OK, EXIT_SOME_INPUTS_FAILED

DEFAULT_MAX_AGE_S = 30.0


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
    parser.add_argument("heartbeat", help="the file detect_mask_video.py --heartbeat writes")
    parser.add_argument("--max-age", type=number(above=0.0), default=DEFAULT_MAX_AGE_S,
                        help="seconds since the last frame after which the run counts as stalled")
    args = parser.parse_args(argv)
    try:
        with open(args.heartbeat, encoding="utf-8") as handle:
            beat = json.load(handle)
        age = time.time() - float(beat["time"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"unhealthy: no readable heartbeat at {args.heartbeat} ({getattr(error, 'strerror', None) or error})",
              file=sys.stderr)
        return EXIT_SOME_INPUTS_FAILED
    if beat.get("state") != "running":
        print(f"unhealthy: the run has {beat.get('state')} ({beat.get('frames')} frames)", file=sys.stderr)
        return EXIT_SOME_INPUTS_FAILED
    if age > args.max_age:
        print(f"unhealthy: no frame for {age:.0f} s (the run has stalled; {beat.get('frames')} frames)", file=sys.stderr)
        return EXIT_SOME_INPUTS_FAILED
    print(f"healthy: {beat.get('frames')} frames, the last {age:.1f} s ago")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
