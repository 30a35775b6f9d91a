"""One path from an image to labelled faces: detect, crop, classify in one batch."""

from dataclasses import dataclass

from maskdetect.faces import FaceBox, crop_face
from maskdetect.model import IMAGE_SIZE


@dataclass(frozen=True)
class LabelledFace:
    """A face found in an image and what the classifier says of it."""

    box: FaceBox
    label: str
    probability: float

    def as_json(self):
        return {
            "box": self.box.as_list(),
            "face_confidence": self.box.confidence,
            "label": self.label,
            "probability": round(self.probability, 6),
        }


class MaskDetector:
    """Finds faces with ``face_detector`` and labels them with ``classifier``.

    With no face detector, the whole image is taken as one face.
    """

    def __init__(self, classifier, face_detector=None):
        self.classifier = classifier
        self.face_detector = face_detector

    @property
    def class_names(self):
        return self.classifier.class_names

    def find_faces(self, image):
        if self.face_detector is None:
            height, width = image.shape[:2]
            return [FaceBox(0, 0, width, height)]
        return self.face_detector.detect(image)

    def label_faces(self, image, boxes):
        """Classify every face of one image in a single batched call."""
        crops = [crop_face(image, box, IMAGE_SIZE) for box in boxes]
        probabilities = self.classifier.probabilities(crops)
        names = self.classifier.class_names
        return [
            LabelledFace(box, names[int(row.argmax())], float(row.max())) for box, row in zip(boxes, probabilities)
        ]

    def detect(self, image):
        """Every face in a BGR image with its label and probability."""
        return self.label_faces(image, self.find_faces(image))
