#!/usr/bin/env python3
"""Find every face in photos and say who wears a mask."""

import argparse
import json
import sys
from pathlib import Path

import maskdetect  # noqa: F401  (quiets TensorFlow, should --backend keras load it)
from maskdetect.cli import EXIT_OK, EXIT_SOME_INPUTS_FAILED, at_least, has_display, run_main
from maskdetect.errors import InputError
from maskdetect.faces import (
    DEFAULT_CONFIDENCE, DEFAULT_DETECTOR, DEFAULT_FACE_DETECTOR_DIR, DETECTORS, MIN_DETECTION_SIDE, YUNET_MAX_SIDE,
)
from maskdetect.outputs import check_distinct, check_file_output, check_image_outputs
from maskdetect.photos import check_photos, expand_inputs, output_paths
from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE
from maskdetect.runtime import BACKENDS, DEFAULT_BACKEND

ROOT = Path(__file__).resolve().parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "-i", "--image", nargs="+", default=[str(ROOT / "examples")],
        help="image files and/or folders of images (default: the bundled examples/)",
    )
    parser.add_argument(
        "-m", "--model", default=str(ROOT / "mask_detector.model"),
        help="trained mask classifier: a Keras model, whose export beside it the backend runs, or a .onnx or .tflite file",
    )
    parser.add_argument(
        "-b", "--backend", choices=BACKENDS,
        help=f"what runs the classifier (default {DEFAULT_BACKEND}; a .onnx or .tflite --model names its own): "
        "onnx (ONNX Runtime), litert (LiteRT, for Raspberry Pi and other ARM boards), keras (TensorFlow, slow to start)",
    )
    parser.add_argument("-f", "--face-detector", choices=DETECTORS, default=DEFAULT_DETECTOR)
    parser.add_argument("--face-detector-dir", default=str(DEFAULT_FACE_DETECTOR_DIR), help="folder of face detector files")
    parser.add_argument(
        "--detect-size", type=at_least(MIN_DETECTION_SIDE), default=YUNET_MAX_SIDE,
        help="YuNet searches each image shrunk to at most this many pixels on its long side (default %(default)s): "
        "smaller is faster and misses more small faces (README, \"Speed\")",
    )
    parser.add_argument("-c", "--confidence", type=float, default=DEFAULT_CONFIDENCE, help="face detection threshold")
    parser.add_argument(
        "--min-face-size", type=at_least(0), default=DEFAULT_MIN_FACE_SIZE,
        help="faces shorter than this many pixels are boxed but not labelled (too small to judge; default "
        f"{DEFAULT_MIN_FACE_SIZE}); 0 labels every face",
    )
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

    from maskdetect.faces import load_face_detector
    from maskdetect.runtime import load_classifier
    from maskdetect.pipeline import MaskDetector
    from maskdetect.reporting import write_json

    face_detector = None
    if not args.whole_image:
        face_detector = load_face_detector(args.face_detector, args.face_detector_dir, args.confidence, args.detect_size)
    detector = MaskDetector(load_classifier(args.model, args.backend), face_detector, args.min_face_size)
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
