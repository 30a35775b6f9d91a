"""Writing outputs so that a crash or Ctrl+C never leaves a half-written one behind.

Every output is written beside its final path and moved in place when complete.
A folder is only ever swapped for a folder, and only for outputs that are
folders themselves (saved models), which ``maskdetect.outputs`` checks first:
nothing here ever deletes a folder the run did not write.
"""

import contextlib
import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def temporary_sibling(path, suffix=""):
    """A fresh path beside ``path`` to write into before moving it in place."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{suffix}")


def remove_temporary(path):
    """Remove a temporary output of ours, file or folder, if it is there."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_outputs(*targets):
    """Yield one temporary path per (path, suffix) target; when the block succeeds, all replace their targets.

    On any error, or Ctrl+C, every temporary output is removed and every target
    keeps what it held before: the outputs of one run are all written, or none is.
    """
    targets = [(Path(path), suffix) for path, suffix in targets]
    temporaries = [temporary_sibling(path, suffix) for path, suffix in targets]
    for temporary in temporaries:
        remove_temporary(temporary)
    try:
        yield temporaries
        for temporary, (path, _) in zip(temporaries, targets):
            commit(temporary, path)
    finally:
        for temporary in temporaries:
            remove_temporary(temporary)


@contextlib.contextmanager
def atomic_output(path, suffix=""):
    """Yield a temporary path; when the block succeeds, it replaces ``path`` at once."""
    with atomic_outputs((path, suffix)) as (temporary,):
        yield temporary


def commit(temporary, target):
    """Move a finished output in place: a file onto a file, a folder onto a folder (swapped atomically)."""
    temporary, target = Path(temporary), Path(target)
    if temporary.is_dir() and target.is_dir() and not target.is_symlink():
        if not _exchange(temporary, target):
            # No atomic swap here: keep the old folder aside until the new one is in.
            aside = temporary_sibling(target, ".old")
            remove_temporary(aside)
            os.rename(target, aside)
            os.rename(temporary, target)
            remove_temporary(aside)
            return
        remove_temporary(temporary)
    elif target.is_dir():
        raise IsADirectoryError(f"refusing to replace the folder {target} with a file")
    else:
        os.replace(temporary, target)


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
