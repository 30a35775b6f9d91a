"""The judging rule calibrated on validation faces: thresholds per class, per source and per size."""

import numpy as np
import pytest

from maskdetect.training.calibration import calibrate, threshold_for


def test_the_threshold_judges_the_most_faces_that_reach_the_target():
    probabilities = np.array([[0.99, 0.01], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    truths = np.array([0, 0, 1, 1, 0])
    # The three most confident are right, the next two wrong.
    assert threshold_for(probabilities, truths, target=0.97, min_share=0.2) == pytest.approx(0.8)
    assert threshold_for(probabilities, truths, target=0.5, min_share=0.2) == 0.0
    assert threshold_for(probabilities, truths, target=0.97, min_share=0.9) is None


def test_every_class_must_reach_the_target_not_only_the_faces_pooled():
    # 20 masked faces all right and sure; 5 unmasked faces, the least sure of them wrong.
    probabilities = np.array([[0.99, 0.01]] * 20 + [[0.1, 0.9]] * 4 + [[0.7, 0.3]])
    truths = np.array([0] * 20 + [1] * 5)
    # Pooled, 24 of 25 right (0.96) passes a 0.95 target; unmasked alone, 4 of 5 (0.8) does not.
    assert threshold_for(probabilities, truths, target=0.95, min_share=0.2, by_class=False) == 0.0
    assert threshold_for(probabilities, truths, target=0.95, min_share=0.2) == pytest.approx(0.9)


def test_a_hard_source_makes_the_rule_stricter_for_all():
    rng = np.random.default_rng(1)
    count = 600
    truths = rng.integers(0, 2, count)
    sources = np.array(["easy"] * 400 + ["hard"] * 200)

    def probabilities_at(height):
        # The hard source's faces are wrong a fifth of the time, at middling confidence.
        wrong = (sources == "hard") & (rng.random(count) < 0.2)
        confidence = np.where(wrong, rng.uniform(0.5, 0.75, count), rng.uniform(0.7, 1.0, count))
        label = np.where(wrong, 1 - truths, truths)
        rows = np.zeros((count, 2))
        rows[np.arange(count), label] = confidence
        rows[np.arange(count), 1 - label] = 1 - confidence
        return rows

    pooled, _ = calibrate(probabilities_at, truths, target=0.97)
    by_source, measured = calibrate(probabilities_at, truths, target=0.97, sources=sources)
    for loose, strict in zip(pooled.thresholds, by_source.thresholds):
        # Pooled, the easy source's faces hide the hard one's errors; by source, they are left unjudged.
        assert loose is not None and strict is not None and strict >= 0.7 and strict > loose
    assert all(cell["accuracy_judged"] >= 0.97 for cell in measured.values())


def test_calibration_judges_less_where_the_classifier_errs():
    rng = np.random.default_rng(0)
    truths = rng.integers(0, 2, 400)

    def probabilities_at(height):
        # Sure and right on big faces; on small ones a third are confidently wrong.
        wrong = rng.random(400) < (0.33 if height is not None and height < 24 else 0.0)
        confidence = np.where(wrong, rng.uniform(0.5, 0.8, 400), rng.uniform(0.6, 1.0, 400))
        label = np.where(wrong, 1 - truths, truths)
        rows = np.zeros((400, 2))
        rows[np.arange(400), label] = confidence
        rows[np.arange(400), 1 - label] = 1 - confidence
        return rows

    rule, measured = calibrate(probabilities_at, truths, target=0.97)
    assert rule.thresholds[-1] == 0.0 and measured[">=80"]["judged_share"] == 1.0
    assert rule.thresholds[0] is None or rule.thresholds[0] >= 0.8
    assert measured["<24"]["judged_share"] < 0.6
