"""Real faces of the bundled dataset as the tests of detection and of the classifiers use them."""

import cv2
import numpy as np
from conftest import bundled_images

from maskdetect.io.images import read_image


def turned(image, angle):
    """``image`` turned ``angle`` degrees counter-clockwise on a canvas that holds all of it."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(height * sin + width * cos), int(height * cos + width * sin))
    matrix[0, 2] += size[0] / 2 - width / 2
    matrix[1, 2] += size[1] / 2 - height / 2
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE)


def portraits(count=12):
    """Upright close-up photos of unmasked faces, enlarged to at least 240 px."""
    images = []
    for path in bundled_images("without_mask", "fmd", count):
        image = read_image(path)
        scale = max(1.0, 240 / max(image.shape[:2]))
        images.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
    return images


def angle_error(found, expected):
    return abs((found - expected + 180) % 360 - 180)


# Real faces of every kind of source, masked and not, in the crops detection makes of them.
FACE_SOURCES = [
    ("with_mask", "fmd"),
    ("with_mask", "amvd"),
    ("with_mask", "wchm"),
    ("without_mask", "utk"),
    ("without_mask", "wcmd"),
    ("without_mask", "fexp"),
]


def real_face_crops(classifier, offset=300):
    """What ``classifier`` judges of real faces (the face view, and the lower face for a two-view model)."""
    from maskdetect.detect.align import classifier_crop
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.io.images import read_image

    detector = load_face_detector("yunet")
    crops = []
    for class_name, source in FACE_SOURCES:
        for path in bundled_images(class_name, source, 4, offset=min(offset, 0 if source in ("wchm", "wcmd") else offset)):
            image = read_image(path)
            boxes = detector.detect(image)
            if boxes:
                crops.append(classifier_crop(image, boxes[0], classifier.input_size, classifier.lower_face))
    assert len(crops) >= 16
    return crops


def assert_exports_match_keras(model):
    from maskdetect.classify.backends import load_classifier

    keras_classifier = load_classifier(model, "keras")
    faces = real_face_crops(keras_classifier)
    expected = keras_classifier.probabilities(faces)
    for backend in ("onnx", "litert"):
        exported = load_classifier(model, backend)
        assert exported.class_names == keras_classifier.class_names
        assert exported.input_size == keras_classifier.input_size
        assert exported.lower_face == keras_classifier.lower_face
        assert np.abs(exported.probabilities(faces) - expected).max() <= 1e-3, backend
