"""A video of people crossing a doorway, made from real face photos of the dataset, with the truth of who is where."""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskdetect.face import Face

DATASET = Path(__file__).resolve().parent.parent / "dataset"

FRAME_SIZE = (640, 480)
FPS = 15
FACE_SIDE = 150


@dataclass(frozen=True)
class Walker:
    """One person: their photo, true class, the frame they enter, the side they come from, their height and speed."""

    photo: str
    label: str
    enters: int
    from_left: bool
    top: int
    speed: int = 9


# Two masked and three unmasked people; the fourth walks against the third at the same height
# and passes in front of them.
WALKERS = [
    Walker("with_mask/fmd_006de365c3.jpg", "with_mask", 0, True, 60),
    Walker("without_mask/utk_0009c8e517.jpg", "without_mask", 20, False, 290),
    Walker("with_mask/amvd_013e68e194.jpg", "with_mask", 70, True, 170),
    Walker("without_mask/fmd_001140e0ec.jpg", "without_mask", 74, False, 170),
    Walker("without_mask/utk_00a7ca15c1.jpg", "without_mask", 140, True, 60),
]


def positions(walker, index):
    """The walker's face box in frame ``index``, or None when out of the frame."""
    steps = index - walker.enters
    if steps < 0:
        return None
    width = FRAME_SIZE[0]
    x = -FACE_SIDE + steps * walker.speed if walker.from_left else width - steps * walker.speed
    if x + FACE_SIDE <= 0 or x >= width:
        return None
    return x


def frame_count():
    return max(w.enters + (FRAME_SIZE[0] + FACE_SIDE) // w.speed + 1 for w in WALKERS)


def make_crossing_video(path, repeats=1):
    """Write the video (MJPG), the crossing ``repeats`` times over; returns the truth: per frame,
    (walker index, photo's box) in view, front-most last."""
    faces = [
        cv2.resize(cv2.imread(str(DATASET / w.photo)), (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA) for w in WALKERS
    ]
    gradient = np.linspace(70, 150, FRAME_SIZE[0], dtype=np.uint8)
    background = cv2.merge([np.tile(gradient, (FRAME_SIZE[1], 1))] * 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, FRAME_SIZE)
    truth = []
    for step in range(frame_count() * repeats):
        index = step % frame_count()
        frame = background.copy()
        in_view = []
        # Later walkers are drawn last: they pass in front.
        for number, (walker, face) in enumerate(zip(WALKERS, faces)):
            x = positions(walker, index)
            if x is None:
                continue
            left, right = max(0, x), min(FRAME_SIZE[0], x + FACE_SIDE)
            frame[walker.top : walker.top + FACE_SIDE, left:right] = face[:, left - x : right - x]
            in_view.append((number, Face(left, walker.top, right, walker.top + FACE_SIDE)))
        writer.write(frame)
        truth.append(in_view)
    writer.release()
    return truth
