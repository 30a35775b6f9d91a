"""Find every face in photos and say who wears a mask."""

import json
import sys

from maskdetect.bundled import EXAMPLES
from maskdetect.cli.common import (
    add_detection_options,
    apply_verbosity,
    detector_from_args,
    has_display,
    logger,
    new_parser,
    run_main,
)
from maskdetect.cli.status import EXIT_OK, EXIT_SOME_INPUTS_FAILED
from maskdetect.detect.detectors import PHOTO_UPSCALE, YUNET_MAX_SIDE
from maskdetect.errors import InputError
from maskdetect.io.images import expand_inputs
from maskdetect.io.outputs import (
    check_distinct,
    check_file_output,
    check_image_outputs,
    file_outputs,
    is_stdout,
    output_paths,
)
from maskdetect.photos import check_photos
from maskdetect.pipeline import FACE_FINDING_THREADS

EXAMPLES_TEXT = """
    mask-detect-image                                   the example photos -> output/
    mask-detect-image -i photos/ -o annotated/ --json faces.json
    mask-detect-image -i party.jpg -o party_checked.jpg --min-face-size 0
    mask-detect-image -i crops/ --whole-image --json -  face crops, JSON on stdout
    mask-detect-image -i photos/ --backend litert       LiteRT instead of ONNX Runtime
"""


def parse_args(argv=None):
    parser = new_parser("mask-detect-image", __doc__, EXAMPLES_TEXT)
    parser.add_argument(
        "-i", "--image", nargs="+", default=[str(EXAMPLES)],
        help="image files and/or folders of images (default: the example photos shipped with the package)",
    )
    add_detection_options(parser, YUNET_MAX_SIDE, PHOTO_UPSCALE)
    parser.add_argument(
        "-o", "--output", default="output", help="file (one input) or folder for annotated copies",
    )
    parser.add_argument("--json", metavar="PATH", help="write results as JSON to PATH, or '-' for stdout")
    parser.add_argument("--whole-image", action="store_true", help="no face detection: each image is one face")
    parser.add_argument("--show", action="store_true", help="show each annotated image in a window")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    if args.show and not has_display():
        raise InputError("cannot open a window here (no display); run without --show")
    paths, problems = expand_inputs(args.image)
    for problem in problems:
        logger.error("%s", problem)
    targets, folder = output_paths(paths, args.output)
    check_image_outputs(targets, folder, inputs=paths)
    if file_outputs(args.json):
        check_file_output(args.json, inputs=paths, kind="json")
    check_distinct([*dict.fromkeys(targets), *file_outputs(args.json)])

    from maskdetect.io.records import write_json

    detector = detector_from_args(args, face_detector_threads=FACE_FINDING_THREADS, whole_image=args.whole_image)
    results, failures = check_photos(detector, paths, targets, args.show, progress=not args.quiet)
    failures = problems + failures
    records = [result.as_record() for result in results]
    if is_stdout(args.json):
        json.dump(records, sys.stdout, indent=2)
        print(flush=True)
    else:
        for result in results:
            print(result.summary())
        if args.json:
            write_json(records, args.json)
    if failures:
        logger.error("%d input(s) failed", len(failures))
    elif not results:
        logger.error("no images found in %s", " ".join(args.image))
    return EXIT_SOME_INPUTS_FAILED if failures or not results else EXIT_OK


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
