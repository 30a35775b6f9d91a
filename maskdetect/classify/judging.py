"""When a face is judged: per size band, the probability under which its label is not reported.

A face gets ``label: null`` and a reason when the classifier is not sure enough for
its size: ``"too_small"`` in a size band where no face is judged, ``"uncertain"``
where its probability is under the band's threshold. Training calibrates the
thresholds (maskdetect.training.calibration) and stores the rule with the model.
"""

import json
from dataclasses import dataclass

TOO_SMALL = "too_small"
UNCERTAIN = "uncertain"
REASONS = (TOO_SMALL, UNCERTAIN)
# Face size bands by box height in pixels: [low, high).
SIZE_BANDS = ((0, 24), (24, 40), (40, 80), (80, None))


def band_name(height):
    """The name of the size band a face of this height falls in: '<24', '24-40', '40-80' or '>=80'."""
    for low, high in SIZE_BANDS:
        if high is None:
            return f">={low}"
        if height < high:
            return f"<{high}" if low == 0 else f"{low}-{high}"
    raise AssertionError("unreachable")


BAND_NAMES = [band_name(low) for low, _ in SIZE_BANDS]


@dataclass(frozen=True)
class JudgingRule:
    """Per size band, the least probability at which a face's label is reported (None: never, too small)."""

    thresholds: tuple

    def reason(self, height, probability):
        """Why a face of ``height`` pixels judged with ``probability`` gets no label, or None when it gets one."""
        threshold = self.thresholds[BAND_NAMES.index(band_name(height))]
        if threshold is None:
            return TOO_SMALL
        return UNCERTAIN if probability < threshold else None

    def as_dict(self):
        return {"size_bands": BAND_NAMES, "min_probability": list(self.thresholds)}

    @classmethod
    def from_dict(cls, data):
        if list(data.get("size_bands", [])) != BAND_NAMES or len(data.get("min_probability", [])) != len(BAND_NAMES):
            raise ValueError("a judging rule needs one threshold per size band")
        return cls(tuple(None if value is None else float(value) for value in data["min_probability"]))

    @classmethod
    def fixed_size(cls, min_face_size):
        """The rule of models without a calibrated one: every face of ``min_face_size`` pixels or more is judged."""
        return cls(tuple(None if (high is not None and high <= min_face_size) else 0.0 for _, high in SIZE_BANDS))

    def to_json(self):
        return json.dumps(self.as_dict())
