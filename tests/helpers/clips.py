"""A real-looking entrance clip of three people, for the tests of people counting and collecting."""

import cv2
import numpy as np
from conftest import ROOT

FPS = 15
FRAMES = 60
SIDE = 150
# (photo, left, top, the frames it is in view): a masked person all along; an unmasked one hidden for five
# frames (a third of a second: the same track); an unmasked one who passes in three frames.
PEOPLE = [
    ("with_mask/fmd_006de365c3.jpg", 40, 40, set(range(FRAMES))),
    ("without_mask/utk_0009c8e517.jpg", 440, 40, set(range(FRAMES)) - set(range(25, 30))),
    ("without_mask/fmd_001140e0ec.jpg", 240, 300, {40, 41, 42}),
]


def three_people(path):
    faces = [
        cv2.resize(cv2.imread(str(ROOT / "dataset" / photo)), (SIDE, SIDE), interpolation=cv2.INTER_AREA) for photo, *_ in PEOPLE
    ]
    background = cv2.merge([np.tile(np.linspace(70, 150, 640, dtype=np.uint8), (480, 1))] * 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    for index in range(FRAMES):
        frame = background.copy()
        for face, (_, left, top, shown) in zip(faces, PEOPLE):
            if index in shown:
                frame[top : top + SIDE, left : left + SIDE] = face
        writer.write(frame)
    writer.release()
    return path
