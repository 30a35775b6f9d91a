"""The baseline face finder for the benchmarks: YuNet run by OpenCV's FaceDetectorYN, as the toolkit
did before it ran YuNet's graph with ONNX Runtime. Same model file, same boxes."""

import threading

import cv2
import numpy as np

from maskdetect.detect.detectors import (
    DEFAULT_CONFIDENCE,
    YUNET_MAX_SIDE,
    YUNET_MODEL,
    boxes_in_image,
    scaled_for_search,
)
from maskdetect.shipped_files import FACE_DETECTOR_DIR


class OpenCvYuNet:
    """``detect(image)`` like maskdetect's YuNetFaceDetector; one OpenCV network per thread."""

    name = "yunet-opencv"

    def __init__(self, confidence=DEFAULT_CONFIDENCE, max_side=YUNET_MAX_SIDE):
        self._path = str(FACE_DETECTOR_DIR / YUNET_MODEL)
        self._local = threading.local()
        self.confidence = confidence
        self.max_side = max_side

    def detect(self, image):
        searched, factor = scaled_for_search(image, self.max_side)
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = cv2.FaceDetectorYN.create(self._path, "", (320, 320), self.confidence, 0.3, 5000)
        net.setInputSize((searched.shape[1], searched.shape[0]))
        rows = net.detect(searched)[1]
        if rows is None:
            return []
        rows = rows[np.argsort(-rows[:, -1])]
        return boxes_in_image(rows[:, :4] / factor, rows[:, -1], image)
