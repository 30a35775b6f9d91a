#!/usr/bin/env python3
"""Live mask detection on a webcam, a video file or a stream. Same as `mask-detect-video`; see `--help`."""

import sys

from maskdetect.cli.video import run

if __name__ == "__main__":
    sys.exit(run())
