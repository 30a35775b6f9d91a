"""The toolkit from Python: load a detector once, then label the faces of any image array.

    from maskdetect import api

    detector = api.load_detector()
    for face in detector.detect(api.read_image("photo.jpg")):
        print(face.label, face.probability, face.box)

Each face is a ``Face``: its box, detector score and landmarks, and the label, probability and
reason the classifier gave. No TensorFlow is imported unless ``backend="keras"``.
"""

from maskdetect.bundled import EXAMPLES, FACE_DETECTOR_DIR, SHIPPED_MODEL
from maskdetect.classify import backends
from maskdetect.detect.detectors import (
    DEFAULT_CONFIDENCE,
    DEFAULT_DETECTOR,
    PHOTO_UPSCALE,
    YUNET_MAX_SIDE,
    load_face_detector,
)
from maskdetect.detect.align import classifier_crop as _classifier_crop
from maskdetect.face import Face
from maskdetect.io.images import read_image
from maskdetect.io.records import face_record
from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE, MaskDetector

__all__ = ["EXAMPLES", "Face", "MaskDetector", "classifier_crop", "face_record", "load_detector", "read_image"]


def classifier_crop(image, face, classifier):
    """What ``classifier`` judges of ``face`` in a BGR ``image``: the aligned face, with the lower face stacked
    under it for a two-view classifier; pass a list of them to ``classifier.probabilities``."""
    return _classifier_crop(image, face, classifier.input_size, classifier.lower_face)


def load_detector(model=SHIPPED_MODEL, backend=None, face_detector=DEFAULT_DETECTOR, confidence=DEFAULT_CONFIDENCE,
                  detect_size=YUNET_MAX_SIDE, min_face_size=DEFAULT_MIN_FACE_SIZE, upscale=PHOTO_UPSCALE, upright=True,
                  face_detector_dir=FACE_DETECTOR_DIR, classifier_threads=None, face_detector_threads=None):
    """A MaskDetector: ``detect(bgr_image)`` gives every face with its label and probability.

    ``model``: a Keras model (its ONNX export runs by default) or a .onnx or .tflite file;
    ``backend``: 'onnx', 'litert' or 'keras'; ``face_detector``: 'yunet', 'ssd', or None to take each
    image as one face. The other settings are the photo script's options (``upright``: stand faces
    lying on their side upright before judging them); the threads default to one per core.
    """
    detector = None
    if face_detector is not None:
        detector = load_face_detector(face_detector, face_detector_dir, confidence, detect_size, face_detector_threads, upscale)
    return MaskDetector(backends.load_classifier(model, backend, classifier_threads), detector, min_face_size, upright)
