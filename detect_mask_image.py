#!/usr/bin/env python3
"""Find every face in photos and say who wears a mask. Same as `mask-detect-image`; see `--help`."""

import sys

from maskdetect.cli.image import run

if __name__ == "__main__":
    sys.exit(run())
