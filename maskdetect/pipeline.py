"""One path from an image to labelled faces: find and crop (per image, any thread), then label in batches."""

import contextlib
from dataclasses import dataclass

import cv2

from maskdetect.faces import FaceBox, crop_face

# Faces whose detected box is shorter than this many pixels are reported but not labelled:
# on street photos no trained model told unmasked from masked faces reliably below it.
DEFAULT_MIN_FACE_SIZE = 24
TOO_SMALL = "too small"
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
    """A face found in an image and what the classifier says of it; label and probability are None
    for a face too small to judge."""

    box: FaceBox
    label: str | None
    probability: float | None

    @property
    def verdict(self):
        """The label, or TOO_SMALL for a face that was not judged."""
        return TOO_SMALL if self.label is None else self.label


@dataclass(frozen=True)
class FoundFaces:
    """The faces found in one image: every box, and the crops of those to judge, in box order."""

    boxes: list
    crops: list


class MaskDetector:
    """Finds faces with ``face_detector`` and labels them with ``classifier``.

    With no face detector, the whole image is taken as one face. Faces shorter than
    ``min_face_size`` pixels are found but not labelled.
    """

    def __init__(self, classifier, face_detector=None, min_face_size=DEFAULT_MIN_FACE_SIZE):
        self.classifier = classifier
        self.face_detector = face_detector
        self.min_face_size = min_face_size

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
        size = self.classifier.input_size
        return FoundFaces(boxes, [crop_face(image, box, size) for box in boxes if box.height >= self.min_face_size])

    def label(self, found_faces):
        """Label the faces found in several images with one classifier call; a list of faces per image."""
        probabilities = iter(self.classifier.probabilities([crop for found in found_faces for crop in found.crops]))
        names = self.classifier.class_names
        labelled = []
        for found in found_faces:
            faces = []
            for box in found.boxes:
                if box.height < self.min_face_size:
                    faces.append(LabelledFace(box, None, None))
                else:
                    row = next(probabilities)
                    faces.append(LabelledFace(box, names[int(row.argmax())], float(row.max())))
            labelled.append(faces)
        return labelled

    def detect(self, image):
        """Every face in a BGR image with its label and probability."""
        return self.label([self.find(image)])[0]
