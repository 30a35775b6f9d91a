"""One path from an image to labelled faces: detect, crop, classify in one batch."""

from dataclasses import dataclass

from maskdetect.faces import FaceBox, crop_face

# Faces whose detected box is shorter than this many pixels are reported but not labelled:
# on street photos no trained model told unmasked from masked faces reliably below it.
DEFAULT_MIN_FACE_SIZE = 24
TOO_SMALL = "too small"


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
        if self.face_detector is None:
            height, width = image.shape[:2]
            return [FaceBox(0, 0, width, height)]
        return self.face_detector.detect(image)

    def label_faces(self, image, boxes):
        """Classify every face of one image that is large enough to judge, in a single batched call."""
        judged = [box for box in boxes if box.height >= self.min_face_size]
        probabilities = iter(self.classifier.probabilities([crop_face(image, box, self.classifier.input_size) for box in judged]))
        names = self.classifier.class_names
        faces = []
        for box in boxes:
            if box.height < self.min_face_size:
                faces.append(LabelledFace(box, None, None))
            else:
                row = next(probabilities)
                faces.append(LabelledFace(box, names[int(row.argmax())], float(row.max())))
        return faces

    def detect(self, image):
        """Every face in a BGR image with its label and probability."""
        return self.label_faces(image, self.find_faces(image))
