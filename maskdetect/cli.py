"""What the scripts share: exit statuses, one-line errors, and option checks."""

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
