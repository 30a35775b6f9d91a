"""What every classifier backend takes: face crops (the face view of IMAGE_SIZE, the lower face stacked under it
for a two-view classifier), as one float32 RGB batch."""

import cv2
import numpy as np

# The side of the square face crops the mask classifier takes. 128, not MobileNetV2's usual 224:
# as accurate on real faces (most are smaller than that anyway) at under half the time per face
# (docs/training.md).
IMAGE_SIZE = 128


def rgb_batch(faces_bgr):
    """BGR face crops as the float32 RGB batch every backend takes."""
    return np.stack([cv2.cvtColor(face, cv2.COLOR_BGR2RGB) for face in faces_bgr]).astype(np.float32)


def input_of(shape):
    """(face view side, whether the lower face is stacked under it) of a classifier taking NHWC ``shape``."""
    height, width = int(shape[1]), int(shape[2])
    return width, height != width
