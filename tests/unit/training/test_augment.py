"""Training views: both views of a face degraded together, close-ups framed within the photo, degradations."""

import cv2
import numpy as np
import pytest
from conftest import bundled_images

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.detect.detectors import YuNetFaceDetector
from maskdetect.io.images import read_image


def test_both_views_of_a_training_face_are_mirrored_and_degraded_together():
    from maskdetect.detect.align import aligned_view, stacked_views
    from maskdetect.training.augment import augmented_face

    image = read_image(bundled_images("without_mask", "fmd", 1)[0])
    face = YuNetFaceDetector().detect(cv2.resize(image, None, fx=2, fy=2))[0].scaled(0.5)
    plain = stacked_views(*aligned_view(image, face, 256, angle=face.roll), 128)
    mirrored = stacked_views(*aligned_view(image, face, 256, angle=face.roll, flip=True), 128)
    assert np.abs(mirrored[:, ::-1].astype(int) - plain).mean() < 4
    views = [augmented_face(image, face, 128, np.random.default_rng(seed), 1.0, lower_face=True) for seed in range(6)]
    assert all(view.shape == (224, 128, 3) for view in views)
    # One degradation for both views: the face view's light is the lower face's (a dim view is dim in both).
    light = np.array([[view[:128].mean(), view[128:].mean()] for view in views])
    assert np.corrcoef(light[:, 0], light[:, 1])[0, 1] > 0.8


@pytest.mark.slow
def test_views_of_tight_close_ups_stay_within_the_photo():
    from maskdetect.face import Face
    from maskdetect.training.augment import _widest_scale

    image = np.zeros((200, 200, 3), np.uint8)
    assert _widest_scale(image, Face(3, 3, 197, 197)) == pytest.approx(1.357, abs=0.01)
    assert _widest_scale(np.zeros((1000, 1000, 3), np.uint8), Face(450, 450, 550, 550)) > 5


@pytest.mark.slow
def test_degraded_views_keep_size_and_the_fixed_check_is_repeatable():
    from maskdetect.training.augment import degrade, degraded_copy

    face = cv2.resize(read_image(bundled_images("without_mask", "fmd", 1)[0]), (IMAGE_SIZE, IMAGE_SIZE))
    rng = np.random.default_rng(3)
    views = [degrade(face, rng) for _ in range(8)]
    assert all(view.shape == face.shape and view.dtype == np.uint8 for view in views)
    assert np.mean([np.abs(view.astype(int) - face).mean() for view in views]) > 5
    first, second = degraded_copy(face), degraded_copy(face)
    assert np.array_equal(first, second)
    assert first.mean() < 0.5 * face.mean()
