"""What the commands share: one-line errors, logging, parsers and reports."""

import argparse
import json
import logging
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
        shown = action.default not in (None, False) and not isinstance(action, argparse._StoreFalseAction)
        if not shown or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def new_parser(prog, description, examples):
    """A parser with --version, -q/--quiet, -v/--verbose, defaults in the help and usage examples after it."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=HelpFormatter,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr: no progress bars, no warnings")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="also report what is loaded and from where")
    return parser


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
