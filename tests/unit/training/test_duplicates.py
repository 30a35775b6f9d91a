"""Near-duplicate photos kept on one side of the validation split, and the split's share."""

import cv2
import numpy as np
import pytest
from conftest import bundled_images

from maskdetect.io.images import read_image
from maskdetect.training.duplicates import duplicate_groups, grouped_split, image_hashes

pytestmark = pytest.mark.slow


def test_mirrored_resized_and_reencoded_copies_stay_on_one_side_of_the_split():
    originals = bundled_images("with_mask", "fmd", 30) + bundled_images("without_mask", "fmd", 30)
    images = [read_image(path) for path in originals]
    labels = [0] * 30 + [1] * 30
    source = images[3]
    ok, encoded = cv2.imencode(".jpg", source, [cv2.IMWRITE_JPEG_QUALITY, 60])
    copies = [source[:, ::-1], cv2.resize(source, None, fx=0.6, fy=0.6), cv2.imdecode(encoded, cv2.IMREAD_COLOR)]
    images += copies
    labels += [0, 0, 0]
    groups = duplicate_groups(np.array([image_hashes(image) for image in images]))
    copy_indices = [3, 60, 61, 62]
    assert len({groups[i] for i in copy_indices}) == 1
    assert len(set(groups)) >= 50, "distinct photos must not be merged"
    for seed in range(5):
        train, val = grouped_split(labels, groups, 0.2, seed)
        assert len(set(copy_indices) & set(train)) in (0, 4)


@pytest.mark.parametrize("share", [0.1, 0.2, 0.3, 0.4])
def test_val_split_holds_out_the_share_asked(share):
    rng = np.random.default_rng(0)
    labels = np.array([0] * 300 + [1] * 200)
    # Groups of one to three images, as near-duplicates come.
    groups = np.repeat(np.arange(500), rng.integers(1, 4, 500))[:500]
    train, val = grouped_split(labels, groups, share, seed=1)
    assert len(train) + len(val) == 500 and not set(train) & set(val)
    for label, size in ((0, 300), (1, 200)):
        assert abs(np.count_nonzero(labels[val] == label) - share * size) <= 2
    assert not set(groups[train]) & set(groups[val])
