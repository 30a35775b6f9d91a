"""A folder of photos checked on threads: input order kept, a failing photo fails alone."""

import cv2
import numpy as np
from conftest import bundled_images

from maskdetect.shipped_files import EXAMPLES, SHIPPED_MODEL


def test_a_folder_is_labelled_in_input_order_as_one_image_at_a_time(tmp_path):
    from maskdetect.classify.backends import load_classifier
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.io.images import read_image
    from maskdetect.photos import detect_photos
    from maskdetect.pipeline import MaskDetector

    paths = [*bundled_images("with_mask", "amvd", 12), *bundled_images("without_mask", "utk", 12), *sorted(EXAMPLES.iterdir())]
    paths.insert(5, tmp_path / "broken.jpg")
    paths[5].write_bytes(b"\xff\xd8 not a photo")
    detector = MaskDetector(load_classifier(SHIPPED_MODEL), load_face_detector("yunet"))
    targets = [tmp_path / "out" / f"{index:02d}.png" for index in range(len(paths))]
    results, failures = detect_photos(detector, paths, targets, workers=2)
    assert len(failures) == 1 and "broken.jpg" in failures[0]
    readable = [path for path in paths if path.name != "broken.jpg"]
    assert [result.image for result in results] == list(map(str, readable))
    for result, path in zip(results, readable):
        assert [face.label for face in result.faces] == [face.label for face in detector.detect(read_image(path))]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(t.name for t in targets if t.name != "05.png")


def test_an_image_that_breaks_the_detector_fails_alone(photos, tmp_path):
    from maskdetect.photos import detect_photos

    class Detector:
        class_names = ["with_mask", "without_mask"]

        def find(self, image):
            if image.shape[0] == 7:
                raise cv2.error("pathological image")
            return []

        def label(self, faces_per_image):
            return faces_per_image

    cv2.imwrite(str(photos / "odd.png"), np.zeros((7, 9, 3), np.uint8))
    paths = sorted(photos.iterdir())
    results, failures = detect_photos(Detector(), paths, None)
    assert [r.image.rsplit("/", 1)[-1] for r in results] == ["masked.jpg", "unmasked.jpg"]
    assert len(failures) == 1 and "odd.png" in failures[0]
