"""The JSON records of the detection scripts: one place for the public contract (README, "JSON output")."""

DECIMALS = 6


def _rounded(value):
    return None if value is None else round(float(value), DECIMALS)


def face_record(face):
    """A labelled face: box in pixels, detector score, label and probability (both None if too small to judge)."""
    return {
        "box": face.box.as_list(),
        "face_confidence": _rounded(face.box.confidence),
        "label": face.label,
        "probability": _rounded(face.probability),
    }


def image_record(image, width, height, faces):
    """One photo and its faces."""
    return {"image": image, "width": width, "height": height, "faces": [face_record(face) for face in faces]}


def frame_record(index, seconds, faces):
    """One video frame and its faces; ``seconds`` is the video's own time, or time since start for live sources."""
    return {"type": "frame", "frame": index, "time": round(seconds, 3), "faces": [face_record(face) for face in faces]}


def alert_record(index, seconds, label, unmasked_frames):
    """An alert: a face the model calls ``label`` stayed in view for ``unmasked_frames`` frames."""
    return {"type": "alert", "frame": index, "time": round(seconds, 3), "label": label, "unmasked_frames": unmasked_frames}


def summary_record(summary):
    """The last line of a video run."""
    return {"type": "summary", **summary}
