"""The toolkit from Python: load a detector once, then label the faces of any image array.

    from maskdetect import api

    detector = api.load_detector()
    for face in detector.detect(api.read_image("photo.jpg")):
        print(face.label, face.probability, face.box.as_list())

No TensorFlow is imported unless ``backend="keras"``.
"""

from maskdetect.bundled import EXAMPLES, SHIPPED_MODEL
from maskdetect.faces import (
    DEFAULT_CONFIDENCE,
    DEFAULT_DETECTOR,
    PHOTO_UPSCALE,
    YUNET_MAX_SIDE,
    FaceBox,
    load_face_detector,
)
from maskdetect.images import read_image
from maskdetect.pipeline import DEFAULT_MIN_FACE_SIZE, LabelledFace, MaskDetector
from maskdetect.runtime import load_classifier

__all__ = ["EXAMPLES", "FaceBox", "LabelledFace", "MaskDetector", "load_detector", "read_image"]


def load_detector(model=SHIPPED_MODEL, backend=None, face_detector=DEFAULT_DETECTOR, confidence=DEFAULT_CONFIDENCE,
                  detect_size=YUNET_MAX_SIDE, min_face_size=DEFAULT_MIN_FACE_SIZE, upscale=PHOTO_UPSCALE, upright=True):
    """A MaskDetector: ``detect(bgr_image)`` gives every face with its label and probability.

    ``model``: a Keras model (its ONNX export runs by default) or a .onnx or .tflite file;
    ``backend``: 'onnx', 'litert' or 'keras'. The other settings are the photo script's options (``upright``:
    stand faces lying on their side upright before judging them).
    """
    return MaskDetector(
        load_classifier(model, backend),
        load_face_detector(face_detector, confidence=confidence, max_side=detect_size, upscale=upscale),
        min_face_size,
        upright,
    )
