#!/usr/bin/env python3
"""Find every face in photos and say who wears a mask."""

import argparse
import json
import sys
from pathlib import Path

import maskdetect  # noqa: F401  (quiets TensorFlow, should --backend keras load it)
from maskdetect.cli import (
    EXIT_OK,
    EXIT_SOME_INPUTS_FAILED,
    add_detection_options,
    has_display,
    load_detector,
    run_main,
)
from maskdetect.errors import InputError
from maskdetect.faces import YUNET_MAX_SIDE
from maskdetect.outputs import check_distinct, check_file_output, check_image_outputs
from maskdetect.photos import check_photos, expand_inputs, output_paths
from maskdetect.pipeline import PIPELINED_CLASSIFIER_THREADS

ROOT = Path(__file__).resolve().parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "-i", "--image", nargs="+", default=[str(ROOT / "examples")],
        help="image files and/or folders of images (default: the bundled examples/)",
    )
    add_detection_options(parser, YUNET_MAX_SIDE)
    parser.add_argument(
        "-o", "--output", default="output",
        help="file (one input) or folder for annotated copies (default: output/)",
    )
    parser.add_argument("--json", metavar="PATH", help="write results as JSON to PATH, or '-' for stdout")
    parser.add_argument("--whole-image", action="store_true", help="no face detection: each image is one face")
    parser.add_argument("--show", action="store_true", help="show each annotated image in a window")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.show and not has_display():
        raise InputError("cannot open a window here (no display); run without --show")
    paths, problems = expand_inputs(args.image)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    targets, folder = output_paths(paths, args.output)
    check_image_outputs(targets, folder, inputs=paths)
    if args.json and args.json != "-":
        check_file_output(args.json, inputs=paths)
    check_distinct([*dict.fromkeys(targets), *([args.json] if args.json and args.json != "-" else [])])

    from maskdetect.reporting import write_json

    detector = load_detector(args, PIPELINED_CLASSIFIER_THREADS, whole_image=args.whole_image)
    results, failures = check_photos(detector, paths, targets, args.show, progress=True)
    failures = problems + failures
    records = [result.as_record() for result in results]
    if args.json == "-":
        json.dump(records, sys.stdout, indent=2)
        print(flush=True)
    else:
        for result in results:
            print(result.summary())
        if args.json:
            write_json(records, args.json)
    if failures:
        print(f"error: {len(failures)} input(s) failed", file=sys.stderr)
    elif not results:
        print(f"error: no images found in {' '.join(args.image)}", file=sys.stderr)
    return EXIT_SOME_INPUTS_FAILED if failures or not results else EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
