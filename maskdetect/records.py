"""The JSON records of the detection scripts: one place for the public contract (README, "JSON output")."""

DECIMALS = 6


def _rounded(value):
    return None if value is None else round(float(value), DECIMALS)


def face_record(face):
    """A face: box in pixels, detector score, label (None if not judged), the classifier's probability (None if
    it did not run), the reason it was not judged ("too_small", "uncertain" or None) and the five landmarks
    (None without them)."""
    return {
        "box": face.box.as_list(),
        "face_confidence": _rounded(face.box.confidence),
        "label": face.label,
        "probability": _rounded(face.probability),
        "reason": face.reason,
        "landmarks": None if face.box.landmarks is None else [[round(x, 1), round(y, 1)] for x, y in face.box.landmarks],
    }


def tracked_face_record(face, person):
    """A face in a video frame: as face_record, plus its person's track ID and voted label (None until tracked)."""
    return {
        **face_record(face),
        "track_id": None if person is None else person.track_id,
        "person_label": None if person is None else person.label,
    }


def image_record(image, width, height, faces):
    """One photo and its faces."""
    return {"image": image, "width": width, "height": height, "faces": [face_record(face) for face in faces]}


def frame_record(index, seconds, faces, people=None):
    """One video frame and its faces; ``seconds`` is the video's own time, or time since start for live sources."""
    people = people or [None] * len(faces)
    return {
        "type": "frame", "frame": index, "time": round(seconds, 3),
        "faces": [tracked_face_record(face, person) for face, person in zip(faces, people)],
    }


def alert_record(index, seconds, label, unmasked_frames, track_id, snapshot=None):
    """An alert: person ``track_id`` has been ``label`` for ``unmasked_frames`` of their frames in a row."""
    return {
        "type": "alert", "frame": index, "time": round(seconds, 3), "track_id": track_id, "label": label,
        "unmasked_frames": unmasked_frames, "snapshot": None if snapshot is None else str(snapshot),
    }


def summary_record(summary):
    """The last line of a video run."""
    return {"type": "summary", **summary}
