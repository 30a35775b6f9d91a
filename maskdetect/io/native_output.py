"""Silencing what native libraries print to the process's stderr."""

import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """Drop what native code writes to file descriptor 2 while inside (Python's own messages are not affected)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
