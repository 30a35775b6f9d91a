"""Calibrating the judging rule on held-out faces shrunk to each size band.

The thresholds are set so that the faces the rule judges are right at least ``target`` of the
time in every class and on every source of ``MIN_SOURCE_FACES`` held-out faces or more (photos
from anywhere, not on average over the sources).
"""

import cv2
import numpy as np

from maskdetect.classify.judging import BAND_NAMES, JudgingRule
from maskdetect.settings import DEFAULT_JUDGED_ACCURACY
from maskdetect.training.augment import degrade

# The heights at which held-out faces stand for each band when calibrating.
CALIBRATION_HEIGHTS = ((16, 20), (30,), (56,), (None,))
# Clean faces shrunk to a size are easier than real faces of that size: this share of the held-out faces is
# also degraded as training views are.
DEGRADED_SHARE = 0.5
# A band where fewer than this share of held-out faces can be judged at the target is not judged at all.
MIN_JUDGED_SHARE = 0.5
# A source with at least this many held-out faces must reach the target on its own.
MIN_SOURCE_FACES = 100


def shrunk_like(face, height):
    """A face crop as the classifier gets a face of ``height`` pixels: shrunk, then enlarged back (sizes go by
    the width, the face view's side)."""
    rows, size = face.shape[:2]
    if height is None or height >= size:
        return face
    small = cv2.resize(face, (height, max(1, round(height * rows / size))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (size, rows), interpolation=cv2.INTER_LINEAR)


def calibration_faces(faces, height, seed=0):
    """Held-out face crops as faces of ``height`` pixels (None: their own size) come from real cameras: shrunk,
    and half of them also degraded like training views (light, colour cast, noise, blur, JPEG)."""
    rng = np.random.default_rng(seed)
    return [
        degrade(face, rng, small_size=height or face.shape[1]) if rng.random() < DEGRADED_SHARE else shrunk_like(face, height)
        for face in faces
    ]


def threshold_for(probabilities, truths, target=DEFAULT_JUDGED_ACCURACY, min_share=MIN_JUDGED_SHARE, by_class=True):
    """The least probability at which the faces judged are right ``target`` of the time (with ``by_class``,
    those of each true class), judging as many as possible; None when that leaves fewer than ``min_share`` of
    the faces judged."""
    confidence = probabilities.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    confidence, truths = confidence[order], truths[order]
    right = probabilities.argmax(axis=1)[order] == truths
    # Judging the k most confident faces, for every k: the share of each class's faces among them that is right.
    reached = np.ones(len(right), bool)
    for label in np.unique(truths) if by_class else [None]:
        of_class = truths == label if by_class else np.ones(len(truths), bool)
        judged = np.cumsum(of_class)
        accuracy = np.cumsum(right & of_class) / np.maximum(judged, 1)
        reached &= (judged == 0) | (accuracy >= target)
    # Faces of equal confidence are judged together: only the last of a run of ties is a possible cut.
    cuts = np.flatnonzero(np.append(confidence[1:] != confidence[:-1], True))
    good = cuts[reached[cuts] & ((cuts + 1) >= min_share * len(confidence))]
    if not len(good):
        return None
    return 0.0 if good[-1] == len(confidence) - 1 else round(float(confidence[good[-1]]), 6)


def calibrate(probabilities_at, truths, target=DEFAULT_JUDGED_ACCURACY, sources=None):
    """A JudgingRule from held-out faces and their true class indices: in each band, the judged faces of
    each class reach ``target``, and so do those of each source of ``MIN_SOURCE_FACES`` or more (``sources``).

    ``probabilities_at(height)`` gives the classifier's probabilities for the held-out faces as faces of
    ``height`` pixels (None: their own) look to it: see ``calibration_faces``. Returns the rule and, per band,
    the share of the held-out faces it judges, their accuracy and each class's.
    """
    truths = np.asarray(truths)
    large_sources = []
    if sources is not None:
        sources = np.asarray(sources)
        names, counts = np.unique(sources, return_counts=True)
        large_sources = [sources == name for name in names[counts >= MIN_SOURCE_FACES]]
    thresholds, measured = [], {}
    for name, heights in zip(BAND_NAMES, CALIBRATION_HEIGHTS):
        probabilities = np.concatenate([probabilities_at(height) for height in heights])
        band_truths = np.tile(truths, len(heights))
        candidates = [threshold_for(probabilities, band_truths, target)]
        for of_source in large_sources:
            in_band = np.tile(of_source, len(heights))
            candidates.append(threshold_for(probabilities[in_band], band_truths[in_band], target, by_class=False))
        threshold = None if None in candidates else max(candidates)
        thresholds.append(threshold)
        judged = np.zeros(len(band_truths), bool) if threshold is None else probabilities.max(axis=1) >= threshold
        right = probabilities.argmax(axis=1) == band_truths
        measured[name] = {
            "min_probability": threshold,
            "judged_share": round(float(judged.mean()), 4),
            "accuracy_judged": round(float(right[judged].mean()), 4) if judged.any() else None,
            "class_accuracy_judged": [
                round(float(right[judged & (band_truths == label)].mean()), 4)
                if (judged & (band_truths == label)).any()
                else None
                for label in range(probabilities.shape[1])
            ],
        }
    return JudgingRule(tuple(thresholds)), measured


def describe(measured):
    """One line of ``calibrate``'s measurements: each band's threshold and share judged."""
    return ", ".join(
        f"{band} too small"
        if cell["min_probability"] is None
        else f"{band} p >= {cell['min_probability']:.3f} ({cell['judged_share']:.0%} judged)"
        for band, cell in measured.items()
    )
