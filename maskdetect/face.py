"""The one record of a face, from the detector that finds it to the JSON and the drawing that show it.

The face detector makes it (box, score, landmarks), the upright search may set its ``angle``, the
classifier fills in ``label``, ``probability`` and ``reason``, and in video the tracker fills in
``track_id`` and ``person_label``. Everything downstream reads the same object.
"""

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike

# Boxes smaller than this many pixels on a side hold too little face to classify.
MIN_FACE_SIDE = 8
# A point (x, y) in pixels, and a face's five of them.
Point = tuple[float, float]
Landmarks = tuple[Point, ...]


@dataclass
class Face:
    """A face in one image: its box in pixels (x2 and y2 exclusive, clipped to the image) and what is known of it."""

    x1: int
    y1: int
    x2: int
    y2: int
    # The face detector's score; None for a face it did not find (a whole image, an annotation).
    score: float | None = None
    # YuNet's five points, ((x, y), ...) in pixels: the right eye, the left eye, the nose tip, the right and
    # left mouth corners (the person's right and left). None from a detector that gives none (SSD).
    landmarks: Landmarks | None = None
    # The angle that levels the eyes when the upright search measured it better than the landmarks tell (degrees).
    angle: float | None = None
    # The class the classifier gives, or None when the face is not judged; then ``reason`` says why
    # (classify.judging.TOO_SMALL or UNCERTAIN). ``probability`` is the classifier's, None if it did not run.
    label: str | None = None
    probability: float | None = None
    reason: str | None = None
    # The class the classifier found most likely, kept when the face is not judged (what --collect shows a person).
    guess: str | None = None
    # In video: the tracker's ID of this person and their label voted over recent frames (None until tracked).
    track_id: int | None = None
    person_label: str | None = None
    # The aligned crop the classifier will judge; set by finding, dropped once the face is labelled.
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    @property
    def box(self) -> list[int]:
        """[x1, y1, x2, y2]."""
        return [self.x1, self.y1, self.x2, self.y2]

    @property
    def verdict(self) -> str | None:
        """The label, or the reason the face was not judged."""
        return self.reason if self.label is None else self.label

    @property
    def roll(self) -> float:
        """How far the face leans in the image plane, in degrees (clockwise as seen): rotating its crop by this
        levels its eyes. 0 without landmarks."""
        if self.angle is not None:
            return self.angle
        if self.landmarks is None:
            return 0.0
        (right_x, right_y), (left_x, left_y) = self.landmarks[:2]
        return math.degrees(math.atan2(left_y - right_y, left_x - right_x))

    def scaled(self, factor: float) -> "Face":
        """The same face in an image scaled by ``factor``."""
        landmarks = None if self.landmarks is None else tuple((x * factor, y * factor) for x, y in self.landmarks)
        x1, y1, x2, y2 = (int(round(v * factor)) for v in self.box)
        return replace(self, x1=x1, y1=y1, x2=x2, y2=y2, landmarks=landmarks)


def clipped_face(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    width: int,
    height: int,
    score: float | None = None,
    landmarks: ArrayLike | None = None,
) -> Face | None:
    """A Face from a box clipped to a ``width`` x ``height`` image; None when too little of it is left."""
    x1, y1 = max(0, int(round(x1))), max(0, int(round(y1)))
    x2, y2 = min(width, int(round(x2))), min(height, int(round(y2)))
    if x2 - x1 < MIN_FACE_SIDE or y2 - y1 < MIN_FACE_SIDE:
        return None
    if landmarks is not None:
        landmarks = tuple((float(x), float(y)) for x, y in np.reshape(landmarks, (5, 2)))
    return Face(x1, y1, x2, y2, None if score is None else float(score), landmarks)
