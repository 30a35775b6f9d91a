"""When a face is judged: per size band, the probability under which its label is not reported.

A face gets ``label: null`` and a reason when the classifier is not sure enough for
its size: ``"too_small"`` in a size band where no face is judged, ``"uncertain"``
where its probability is under the band's threshold. Training calibrates the
thresholds (maskdetect.training.calibration) and stores the rule with the model.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

# The class of boxes that hold no face (a hand, a sign, a door frame): such a box is dropped, never labelled.
NOT_A_FACE = "not_a_face"
TOO_SMALL = "too_small"
UNCERTAIN = "uncertain"
REASONS = (TOO_SMALL, UNCERTAIN)
# Face size bands by box height in pixels: [low, high).
SIZE_BANDS: tuple[tuple[int, int | None], ...] = ((0, 24), (24, 40), (40, 80), (80, None))


def band_name(height: float) -> str:
    """The name of the size band a face of this height falls in: '<24', '24-40', '40-80' or '>=80'."""
    for low, high in SIZE_BANDS:
        if high is None:
            return f">={low}"
        if height < high:
            return f"<{high}" if low == 0 else f"{low}-{high}"
    raise AssertionError("unreachable")


BAND_NAMES = [band_name(low) for low, _ in SIZE_BANDS]
# One probability per size band; None where no face of that band is judged.
Thresholds = tuple[float | None, ...]
# A rule as stored with a model: the band names, the thresholds and, with NOT_A_FACE, its thresholds.
RuleRecord = dict[str, list[str] | list[float | None]]


@dataclass(frozen=True)
class JudgingRule:
    """Per size band, the least probability at which a face's label is reported (None: never, too small); and,
    for a classifier with a NOT_A_FACE class, per size band the least probability of it at which a box is dropped
    (None: never, too small to tell)."""

    thresholds: Thresholds
    not_a_face: Thresholds | None = None

    def reason(self, height: float, probability: float) -> str | None:
        """Why a face of ``height`` pixels judged with ``probability`` gets no label, or None when it gets one."""
        threshold = self.thresholds[BAND_NAMES.index(band_name(height))]
        if threshold is None:
            return TOO_SMALL
        return UNCERTAIN if probability < threshold else None

    def as_dict(self) -> RuleRecord:
        rule: RuleRecord = {"size_bands": BAND_NAMES, "min_probability": list(self.thresholds)}
        if self.not_a_face is not None:
            rule["not_a_face_min_probability"] = list(self.not_a_face)
        return rule

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JudgingRule":
        if list(data.get("size_bands", [])) != BAND_NAMES or len(data.get("min_probability", [])) != len(BAND_NAMES):
            raise ValueError("a judging rule needs one threshold per size band")
        not_a_face = data.get("not_a_face_min_probability")
        if not_a_face is not None and len(not_a_face) != len(BAND_NAMES):
            raise ValueError("a judging rule needs one not-a-face threshold per size band")
        return cls(
            tuple(None if value is None else float(value) for value in data["min_probability"]),
            None if not_a_face is None else tuple(None if value is None else float(value) for value in not_a_face),
        )

    @classmethod
    def fixed_size(cls, min_face_size: float) -> "JudgingRule":
        """The rule of models without a calibrated one: every face of ``min_face_size`` pixels or more is judged."""
        return cls(tuple(None if (high is not None and high <= min_face_size) else 0.0 for _, high in SIZE_BANDS))

    def is_face(self, height: float, probability: float) -> bool:
        """Whether a box ``height`` pixels tall with this probability of NOT_A_FACE is kept as a face."""
        if self.not_a_face is None:
            return probability < 0.5
        threshold = self.not_a_face[BAND_NAMES.index(band_name(height))]
        return threshold is None or probability < threshold

    def to_json(self) -> str:
        return json.dumps(self.as_dict())


def face_probabilities(probabilities: ArrayLike, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities of the face classes alone, each row summing to 1, and the column of NOT_A_FACE
    (zeros for a classifier without it)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if NOT_A_FACE not in class_names:
        return probabilities, np.zeros(len(probabilities), np.float32)
    column = class_names.index(NOT_A_FACE)
    faces = np.delete(probabilities, column, axis=1)
    return faces / np.maximum(faces.sum(axis=1, keepdims=True), 1e-12), probabilities[:, column]
