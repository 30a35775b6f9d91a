"""The one exception type that the command-line scripts turn into a one-line message, and how a stop request
becomes the interruption they already handle."""


class InputError(Exception):
    """Bad input from the user: a missing file, an unusable dataset, a wrong model."""


def interrupt(signum, frame):
    """A signal handler: SIGTERM (``docker stop``, ``systemctl stop``) interrupts as Ctrl+C does."""
    raise KeyboardInterrupt
