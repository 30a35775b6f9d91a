#!/usr/bin/env python3
"""Live mask detection on a webcam, a video file or a stream."""

import argparse
import sys
from pathlib import Path

import maskdetect  # noqa: F401  (quiets TensorFlow, should --backend keras load it)
from maskdetect.cli import EXIT_INTERRUPTED, EXIT_OK, at_least, has_display, run_main
from maskdetect.errors import InputError
from maskdetect.faces import (
    DEFAULT_CONFIDENCE, DEFAULT_DETECTOR, DEFAULT_FACE_DETECTOR_DIR, DETECTORS, MIN_DETECTION_SIDE, VIDEO_DETECT_SIZE,
)
from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE
from maskdetect.runtime import BACKENDS, DEFAULT_BACKEND
from maskdetect.video import VideoOptions, check_video_outputs

ROOT = Path(__file__).resolve().parent
DEFAULTS = VideoOptions()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "-s", "--source", default="0",
        help="webcam index (default 0), video file, device (/dev/video0), image sequence (img_%%04d.jpg), "
        "GStreamer pipeline or stream URL",
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
        "--detect-size", type=at_least(MIN_DETECTION_SIDE), default=VIDEO_DETECT_SIZE,
        help="YuNet searches each image shrunk to at most this many pixels on its long side (default %(default)s): "
        "smaller is faster and misses more small faces (README, \"Speed\")",
    )
    parser.add_argument("-c", "--confidence", type=float, default=DEFAULT_CONFIDENCE, help="face detection threshold")
    parser.add_argument(
        "--min-face-size", type=at_least(0), default=DEFAULT_MIN_FACE_SIZE,
        help="faces shorter than this many pixels are boxed but not labelled (too small to judge; default "
        f"{DEFAULT_MIN_FACE_SIZE}); 0 labels every face",
    )
    parser.add_argument("--no-display", action="store_true", help="run headless: no window")
    parser.add_argument("-o", "--output", help="write the annotated video here (.avi, .mp4 or .mkv)")
    parser.add_argument("--json", metavar="PATH", help="JSON lines per frame and alert, to PATH or '-' for stdout")
    parser.add_argument("--alert-frames", type=at_least(1), default=DEFAULTS.alert_frames,
                        help="consecutive frames with an unmasked face that raise an alert")
    parser.add_argument("--alert-cooldown", type=float, default=DEFAULTS.alert_cooldown_s,
                        help="seconds between two alerts")
    parser.add_argument(
        "--alert-on", nargs="+", metavar="CLASS",
        help="the classes that raise alerts (default: the model's unmasked classes, such as without_mask; "
        "add mask_weared_incorrect with a 3-class model to alert on it too)",
    )
    parser.add_argument("--beep", action="store_true", help="ring the terminal bell on each alert")
    parser.add_argument("--max-frames", type=at_least(1), help="stop after this many frames")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    options = VideoOptions(
        display=not args.no_display, output=args.output, json_path=args.json, alert_frames=args.alert_frames,
        alert_cooldown_s=args.alert_cooldown, alert_classes=args.alert_on, beep=args.beep, max_frames=args.max_frames,
    )
    if options.display and not has_display():
        raise InputError("cannot open a window here (no display); run with --no-display")
    check_video_outputs(args.source, options)

    from maskdetect.faces import load_face_detector
    from maskdetect.runtime import load_classifier
    from maskdetect.pipeline import MaskDetector
    from maskdetect.video import CLASSIFIER_THREADS, run_video

    detector = MaskDetector(
        load_classifier(args.model, args.backend, CLASSIFIER_THREADS),
        load_face_detector(args.face_detector, args.face_detector_dir, args.confidence, args.detect_size),
        args.min_face_size,
    )
    summary = run_video(detector, args.source, options)
    print(summary.text(), file=sys.stderr if args.json == "-" else sys.stdout)
    return EXIT_INTERRUPTED if summary.interrupted else EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
