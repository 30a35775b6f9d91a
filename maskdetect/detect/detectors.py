"""Face detectors: YuNet run by ONNX Runtime, and OpenCV's DNN SSD. Each gives a list of Face records."""

import math
import threading
from pathlib import Path

import cv2
import numpy as np

from maskdetect.detect.align import crop_face
from maskdetect.errors import InputError
from maskdetect.face import clipped_face
from maskdetect.onnx_session import onnx_session
from maskdetect.shipped_files import FACE_DETECTOR_DIR

SSD_GRAPH = "opencv_face_detector_uint8.pb"
SSD_CONFIG = "opencv_face_detector.pbtxt"
YUNET_MODEL = "face_detection_yunet_2026may.onnx"
DETECTORS = ("yunet", "ssd")
DEFAULT_DETECTOR = "yunet"
DEFAULT_CONFIDENCE = 0.4
# YuNet runs at the image's own size; bigger photos are searched at this long side
# (past it YuNet only gets slower and sees faces in textures).
YUNET_MAX_SIDE = 1280
MIN_DETECTION_SIDE = 64
# Video frames are searched at this long side: on 640 px frames it keeps nearly every face of 40 px and
# more at 0.8x the time of 640 px; 320 loses half the masked faces of 24-40 px (benchmarks/bench_detect_size.py).
VIDEO_DETECT_SIZE = 480
# Photos are searched enlarged: YuNet finds more masked faces there (benchmarks/bench_masked_recall.py).
PHOTO_UPSCALE = 1.5
MAX_UPSCALE = 4.0


class _PerThreadNet:
    """A detector's network, loaded once per thread: OpenCV's networks keep state between calls."""

    def __init__(self, load):
        self._load = load
        self._local = threading.local()
        self._local.net = load()  # fails here, in the caller's thread, on a bad model file

    def get(self):
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = self._load()
        return net


class SsdFaceDetector:
    """OpenCV's ResNet-10 SSD face detector (300x300 input), as a TensorFlow graph. Thread-safe."""

    name = "ssd"

    def __init__(self, model_dir=FACE_DETECTOR_DIR, confidence=DEFAULT_CONFIDENCE):
        graph, config = Path(model_dir) / SSD_GRAPH, Path(model_dir) / SSD_CONFIG
        for path in (graph, config):
            if not path.is_file():
                raise InputError(f"SSD face detector file not found: {path}")
        try:
            self._net = _PerThreadNet(lambda: cv2.dnn.readNetFromTensorflow(str(graph), str(config)))
        except cv2.error:
            raise InputError(f"cannot load the SSD face detector from {graph} and {config}") from None
        self.confidence = confidence

    def detect(self, image):
        """Faces in a BGR image, most confident first."""
        height, width = image.shape[:2]
        blob = cv2.dnn.blobFromImage(image, 1.0, (300, 300), (104.0, 177.0, 123.0))
        net = self._net.get()
        net.setInput(blob)
        rows = net.forward().reshape(-1, 7)
        rows = rows[rows[:, 2] >= self.confidence]
        # The graph also emits rows with coordinates far outside the frame; they are not faces.
        inside = np.all((rows[:, 3:7] > -0.5) & (rows[:, 3:7] < 1.5), axis=1)
        rows = rows[inside & (rows[:, 5] > rows[:, 3]) & (rows[:, 6] > rows[:, 4])]
        scale = np.array([width, height, width, height], dtype=np.float32)
        faces = []
        for row in rows[np.argsort(-rows[:, 2])]:
            x1, y1, x2, y2 = row[3:7] * scale
            face = clipped_face(x1, y1, x2, y2, width, height, row[2])
            if face is not None:
                faces.append(face)
        return faces


