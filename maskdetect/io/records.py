"""The JSON the toolkit writes: one place for the public contract (docs/json.md), built from Face records."""

import json
import math

from maskdetect.errors import InputError
from maskdetect.io.atomic import atomic_output

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
    return {"type": "frame", "frame": index, "time": round(seconds, 3), "faces": [face_record(face, tracked=True) for face in faces]}


def alert_record(index, seconds, label, unmasked_frames, track_id, snapshot=None):
    """An alert: person ``track_id`` has been ``label`` for ``unmasked_frames`` of their frames in a row."""
    return {
        "type": "alert", "frame": index, "time": round(seconds, 3), "track_id": track_id, "label": label,
        "unmasked_frames": unmasked_frames, "snapshot": None if snapshot is None else str(snapshot),
    }


def summary_record(summary):
    """The last line of a video run."""
    return {"type": "summary", **summary}


def write_json(data, path):
    """Write ``data`` as indented JSON, atomically; a failure is one InputError line."""
    try:
        with atomic_output(path) as temporary:
            temporary.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
