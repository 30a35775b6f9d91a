"""What the scripts share: exit statuses, one-line errors, option checks and the detection options."""

import argparse
import os
import sys

# The exit statuses of every script (README, "Outputs and safety").
EXIT_OK = 0
EXIT_SOME_INPUTS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def run_main(main):
    """Run a script's main(); bad input and Ctrl+C become one line on stderr and their exit status."""
    from maskdetect.errors import InputError

    try:
        return main()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; outputs written so far are complete, unfinished ones were discarded", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (as `| head` does): nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def at_least(minimum):
    """An argparse type: an integer no smaller than ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def has_display():
    """False on a Linux or BSD machine with no X or Wayland display, where a window cannot open."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def add_detection_options(parser, detect_size):
    """The options of every script that finds and labels faces: model, backend, face detector, sizes."""
    from maskdetect.faces import DEFAULT_CONFIDENCE, DEFAULT_DETECTOR, DEFAULT_FACE_DETECTOR_DIR, DETECTORS, MIN_DETECTION_SIDE
    from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE
    from maskdetect.runtime import BACKENDS, DEFAULT_BACKEND, DEFAULT_MODEL

    parser.add_argument(
        "-m", "--model", default=str(DEFAULT_MODEL),
        help="trained mask classifier: a Keras model, whose export beside it the backend runs, or a .onnx or .tflite file",
    )
    parser.add_argument(
        "-b", "--backend", choices=BACKENDS,
        help=f"what runs the classifier (default {DEFAULT_BACKEND}; a .onnx or .tflite --model names its own): "
        "onnx (ONNX Runtime), litert (LiteRT, for Raspberry Pi and other ARM boards), keras (TensorFlow, slow to start)",
    )
    parser.add_argument("-f", "--face-detector", choices=DETECTORS, default=DEFAULT_DETECTOR, help="face detector")
    parser.add_argument("--face-detector-dir", default=str(DEFAULT_FACE_DETECTOR_DIR), help="folder of face detector files")
    parser.add_argument(
        "--detect-size", type=at_least(MIN_DETECTION_SIDE), default=detect_size,
        help=f"YuNet searches each image shrunk to at most this many pixels on its long side (default {detect_size}): "
        "smaller is faster and misses more small faces (README, \"Speed\")",
    )
    parser.add_argument(
        "-c", "--confidence", type=float, default=DEFAULT_CONFIDENCE, help=f"face detection threshold (default {DEFAULT_CONFIDENCE})"
    )
    parser.add_argument(
        "--min-face-size", type=at_least(0), default=DEFAULT_MIN_FACE_SIZE,
        help="faces shorter than this many pixels are boxed but not labelled (too small to judge; default "
        f"{DEFAULT_MIN_FACE_SIZE}); 0 labels every face",
    )


def load_detector(args, classifier_threads=None, whole_image=False):
    """The MaskDetector that ``add_detection_options`` describe; no face detector with ``whole_image``."""
    from maskdetect.faces import load_face_detector
    from maskdetect.pipeline import MaskDetector
    from maskdetect.runtime import load_classifier

    face_detector = None
    if not whole_image:
        face_detector = load_face_detector(args.face_detector, args.face_detector_dir, args.confidence, args.detect_size)
    return MaskDetector(load_classifier(args.model, args.backend, classifier_threads), face_detector, args.min_face_size)