class YuNetFaceDetector:
    """OpenCV Zoo's YuNet face detector on the image shrunk to at most ``max_side`` pixels. Thread-safe.

    Its graph runs in ONNX Runtime, which on 640 px photos takes 0.57 times the time of OpenCV 5's
    DNN engine on one core (docs/benchmarks.md); its outputs are decoded as OpenCV's FaceDetectorYN does,
    so the faces are the same.
    """

    name = "yunet"
    # YuNet's three heads: one anchor per cell of a grid with these strides.
    STRIDES = (8, 16, 32)
    NMS_IOU = 0.3
    # Upright search: the face is searched again in a patch of this side, twice its box, levelled by its
    # landmarks; a face found there under UPRIGHT_SCORE is tried turned by a quarter and a half turn, and
    # turned only when it scores UPRIGHT_MARGIN more so: on 288 upright validation faces no turn is then
    # taken, where a bare "scores more" turned 2% of them (blurred and masked faces score low either way).
    UPRIGHT_PATCH = 160
    UPRIGHT_SCORE = 0.8
    UPRIGHT_MARGIN = 0.2

    def __init__(
        self, model_dir=FACE_DETECTOR_DIR, confidence=DEFAULT_CONFIDENCE, max_side=YUNET_MAX_SIDE, threads=None, upscale=1.0
    ):
        path = Path(model_dir) / YUNET_MODEL
        if not path.is_file():
            raise InputError(f"YuNet face detector file not found: {path}")
        try:
            self._session = onnx_session(path, threads)
        except InputError:
            raise InputError(f"cannot load the YuNet face detector from {path}") from None
        self._input = self._session.get_inputs()[0].name
        self._outputs = [f"{kind}_{stride}" for stride in self.STRIDES for kind in ("cls", "obj", "bbox", "kps")]
        if not set(self._outputs) <= {output.name for output in self._session.get_outputs()}:
            raise InputError(f"not a YuNet face detector (2023 or later): {path}")
        self.confidence = confidence
        self.max_side = max_side
        self.upscale = upscale

    def detect(self, image):
        """Faces in a BGR image, most confident first; searched enlarged ``upscale`` times, at most ``max_side``."""
        searched, factor = scaled_for_search(image, self.max_side, self.upscale)
        boxes, scores, landmarks = self._search(searched)
        return boxes_in_image(boxes / factor, scores, image, landmarks / factor)

    def upright_angle(self, image, face):
        """The angle that stands ``face`` upright: YuNet's landmarks follow a face turned up to
        about 30 degrees, and place the eyes of a face lying on its side or upside down as if it were upright.
        Costs one search of a small patch, four for a face that does not look upright."""
        score, angle = self._patch_angle(image, face, face.roll)
        if score < self.UPRIGHT_SCORE:
            best_score, best_angle = max(self._patch_angle(image, face, face.roll + turn) for turn in (90, -90, 180))
            if best_score >= score + self.UPRIGHT_MARGIN:
                angle = best_angle
        return ((angle + 180) % 360) - 180

    def _patch_angle(self, image, face, angle):
        """(score, angle levelling the eyes) of the face nearest the centre of the patch around ``face`` turned
        by ``angle``; (0, ``angle``) when none is found there."""
        side = self.UPRIGHT_PATCH
        patch = crop_face(image, face, side, scale=2.0, angle=angle)
        boxes, scores, landmarks = self._search(patch)
        if not len(scores):
            return 0.0, angle
        nearest = int(np.argmin(np.linalg.norm(boxes[:, :2] + boxes[:, 2:] / 2 - side / 2, axis=1)))
        (right_x, right_y), (left_x, left_y) = landmarks[nearest][:2]
        return float(scores[nearest]), angle + math.degrees(math.atan2(left_y - right_y, left_x - right_x))

    def _search(self, image):
        """Boxes (x, y, width, height), scores and landmarks (5 x, y pairs a row) of the faces in ``image``,
        most confident first."""
        # The graph takes sides that are multiples of its largest stride: pad right and bottom with black.
        padded_height, padded_width = (-(-side // 32) * 32 for side in image.shape[:2])
        blob = np.zeros((1, 3, padded_height, padded_width), np.float32)
        blob[0, :, : image.shape[0], : image.shape[1]] = image.transpose(2, 0, 1)
        heads = iter(self._session.run(self._outputs, {self._input: blob}))
        boxes, scores, landmarks = [], [], []
        for stride in self.STRIDES:
            classes, objects, deltas, points = (next(heads)[0] for _ in range(4))
            score = np.sqrt(np.clip(classes[:, 0], 0, 1) * np.clip(objects[:, 0], 0, 1))
            keep = np.flatnonzero(score >= self.confidence)
            rows, columns = np.divmod(keep, padded_width // stride)
            cells = np.stack([columns, rows], 1)
            centres = (cells + deltas[keep, :2]) * stride
            sizes = np.exp(deltas[keep, 2:4]) * stride
            boxes.append(np.concatenate([centres - sizes / 2, sizes], 1))
            scores.append(score[keep])
            landmarks.append(((np.tile(cells, 5) + points[keep]) * stride).reshape(-1, 5, 2))
        boxes, scores, landmarks = np.concatenate(boxes), np.concatenate(scores), np.concatenate(landmarks)
        if not len(scores):
            return boxes, scores, landmarks
        # Overlaps are suppressed on whole-pixel boxes, as OpenCV's FaceDetectorYN does: same faces as it finds.
        chosen = np.ravel(cv2.dnn.NMSBoxes(boxes.astype(np.int32).tolist(), scores.tolist(), self.confidence, self.NMS_IOU))
        chosen = chosen[np.argsort(-scores[chosen], kind="stable")]
        return boxes[chosen], scores[chosen], landmarks[chosen]


def scaled_for_search(image, max_side, upscale=1.0):
    """The image enlarged ``upscale`` times but to at most ``max_side`` pixels on its long side (shrunk to that
    if it is larger), and the factor applied."""
    height, width = image.shape[:2]
    factor = min(upscale, max_side / max(width, height))
    if factor > 1.0:
        image = cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_LINEAR)
    elif factor < 1.0:
        image = cv2.resize(image, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA)
    return image, factor


def boxes_in_image(boxes, scores, image, landmarks=None):
    """Faces from (x, y, width, height) rows in ``image``'s pixels, clipped to it; slivers dropped.
    ``landmarks``: five (x, y) points a row, or None."""
    height, width = image.shape[:2]
    points = [None] * len(scores) if landmarks is None else landmarks
    faces = (
        clipped_face(x, y, x + w, y + h, width, height, score, face_points)
        for (x, y, w, h), score, face_points in zip(boxes, scores, points)
    )
    return [face for face in faces if face is not None]


def load_face_detector(
    name=DEFAULT_DETECTOR,
    model_dir=FACE_DETECTOR_DIR,
    confidence=DEFAULT_CONFIDENCE,
    max_side=YUNET_MAX_SIDE,
    threads=None,
    upscale=1.0,
):
    """A face detector by name: 'yunet' (searching images enlarged ``upscale`` times to at most ``max_side``
    pixels, on ``threads`` threads, default one per core) or 'ssd' (OpenCV's threads)."""
    if not 0.0 < confidence <= 1.0:
        raise InputError(f"face confidence must be in (0, 1], got {confidence}")
    if not 1.0 <= upscale <= MAX_UPSCALE:
        raise InputError(f"the upscale must be 1 to {MAX_UPSCALE:g}, got {upscale:g}")
    if max_side < MIN_DETECTION_SIDE:
        raise InputError(f"the detection size must be at least {MIN_DETECTION_SIDE} pixels, got {max_side}")
    if name == "yunet":
        return YuNetFaceDetector(model_dir, confidence, max_side, threads, upscale)
    if name == "ssd":
        return SsdFaceDetector(model_dir, confidence)
    raise InputError(f"unknown face detector {name!r}; choose from {', '.join(DETECTORS)}")
