#!/usr/bin/env python3
"""Train the face-mask classifier (the classic script name for mask-train). Same as `mask-train`; see `--help`."""

import sys

from maskdetect.cli.train import run

if __name__ == "__main__":
    sys.exit(run())
