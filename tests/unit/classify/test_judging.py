"""The judging rule: a reason for each face by its size and probability, the size bands, the not-a-face threshold."""

import json

import numpy as np
import pytest

from maskdetect.classify.judging import TOO_SMALL, UNCERTAIN, JudgingRule, band_name


def test_a_rule_gives_each_face_its_reason_by_size_and_probability():
    rule = JudgingRule((None, 0.9, 0.6, 0.0))
    assert rule.reason(20, 0.999) == TOO_SMALL
    assert rule.reason(30, 0.85) == UNCERTAIN and rule.reason(30, 0.95) is None
    assert rule.reason(60, 0.61) is None and rule.reason(500, 0.34) is None
    assert JudgingRule.from_dict(json.loads(rule.to_json())) == rule
    assert JudgingRule.fixed_size(24) == JudgingRule((None, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError):
        JudgingRule.from_dict({"size_bands": ["<24"], "min_probability": [0.5]})


def test_a_rule_carries_the_not_a_face_threshold_and_older_rules_still_load():
    from maskdetect.classify.judging import NOT_A_FACE, face_probabilities

    rule = JudgingRule((None, 0.9, 0.7, 0.0), not_a_face=(0.99, 0.95, 0.83, 0.6))
    again = JudgingRule.from_dict(json.loads(rule.to_json()))
    assert again == rule and again.is_face(50, 0.8) and not again.is_face(50, 0.9)
    # Each size band has its own threshold: a small blurred face looks more like no face than a large one.
    assert again.is_face(20, 0.98) and not again.is_face(100, 0.7)
    older = JudgingRule.from_dict({"size_bands": ["<24", "24-40", "40-80", ">=80"], "min_probability": [None, 0.9, 0.7, 0.0]})
    assert older.not_a_face is None and older.is_face(50, 0.49) and not older.is_face(50, 0.5)
    faces, no_face = face_probabilities(np.array([[0.6, 0.3, 0.1], [0.0, 0.5, 0.5]]), [NOT_A_FACE, "with_mask", "without_mask"])
    assert np.allclose(faces, [[0.75, 0.25], [0.5, 0.5]]) and np.allclose(no_face, [0.6, 0.0])
    plain, none = face_probabilities(np.array([[0.2, 0.8]]), ["with_mask", "without_mask"])
    assert np.allclose(plain, [[0.2, 0.8]]) and np.allclose(none, [0.0])


def test_size_bins_follow_the_annotated_height():
    assert [band_name(h) for h in (10, 23, 24, 39, 40, 79, 80, 500)] == [
        "<24",
        "<24",
        "24-40",
        "24-40",
        "40-80",
        "40-80",
        ">=80",
        ">=80",
    ]
