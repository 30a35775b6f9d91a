"""Writing outputs so that a crash or Ctrl+C never leaves a half-written one behind."""

import contextlib
import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first, second):
    """Swap two paths in one atomic step (Linux); False when the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return result == 0


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def temporary_sibling(path, suffix=""):
    """A fresh path beside ``path`` to write into before moving it in place."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")


@contextlib.contextmanager
def atomic_output(path, suffix=""):
    """Yield a temporary path; on success it replaces ``path`` (file or folder) at once.

    On any error, or Ctrl+C, the temporary output is removed and ``path`` keeps
    whatever it held before.
    """
    path = Path(path)
    temporary = temporary_sibling(path, suffix)
    _remove(temporary)
    try:
        yield temporary
        replace(temporary, path)
    finally:
        _remove(temporary)


def replace(source, target):
    """Move ``source`` onto ``target`` atomically, even when both are folders."""
    source, target = Path(source), Path(target)
    if target.is_dir() and not target.is_symlink():
        if not _exchange(source, target):
            # No atomic swap here: keep the old folder aside until the new one is in.
            aside = temporary_sibling(target, ".old")
            _remove(aside)
            os.rename(target, aside)
            os.rename(source, target)
            _remove(aside)
            return
        _remove(source)
    else:
        os.replace(source, target)
