#!/usr/bin/env python3
"""Find every face in photos and say who wears a mask."""

import argparse
import json
import sys
from pathlib import Path

import maskdetect  # noqa: F401  (quiets TensorFlow before it loads)
from maskdetect.cli import run_main
from maskdetect.faces import DEFAULT_CONFIDENCE, DEFAULT_DETECTOR, DEFAULT_FACE_DETECTOR_DIR, DETECTORS
from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE

ROOT = Path(__file__).resolve().parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "-i", "--image", nargs="+", default=[str(ROOT / "examples")],
        help="image files and/or folders of images (default: the bundled examples/)",
    )
    parser.add_argument("-m", "--model", default=str(ROOT / "mask_detector.model"), help="trained mask classifier")
    parser.add_argument("-f", "--face-detector", choices=DETECTORS, default=DEFAULT_DETECTOR)
    parser.add_argument("--face-detector-dir", default=str(DEFAULT_FACE_DETECTOR_DIR), help="folder of face detector files")
    parser.add_argument("-c", "--confidence", type=float, default=DEFAULT_CONFIDENCE, help="face detection threshold")
    parser.add_argument(
        "--min-face-size", type=int, default=DEFAULT_MIN_FACE_SIZE,
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
    from maskdetect.faces import load_face_detector
    from maskdetect.model import MaskClassifier
    from maskdetect.photos import check_photos
    from maskdetect.pipeline import MaskDetector
    from maskdetect.reporting import write_json

    face_detector = None
    if not args.whole_image:
        face_detector = load_face_detector(args.face_detector, args.face_detector_dir, args.confidence)
    detector = MaskDetector(MaskClassifier.load(args.model), face_detector, args.min_face_size)
    results, failures = check_photos(detector, args.image, args.output, args.show)
    records = [result.as_json() for result in results]
    if args.json == "-":
        json.dump(records, sys.stdout, indent=2)
        print()
    else:
        for result in results:
            print(result.summary())
        if args.json:
            write_json(records, args.json)
    if failures:
        print(f"error: {len(failures)} input(s) failed", file=sys.stderr)
    elif not results:
        print(f"error: no images found in {' '.join(args.image)}", file=sys.stderr)
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(run_main(main))
