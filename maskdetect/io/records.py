"""The JSON the toolkit writes: one place for the public contract (docs/json.md), built from Face records."""

import contextlib
import json
import math
import stat
import sys
from pathlib import Path
from typing import Any

from maskdetect.errors import InputError
from maskdetect.io.atomic import (
    atomic_output,
    commit,
    remove_temporary,
    temporary_sibling,
)
from maskdetect.io.outputs import is_stdout

DECIMALS = 6


def _rounded(value):
    """A number for JSON: None for none, and for NaN and infinities, which JSON cannot hold."""
    return None if value is None or not math.isfinite(value) else round(float(value), DECIMALS)


def face_record(face, tracked=False):
    """A face: box in pixels, detector score, label (None if not judged), the classifier's probability (None if
    it did not run), the reason it was not judged ("too_small", "uncertain" or None) and the five landmarks
    (None without them); with ``tracked`` (video), its person's track ID and voted label (None until tracked)."""
    record = {
        "box": face.box,
        "face_confidence": _rounded(face.score),
        "label": face.label,
        "probability": _rounded(face.probability),
        "reason": face.reason,
        "landmarks": None if face.landmarks is None else [[round(x, 1), round(y, 1)] for x, y in face.landmarks],
    }
    if tracked:
        record.update(track_id=face.track_id, person_label=face.person_label)
    return record


def image_record(image, width, height, faces):
    """One photo and its faces."""
    return {"image": image, "width": width, "height": height, "faces": [face_record(face) for face in faces]}


def frame_record(index, seconds, faces):
    """One video frame and its faces; ``seconds`` is the video's own time, or time since start for live sources."""
    return {
        "type": "frame",
        "frame": index,
        "time": round(seconds, 3),
        "faces": [face_record(face, tracked=True) for face in faces],
    }


def alert_record(index, seconds, label, unmasked_frames, track_id, snapshot=None):
    """An alert: person ``track_id`` has been ``label`` for ``unmasked_frames`` of their frames in a row."""
    return {
        "type": "alert",
        "frame": index,
        "time": round(seconds, 3),
        "track_id": track_id,
        "label": label,
        "unmasked_frames": unmasked_frames,
        "snapshot": None if snapshot is None else str(snapshot),
    }


def summary_record(summary):
    """The last line of a video run."""
    return {"type": "summary", **summary}


class JsonLinesWriter:
    """JSON lines to stdout ('-'), or to a file written beside ``path`` and moved in place when closed; a write
    that fails (a full disk) is one InputError, and ``discard`` leaves the previous file as it was."""

    def __init__(self, path):
        self.path = path
        if is_stdout(path):
            self._file, self._temporary = sys.stdout, None
        else:
            self._temporary = temporary_sibling(path, ".jsonl")
            # Open for the whole run, closed by close() or discard().
            self._file = open(self._temporary, "w", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, record):
        try:
            self._file.write(json.dumps(record, allow_nan=False) + "\n")
            if self._temporary is None:
                self._file.flush()  # a reader of stdout sees each line as it happens
        except OSError as error:
            raise InputError(f"cannot write {self.path}: {error.strerror or error}; the previous one is kept") from None

    def close(self):
        if self._temporary is None:
            self._file.flush()
            return
        try:
            self._file.close()
        except OSError as error:
            self.discard()
            raise InputError(f"cannot write {self.path}: {error.strerror or error}; the previous one is kept") from None
        commit(self._temporary, self.path)

    def discard(self):
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            remove_temporary(self._temporary)


def write_json(data, path):
    """Write ``data`` as indented JSON, atomically; a failure is one InputError line."""
    try:
        with atomic_output(path) as temporary:
            temporary.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


def read_json_file(path: Path, max_bytes: int) -> Any:
    """The JSON in ``path``, read only when it is a regular file (a FIFO or a device would never end) of at most
    ``max_bytes``. Raises OSError when it cannot be read, ValueError when it is no such file or holds no JSON
    (JSON nested too deep for the parser included)."""
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):
        raise ValueError("it is a folder" if stat.S_ISDIR(status.st_mode) else "it is no regular file")
    if status.st_size > max_bytes:
        raise ValueError(f"it holds {status.st_size} bytes, more than {max_bytes}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError("it nests too deep") from None
