"""One path from an image to labelled faces: find and crop (per image, any thread), then label in batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from maskdetect.classify.judging import NOT_A_FACE, TOO_SMALL, JudgingRule, face_probabilities
from maskdetect.detect.align import classifier_crop
from maskdetect.face import Face
from maskdetect.settings import DEFAULT_MIN_FACE_SIZE, DetectorSettings

# With a model that carries no judging rule (trained before 1.3), faces shorter than this are not judged:
# on street photos no model of that time told unmasked from masked faces reliably below it.
UNCALIBRATED_MIN_FACE_SIZE = 24
# Photos and video find faces on worker threads, each search on one core: several searches side by side
# use the cores better than one search split over them (docs/benchmarks.md).
FACE_FINDING_THREADS = 1
# Video also classifies each frame's faces on one core, beside face finding: one core a stage beat letting
# every stage use every core (1.5x). Folders classify batches of faces on every core, which takes up the
# time the workers leave.
VIDEO_CLASSIFIER_THREADS = 1


@contextlib.contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """While inside, each OpenCV call (decoding, face finding) uses one core: our threads share them out."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


class MaskDetector:
    """Finds faces with ``face_detector`` and labels them with ``classifier``.

    With no face detector, the whole image is taken as one face. A face is judged by the classifier's
    judging rule (maskdetect.classify.judging): by its size and the classifier's probability it gets a label, or
    none and a reason (``judging_rule`` replaces the classifier's). Faces shorter than ``min_face_size``
    pixels are never judged. With ``upright``, a detector that can (YuNet) stands each face to judge
    upright first, even one lying on its side.
    """

    def __init__(
        self,
        classifier: Any,
        face_detector: Any = None,
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
        upright: bool = True,
        judging_rule: JudgingRule | None = None,
    ) -> None:
        self.classifier = classifier
        self.face_detector = face_detector
        self.min_face_size = min_face_size
        self.upright = upright and hasattr(face_detector, "upright_angle")
        self.judging_rule = (
            judging_rule or getattr(classifier, "judging_rule", None) or JudgingRule.fixed_size(UNCALIBRATED_MIN_FACE_SIZE)
        )
        # Boxes the classifier found to hold no face, dropped since this detector was made.
        self.rejected_boxes = 0

    def judgeable(self, face: Face) -> bool:
        """Whether a face of this size can be judged at all (else it is too small)."""
        return face.height >= self.min_face_size and self.judging_rule.reason(face.height, 1.0) != TOO_SMALL

    @property
    def class_names(self) -> list[str]:
        """The labels a face can get (a classifier's NOT_A_FACE class is no label: such boxes are dropped)."""
        return [name for name in self.classifier.class_names if name != NOT_A_FACE]

    def find_faces(self, image: np.ndarray) -> list[Face]:
        """The faces in a BGR image, not labelled yet (the whole image with no face detector)."""
        if self.face_detector is None:
            height, width = image.shape[:2]
            return [Face(0, 0, width, height)]
        return self.face_detector.detect(image)

    def find(self, image: np.ndarray) -> list[Face]:
        """The faces of a BGR image, those large enough to judge stood upright and cropped, ready for ``label``."""
        faces = self.find_faces(image)
        size = self.classifier.input_size
        for face in faces:
            if self.judgeable(face):
                if self.upright:
                    face.angle = self.face_detector.upright_angle(image, face)
                face.crop = classifier_crop(image, face, size, self.classifier.lower_face)
        return faces

    def label(self, faces_per_image: list[list[Face]]) -> list[list[Face]]:
        """Fill in the label, probability and reason of the faces found in several images, with one classifier
        call, and drop from each list the boxes the classifier finds hold no face; returns them, a list per image."""
        crops = [face.crop for faces in faces_per_image for face in faces if face.crop is not None]
        probabilities, not_a_face = face_probabilities(self.classifier.probabilities(crops), self.classifier.class_names)
        rows = iter(zip(probabilities, not_a_face))
        names = self.class_names
        for faces in faces_per_image:
            kept = []
            for face in faces:
                if face.crop is None:
                    face.label, face.probability, face.reason = None, None, TOO_SMALL
                    kept.append(face)
                    continue
                face.crop = None
                row, no_face = next(rows)
                if not self.judging_rule.is_face(face.height, float(no_face)):
                    continue
                face.probability = float(row.max())
                face.reason = self.judging_rule.reason(face.height, face.probability)
                face.guess = names[int(row.argmax())]
                face.label = None if face.reason else face.guess
                kept.append(face)
            self.rejected_boxes += len(faces) - len(kept)
            faces[:] = kept
        return faces_per_image

    def detect(self, image: np.ndarray) -> list[Face]:
        """Every face in a BGR image with its label and probability."""
        return self.label([self.find(image)])[0]


def load_detector(settings: DetectorSettings | None = None) -> MaskDetector:
    """The MaskDetector ``settings`` describe (default: the photo script's)."""
    from maskdetect.classify import backends
    from maskdetect.detect.detectors import load_face_detector

    settings = settings or DetectorSettings()
    face_detector = None
    if settings.face_detector is not None:
        face_detector = load_face_detector(
            settings.face_detector,
            settings.face_detector_dir,
            settings.confidence,
            settings.detect_size,
            settings.face_detector_threads,
            settings.upscale,
        )
    classifier = backends.load_classifier(settings.model, settings.backend, settings.classifier_threads)
    return MaskDetector(classifier, face_detector, settings.min_face_size, settings.upright)
