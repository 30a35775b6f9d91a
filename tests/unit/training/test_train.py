"""Training's own steps: source weights, views of a rare class, a diverged training refused."""

import numpy as np
import pytest
from conftest import ROOT, bundled_images

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.detect.align import crop_shape


@pytest.mark.slow
def test_sources_are_weighted_by_square_root_of_size_and_classes_balanced():
    from maskdetect.training.train import cell_weights

    cells = [("utk", 1)] * 400 + [("amvd", 1)] * 25 + [("fmd", 0)] * 100
    labels = np.array([label for _, label in cells])
    weights = cell_weights(cells, labels, {})
    assert weights[0] * 4 == pytest.approx(weights[400])  # 16 times the images, a quarter of the weight each
    assert weights[labels == 0].sum() == pytest.approx(weights[labels == 1].sum())
    hard = cell_weights(cells, labels, {"amvd\t1": 3.0})
    assert hard[400] / hard[0] == pytest.approx(3 * weights[400] / weights[0])


@pytest.mark.slow
def test_a_rare_class_is_seen_in_views_of_its_own():
    from maskdetect.face import Face
    from maskdetect.io.images import read_image
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.dataset import FaceDataset
    from maskdetect.training.train import RARE_CLASS_VIEWS, with_rare_class_views

    files = {
        "with_mask": bundled_images("with_mask", "fmd", 12),
        "mask_weared_incorrect": sorted((ROOT / "data" / "extra" / "mask_weared_incorrect").glob("ilc_*"))[:2],
    }
    dataset = FaceDataset(class_names=list(files))
    for label, paths in enumerate(files.values()):
        for path in paths:
            image = read_image(path)
            dataset.images.append(image)
            dataset.boxes.append(Face(0, 0, image.shape[1], image.shape[0]))
            dataset.labels.append(label)
    train_idx = np.arange(len(dataset.labels))
    views = [np.full((len(train_idx), *crop_shape(IMAGE_SIZE, True), 3), view, np.uint8) for view in range(2)]
    extended = with_rare_class_views(
        views, dataset, train_idx, np.random.default_rng(0), TrainingSettings(verbose=False), lambda batch: batch
    )
    assert len(extended) == 2 * RARE_CLASS_VIEWS
    rare = np.asarray(dataset.labels) == 1
    # The common class repeats the given views; the rare one is drawn anew in every further view.
    assert all((view[~rare] == views[index % 2][~rare]).all() for index, view in enumerate(extended))
    further = [view[rare] for view in extended[2:]]
    assert all(not (face == views[0][rare]).all() for face in further)
    assert not np.array_equal(further[0], further[1])


def test_a_diverged_training_is_never_saved():
    from maskdetect.errors import InputError
    from maskdetect.training.train import check_trained

    history = {"loss": [0.7, 0.5], "val_loss": [0.6, 0.4]}
    check_trained(np.array([[0.9, 0.1], [0.2, 0.8]]), history, 0.9, 2)
    with pytest.raises(InputError, match="diverged"):
        check_trained(np.array([[np.nan, np.nan], [0.2, 0.8]]), history, 0.9, 2)
    with pytest.raises(InputError, match="diverged"):
        check_trained(np.array([[0.9, 0.1]]), {"loss": [float("inf")], "val_loss": [0.3]}, 0.9, 2)
    with pytest.raises(InputError, match="below chance"):
        check_trained(np.array([[0.9, 0.1]]), history, 0.3, 2)
