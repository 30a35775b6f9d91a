"""The baseline face finder for the benchmarks: YuNet run by OpenCV's FaceDetectorYN, as the toolkit
did before it ran YuNet's graph with ONNX Runtime. Same model file, same boxes."""

import threading

import cv2
import numpy as np

from maskdetect.faces import DEFAULT_CONFIDENCE, DEFAULT_FACE_DETECTOR_DIR, YUNET_MAX_SIDE, YUNET_MODEL, clip_box


class OpenCvYuNet:
    """``detect(image)`` like maskdetect's YuNetFaceDetector; one OpenCV network per thread."""

    name = "yunet-opencv"

    def __init__(self, confidence=DEFAULT_CONFIDENCE, max_side=YUNET_MAX_SIDE):
        self._path = str(DEFAULT_FACE_DETECTOR_DIR / YUNET_MODEL)
        self._local = threading.local()
        self.confidence = confidence
        self.max_side = max_side

    def detect(self, image):
        height, width = image.shape[:2]
        factor = min(1.0, self.max_side / max(width, height))
        if factor < 1.0:
            image = cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = cv2.FaceDetectorYN.create(self._path, "", (320, 320), self.confidence, 0.3, 5000)
        net.setInputSize((image.shape[1], image.shape[0]))
        _, rows = net.detect(image)
        if rows is None:
            return []
        boxes = (clip_box(*(row[:2] / factor), *((row[:2] + row[2:4]) / factor), width, height, row[-1])
                 for row in rows[np.argsort(-rows[:, -1])])
        return [box for box in boxes if box is not None]
