"""Grouping near-duplicate images so that a train/validation split cannot leak them.

Two images are one group when they are the same photo re-encoded, resized or
mirrored (their perceptual hashes nearly agree), or when they share the upper
part of the face, as a photo and its copy with a pasted-on mask do.
"""

from collections import Counter

import cv2
import numpy as np

# Largest Hamming distances (of 64 bits) still counted as the same picture.
WHOLE_IMAGE_DISTANCE = 8
UPPER_FACE_DISTANCE = 4
# The share of the image's height above a pasted mask: forehead and eyes.
UPPER_FACE_SHARE = 0.45


def perceptual_hash(gray):
    """A 64-bit DCT hash of a grayscale image, as 64 booleans."""
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    return low > np.median(low[1:])


def image_hashes(image):
    """Hashes of an image and of its mirror image: whole picture and upper part.

    Returns an array of shape (2, 2, 64): [whole, upper] x [as is, mirrored].
    """
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    upper = gray[: max(1, int(gray.shape[0] * UPPER_FACE_SHARE))]
    return np.array(
        [
            [perceptual_hash(gray), perceptual_hash(gray[:, ::-1])],
            [perceptual_hash(upper), perceptual_hash(upper[:, ::-1])],
        ]
    )


def duplicate_groups(hashes):
    """A group number per image; near-duplicates share one.

    ``hashes`` is an array of shape (n, 2, 2, 64) from ``image_hashes``.
    """
    count = len(hashes)
    parent = np.arange(count)

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    as_is = hashes[:, :, 0]
    mirrored = hashes[:, :, 1]
    limits = np.array([WHOLE_IMAGE_DISTANCE, UPPER_FACE_DISTANCE])
    for i in range(count - 1):
        others = as_is[i + 1 :]
        straight = np.count_nonzero(others != as_is[i], axis=2)
        flipped = np.count_nonzero(others != mirrored[i], axis=2)
        close = np.any(np.minimum(straight, flipped) <= limits, axis=1)
        for j in np.flatnonzero(close) + i + 1:
            parent[root(j)] = root(i)
    return np.array([root(i) for i in range(count)])


def grouped_split(labels, groups, val_fraction, seed):
    """Indices (train, validation): each group wholly on one side, each class held out in the asked share.

    Groups are taken in a seeded random order into validation while they fit every
    class's quota (round(share x class size)), so the share held out is the one
    asked, to within what the group sizes allow.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    classes = np.unique(labels)
    quota = {label: int(round(val_fraction * np.count_nonzero(labels == label))) for label in classes}
    taken = dict.fromkeys(classes, 0)
    unique_groups, inverse = np.unique(groups, return_inverse=True)
    members = [[] for _ in unique_groups]
    for index, group in enumerate(inverse):
        members[group].append(index)
    validation = []
    for group in np.random.default_rng(seed).permutation(len(unique_groups)):
        counts = Counter(labels[members[group]].tolist())
        if all(taken[label] + count <= quota[label] for label, count in counts.items()):
            validation.extend(members[group])
            for label, count in counts.items():
                taken[label] += count
    chosen = np.zeros(len(labels), dtype=bool)
    chosen[validation] = True
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)
