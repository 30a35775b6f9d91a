"""The one exception type that the command-line scripts turn into a one-line message."""


class InputError(Exception):
    """Bad input from the user: a missing file, an unusable dataset, a wrong model."""
