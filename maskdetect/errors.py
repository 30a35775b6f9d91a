"""The one exception type that the command-line scripts turn into a one-line message, and how a stop request
becomes the interruption they already handle."""

from types import FrameType
from typing import NoReturn


class InputError(Exception):
    """Bad input from the user: a missing file, an unusable dataset, a wrong model."""


def interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    """A signal handler: SIGTERM (``docker stop``, ``systemctl stop``) interrupts as Ctrl+C does."""
    raise KeyboardInterrupt
