"""One path from an image to labelled faces: find and crop (per image, any thread), then label in batches."""

import contextlib
from dataclasses import dataclass

import cv2

from maskdetect.faces import FaceBox, aligned_face
from maskdetect.judging import TOO_SMALL, JudgingRule

# With a model that carries no judging rule (trained before 1.3), faces shorter than this are not judged:
# on street photos no model of that time told unmasked from masked faces reliably below it.
UNCALIBRATED_MIN_FACE_SIZE = 24
# Faces shorter than --min-face-size are never judged, whatever the model's rule says.
DEFAULT_MIN_FACE_SIZE = 0
# Photos and video find faces on worker threads, each search on one core: several searches side by side
# use the cores better than one search split over them (README "Speed").
FACE_FINDING_THREADS = 1
# Video also classifies each frame's faces on one core, beside face finding: one core a stage beat letting
# every stage use every core (1.5x). Folders classify batches of faces on every core, which takes up the
# time the workers leave.
VIDEO_CLASSIFIER_THREADS = 1


@contextlib.contextmanager
def single_threaded_opencv():
    """While inside, each OpenCV call (decoding, face finding) uses one core: our threads share them out."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


@dataclass(frozen=True)
class LabelledFace:
    """A face found in an image and what the classifier says of it. A face not judged has label None and a
    ``reason`` (judging.TOO_SMALL or judging.UNCERTAIN); its probability is the classifier's, if it ran."""

    box: FaceBox
    label: str | None
    probability: float | None
    reason: str | None = None

    @property
    def verdict(self):
        """The label, or the reason a face was not judged."""
        return self.reason if self.label is None else self.label


@dataclass(frozen=True)
class FoundFaces:
    """The faces found in one image: every box, and the crops of those to judge, in box order."""

    boxes: list
    crops: list


class MaskDetector:
    """Finds faces with ``face_detector`` and labels them with ``classifier``.

    With no face detector, the whole image is taken as one face. A face is judged by the classifier's
    judging rule (maskdetect.judging): by its size and the classifier's probability it gets a label, or
    none and a reason (``judging_rule`` replaces the classifier's). Faces shorter than ``min_face_size``
    pixels are never judged. With ``upright``, a detector that can (YuNet) stands each face to judge
    upright first, even one lying on its side.
    """

    def __init__(self, classifier, face_detector=None, min_face_size=DEFAULT_MIN_FACE_SIZE, upright=True,
                 judging_rule=None):
        self.classifier = classifier
        self.face_detector = face_detector
        self.min_face_size = min_face_size
        self.upright = upright and hasattr(face_detector, "upright")
        self.judging_rule = (
            judging_rule or getattr(classifier, "judging_rule", None) or JudgingRule.fixed_size(UNCALIBRATED_MIN_FACE_SIZE)
        )

    def judgeable(self, box):
        """Whether a face of this box can be judged at all (else it is too small)."""
        return box.height >= self.min_face_size and self.judging_rule.reason(box.height, 1.0) != TOO_SMALL

    @property
    def class_names(self):
        return self.classifier.class_names

    def find_faces(self, image):
        """The boxes of the faces in a BGR image (the whole image with no face detector)."""
        if self.face_detector is None:
            height, width = image.shape[:2]
            return [FaceBox(0, 0, width, height)]
        return self.face_detector.detect(image)

    def find(self, image):
        """Faces found in a BGR image, with crops of those large enough to judge, ready for ``label``."""
        boxes = self.find_faces(image)
        if self.upright:
            boxes = [self.face_detector.upright(image, box) if self.judgeable(box) else box for box in boxes]
        size = self.classifier.input_size
        return FoundFaces(boxes, [aligned_face(image, box, size) for box in boxes if self.judgeable(box)])

    def label(self, found_faces):
        """Label the faces found in several images with one classifier call; a list of faces per image."""
        probabilities = iter(self.classifier.probabilities([crop for found in found_faces for crop in found.crops]))
        names = self.classifier.class_names
        labelled = []
        for found in found_faces:
            faces = []
            for box in found.boxes:
                if not self.judgeable(box):
                    faces.append(LabelledFace(box, None, None, TOO_SMALL))
                    continue
                row = next(probabilities)
                probability = float(row.max())
                reason = self.judging_rule.reason(box.height, probability)
                faces.append(LabelledFace(box, None if reason else names[int(row.argmax())], probability, reason))
            labelled.append(faces)
        return labelled

    def detect(self, image):
        """Every face in a BGR image with its label and probability."""
        return self.label([self.find(image)])[0]
