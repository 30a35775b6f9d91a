"""Find every face in photos and say who wears a mask."""

import dataclasses
import json
import sys

from maskdetect.cli.common import apply_verbosity, logger, new_parser, run_main
from maskdetect.cli.options import add_options, read_options
from maskdetect.cli.status import EXIT_OK, EXIT_SOME_INPUTS_FAILED
from maskdetect.io.outputs import is_stdout
from maskdetect.runs import run_archive, run_photos
from maskdetect.settings import ArchiveSettings, PhotoSettings

EXAMPLES_TEXT = """
    mask-detect-image                                   the example photos -> output/
    mask-detect-image -i photos/ -o annotated/ --json faces.json
    mask-detect-image -i party.jpg -o party_checked.jpg --min-face-size 0
    mask-detect-image -i crops/ --whole-image --json -  face crops, JSON on stdout
    mask-detect-image -i photos/ --backend litert       LiteRT instead of ONNX Runtime
    mask-detect-image -i archive/ --ray --results results/        an archive on a local Ray (docs/cluster.md)
    mask-detect-image -i s3://bucket/photos --ray auto --results s3://bucket/results --format parquet
"""


def parse_args(argv=None):
    parser = new_parser("mask-detect-image", __doc__, EXAMPLES_TEXT)
    add_options(parser, PhotoSettings())
    args = parser.parse_args(argv)
    if args.ray is None:
        defaults = ArchiveSettings()
        for name in ("results", "checkpoint", "workers", "format", "part_size"):
            if getattr(args, name) != getattr(defaults, name):
                parser.error(f"--{name.replace('_', '-')} needs --ray")
    return args


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    settings = dataclasses.replace(read_options(PhotoSettings(), args), progress=not args.quiet)
    if settings.archive.ray is not None:
        summary = run_archive(settings, verbose=args.verbose)
        print(summary.text(settings.archive.results))
        return EXIT_SOME_INPUTS_FAILED if summary.unreadable else EXIT_OK
    run = run_photos(settings)
    if is_stdout(settings.json):
        json.dump(run.records, sys.stdout, indent=2)
        print(flush=True)
    else:
        for result in run.results:
            print(result.summary())
        if run.rejected_boxes:
            print(f"boxes dropped as no face: {run.rejected_boxes}")
    if run.failures:
        logger.error("%d input(s) failed", len(run.failures))
    elif not run.results:
        logger.error("no images found in %s", " ".join(settings.image))
    return EXIT_SOME_INPUTS_FAILED if run.failures or not run.results else EXIT_OK


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
