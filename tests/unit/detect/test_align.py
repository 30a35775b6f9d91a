"""Face crops: square, unaliased, levelled by the landmarks, and the lower face below the eyes."""

import cv2
import numpy as np
from helpers.faces import portraits, turned

from maskdetect.detect.align import aligned_face, crop_face
from maskdetect.detect.detectors import YuNetFaceDetector
from maskdetect.face import Face


def test_a_face_crop_is_square_and_a_face_on_the_border_repeats_the_edge():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :50] = 255
    crop = crop_face(image, Face(0, 20, 40, 60), 64)
    assert crop.shape == (64, 64, 3)
    assert crop[32, 0].tolist() == [255, 255, 255]
    assert np.array_equal(crop_face(image, Face(0, 20, 40, 60), 64, flip=True), crop[:, ::-1])


def test_a_big_face_is_cropped_where_it_is_and_without_aliasing():
    import cv2

    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1000, 1400, 3), dtype=np.uint8), (0, 0), 6)
    for box in (Face(300, 200, 900, 800), Face(0, 0, 1000, 1000), Face(500, 350, 800, 650)):
        expected = cv2.resize(image[box.y1 : box.y2, box.x1 : box.x2], (128, 128), interpolation=cv2.INTER_AREA)
        crop = crop_face(image, box, 128)
        assert np.abs(crop.astype(int) - expected).mean() < 1.0
        shifted = crop_face(image, Face(box.x1 + 15, box.y1, box.x2 + 15, box.y2), 128)
        assert np.abs(shifted.astype(int) - expected).mean() > 2 * np.abs(crop.astype(int) - expected).mean()


def test_a_tilted_face_is_cropped_with_its_eyes_level():
    detector = YuNetFaceDetector()
    leaning = levelled = 0
    for image in portraits():
        before, tilted = detector.detect(image), turned(image, -20)
        found = detector.detect(tilted)
        if not (before and found):
            continue
        leaning += found[0].roll > before[0].roll + 5  # the landmarks see the lean
        again = detector.detect(cv2.resize(aligned_face(tilted, found[0], 128), (256, 256)))
        levelled += bool(again) and abs(again[0].roll) < 6
    assert leaning >= 10 and levelled >= 9


def test_the_lower_face_runs_from_under_the_eyes_to_past_the_mouth_and_needs_no_landmarks():
    from dataclasses import replace

    from maskdetect.detect.align import BAND_ROWS_SHARE, _crop_matrix, classifier_crop, lower_face_band

    detector = YuNetFaceDetector()
    checked = 0
    for image in portraits(6):
        faces = detector.detect(image)
        if not faces or faces[0].landmarks is None:
            continue
        face = faces[0]
        matrix = _crop_matrix(face, 256, 1.0, (0.0, 0.0), face.roll)
        x1, y1, x2, y2 = lower_face_band(face, matrix)
        points = np.asarray(face.landmarks) @ matrix[:, :2].T + matrix[:, 2]
        eyes, nose, mouth = points[:2, 1].mean(), points[2, 1], points[3:, 1].mean()
        assert eyes < y1 < nose < mouth < y2
        assert x1 < points[:, 0].min() and points[:, 0].max() < x2
        # Without landmarks (the SSD detector), a face box's usual proportions place nearly the same band.
        guessed = lower_face_band(replace(face, landmarks=None), matrix)
        overlap = (min(x2, guessed[2]) - max(x1, guessed[0])) * (min(y2, guessed[3]) - max(y1, guessed[1]))
        union = (x2 - x1) * (y2 - y1) + (guessed[2] - guessed[0]) * (guessed[3] - guessed[1]) - overlap
        assert overlap / union > 0.6
        crop = classifier_crop(image, face, 128, lower_face=True)
        assert crop.shape == (128 + round(128 * BAND_ROWS_SHARE), 128, 3)
        assert np.array_equal(crop[:128], cv2.resize(crop_at(image, face, 256), (128, 128), interpolation=cv2.INTER_AREA))
        checked += 1
    assert checked >= 4


def crop_at(image, face, size):
    from maskdetect.detect.align import crop_face

    return crop_face(image, face, size, angle=face.roll)
