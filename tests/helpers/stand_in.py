"""A stand-in face detector and the frames that tell it where the face is, to drive the video loop in a test."""

import numpy as np

from maskdetect.face import Face


class StandInDetector:
    """Finds one face per frame where the frame's first pixel says so; masked when the second pixel is 1."""

    class_names = ["with_mask", "without_mask"]

    def __init__(self):
        self.made = []

    def find(self, frame):
        if not frame[0, 0, 0]:
            return []
        x = 100 + 2 * int(frame[0, 2, 0])  # the person walks right, two pixels a frame
        face = Face(x, 100, x + 60, 170, score=0.9)
        face.crop = np.zeros((4, 4, 3), np.uint8)
        self.made.append(face)
        return [face]

    def label(self, faces_per_image):
        for faces in faces_per_image:
            for face in faces:
                face.crop = None
                face.label, face.probability = "without_mask", 0.99
        return faces_per_image


def frames(count, face_from=0):
    made = []
    for index in range(count):
        frame = np.zeros((480, 640, 3), np.uint8)
        frame[0, 0], frame[0, 2] = int(index >= face_from), index
        made.append(frame)
    return made
