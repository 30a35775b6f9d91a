"""Loading a dataset: faces the detector misses, and checked boxes that hold no face."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import bundled_images, make_dataset, not_a_face_folder

pytestmark = pytest.mark.slow


def test_faces_the_detector_misses_are_framed_like_their_source(tmp_path):
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.training.dataset import load_dataset

    dataset = make_dataset(
        tmp_path / "data",
        {
            "with_mask": bundled_images("with_mask", "obs", 4),
            "without_mask": bundled_images("without_mask", "obs", 4),
        },
    )
    gradient = np.tile(np.linspace(30, 220, 400, dtype=np.uint8), (400, 1))
    cv2.imwrite(str(dataset / "without_mask" / "obs_noface.png"), cv2.merge([gradient] * 3))
    loaded = load_dataset([dataset], load_face_detector("yunet"), verbose=False)
    assert [path.name for path in loaded.undetected] == ["obs_noface.png"]
    index = [path.name for path in loaded.paths].index("obs_noface.png")
    box = loaded.boxes[index]
    # Not the whole image: the median of where the detector found the other obs faces.
    assert box.width < 0.9 * loaded.images[index].shape[1] and box.height < 0.9 * loaded.images[index].shape[0]


def test_boxes_that_hold_no_face_are_framed_as_checked_and_split_apart_from_the_faces(tmp_path):
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.dataset import load_dataset
    from maskdetect.training.train import validation_split

    data = make_dataset(
        tmp_path / "data",
        {"with_mask": bundled_images("with_mask", "fmd", 10), "without_mask": bundled_images("without_mask", "fmd", 10)},
    )
    rows = not_a_face_folder(data / "not_a_face", 10)
    dataset = load_dataset([data], load_face_detector("yunet"), verbose=False)
    assert dataset.class_names == ["not_a_face", "with_mask", "without_mask"]
    framed = {Path(path).name: box for path, box in zip(dataset.paths, dataset.boxes)}
    for row in rows:
        box = framed[row["file"]]
        assert box.box == [int(row[key]) for key in ("x1", "y1", "x2", "y2")]
        assert (box.landmarks is None) == (not row["landmarks"])
    assert not any(Path(path).parent.name == "not_a_face" for path in dataset.undetected)
    labels, hashes = np.asarray(dataset.labels), np.asarray(dataset.hashes)
    config = TrainingSettings(verbose=False)
    _, validation = validation_split(labels, hashes, config, dataset.class_names, np.asarray(dataset.checked))
    faces = np.flatnonzero(labels != 0)
    _, faces_alone = validation_split(labels[faces] - 1, hashes[faces], config)
    # The faces held out are the ones held out without the no-face boxes: models with and without compare.
    assert sorted(set(validation) - set(np.flatnonzero(labels == 0))) == sorted(faces[faces_alone])
    assert (labels[validation] == 0).sum() == 2
