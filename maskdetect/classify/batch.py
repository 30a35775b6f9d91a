"""What every classifier backend takes: square face crops of IMAGE_SIZE, as one float32 RGB batch."""

import cv2
import numpy as np

# The side of the square face crops the mask classifier takes. 128, not MobileNetV2's usual 224:
# as accurate on real faces (most are smaller than that anyway) at under half the time per face
# (docs/training.md).
IMAGE_SIZE = 128


def rgb_batch(faces_bgr):
    """BGR face crops as the float32 RGB batch every backend takes."""
    return np.stack([cv2.cvtColor(face, cv2.COLOR_BGR2RGB) for face in faces_bgr]).astype(np.float32)
