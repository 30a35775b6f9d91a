"""What the commands share: one-line errors, logging, parsers, the detection options and reports."""

import argparse
import json
import logging
import math
import os
import signal
import sys
import textwrap
import threading

from maskdetect import __version__
from maskdetect.cli.status import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK
from maskdetect.errors import InputError, interrupt
from maskdetect.io.outputs import is_stdout
from maskdetect.io.records import write_json

logger = logging.getLogger("maskdetect")

# The heartbeat file of a video run when --heartbeat is not given, and the health check's default (the image sets it).
HEARTBEAT_VARIABLE = "MASKDETECT_HEARTBEAT"


def run_main(main):
    """Run a command's main(); bad input and Ctrl+C (or SIGTERM) become one line on stderr and their exit status."""
    setup_logging()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if in_main_thread else None
    try:
        return main()
    except InputError as error:
        logger.error("%s", error)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        logger.error("interrupted; outputs written so far are complete, unfinished ones were discarded")
        _forget_escaped_interrupt()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (as `| head` does): nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _forget_escaped_interrupt():
    """Let an interrupted run end with its status, 130.

    CPython notes a KeyboardInterrupt that leaves code run through ``PyRun_String`` (TensorFlow's import runs
    such code) and, under ``python -m``, kills the process with SIGINT once it has exited, whatever status
    main returned. Running any string through the same call clears the note.
    """
    if sys.implementation.name == "cpython":
        import ctypes

        ctypes.pythonapi.PyRun_SimpleString(b"pass")


class _LineFormatter(logging.Formatter):
    """'error: ...' and 'warning: ...' lines; information as it is."""

    def format(self, record):
        message = record.getMessage()
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a message comes (so redirecting stderr redirects the log too)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):
        pass


def setup_logging(level=logging.INFO):
    """The toolkit's messages go to stderr, one line each, at ``level`` and above."""
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_LineFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)


def apply_verbosity(args):
    """Set the log level from -q/--quiet (errors only) and -v/--verbose (details too)."""
    setup_logging(logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.INFO)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default after its help (unless it has none or its help names it); examples kept as written."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def new_parser(prog, description, examples):
    """A parser with --version, -q/--quiet, -v/--verbose, defaults in the help and usage examples after it."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=HelpFormatter,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr: no progress bars, no warnings")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="also report what is loaded and from where")
    return parser


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


def number(minimum=None, maximum=None, above=None, below=None):
    """An argparse type: a finite number within the bounds given (nan, inf and words are refused)."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        for bound, fails, words in ((minimum, lambda b: value < b, "at least"), (maximum, lambda b: value > b, "at most"),
                                    (above, lambda b: value <= b, "more than"), (below, lambda b: value >= b, "less than")):
            if bound is not None and fails(bound):
                raise argparse.ArgumentTypeError(f"must be {words} {bound:g}, got {text}")
        return value

    return parse


def has_display():
    """False on a Linux or BSD machine with no X or Wayland display, where a window cannot open."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def add_classifier_options(parser):
    """--model (by default the model training left in this folder, else the shipped one) and --backend."""
    from maskdetect.bundled import TRAINED_MODEL, default_model
    from maskdetect.classify.backends import BACKENDS, DEFAULT_BACKEND

    parser.add_argument(
        "-m", "--model", default=str(default_model()),
        help="trained mask classifier: a Keras model, whose export beside it the backend runs, or a .onnx or .tflite "
        f"file (default: {TRAINED_MODEL} in this folder if there, else the model shipped with the package)",
    )
    parser.add_argument(
        "-b", "--backend", choices=BACKENDS,
        help=f"what runs the classifier (default {DEFAULT_BACKEND}; a .onnx or .tflite --model names its own): "
        "onnx (ONNX Runtime), litert (LiteRT, for Raspberry Pi and other ARM boards), keras (TensorFlow, slow to start)",
    )


def add_detection_options(parser, detect_size, upscale=1.0):
    """The options of every script that finds and labels faces: model, backend, face detector, sizes."""
    from maskdetect.bundled import FACE_DETECTOR_DIR
    from maskdetect.detect.detectors import (
        DEFAULT_CONFIDENCE,
        DEFAULT_DETECTOR,
        DETECTORS,
        MIN_DETECTION_SIDE,
    )
    from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE

    add_classifier_options(parser)
    parser.add_argument("-f", "--face-detector", choices=DETECTORS, default=DEFAULT_DETECTOR, help="face detector")
    parser.add_argument("--face-detector-dir", default=str(FACE_DETECTOR_DIR), help="folder of face detector files")
    parser.add_argument(
        "--detect-size", type=at_least(MIN_DETECTION_SIDE), default=detect_size,
        help="YuNet searches each image shrunk to at most this many pixels on its long side: "
        "smaller is faster and misses more small faces (docs/benchmarks.md)",
    )
    parser.add_argument(
        "--upscale", type=number(minimum=1.0, maximum=4.0), default=upscale,
        help="YuNet searches each image enlarged this many times (within --detect-size): masked faces are found "
        "more often in enlarged photos, at about the square of this in time (docs/benchmarks.md)",
    )
    parser.add_argument(
        "-c", "--confidence", type=number(above=0.0, maximum=1.0), default=DEFAULT_CONFIDENCE, help="face detection threshold"
    )
    parser.add_argument(
        "--min-face-size", type=at_least(0), default=DEFAULT_MIN_FACE_SIZE,
        help="faces shorter than this many pixels are boxed but never labelled (too small to judge), whatever the "
        "model's judging rule says; 0 leaves it to the rule",
    )


def detector_settings(args, whole_image=False, upright=True):
    """The settings of ``maskdetect.api.load_detector`` that ``add_detection_options`` describe, as plain
    values (a cluster's workers load their own detector from them)."""
    return {
        "model": str(args.model), "backend": args.backend, "face_detector": None if whole_image else args.face_detector,
        "confidence": args.confidence, "detect_size": args.detect_size, "min_face_size": args.min_face_size,
        "upscale": args.upscale, "upright": upright, "face_detector_dir": str(args.face_detector_dir),
    }


def detector_from_args(args, classifier_threads=None, face_detector_threads=None, whole_image=False, upright=True):
    """The detector that ``add_detection_options`` describe, its models on so many threads each (default: one
    per core); no face detector with ``whole_image``."""
    from maskdetect import api

    return api.load_detector(**detector_settings(args, whole_image, upright), classifier_threads=classifier_threads,
                             face_detector_threads=face_detector_threads)


def print_report(text, data, json_path=None):
    """A report as text on stdout and, with ``json_path``, as JSON there; with '-', JSON on stdout and text on stderr."""
    if is_stdout(json_path):
        json.dump(data, sys.stdout, indent=2)
        print(flush=True)
        print(text, file=sys.stderr)
        return
    print(text)
    if json_path:
        write_json(data, json_path)
