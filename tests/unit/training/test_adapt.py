"""How adapting weighs and holds out the site's faces."""

import numpy as np
import pytest

from maskdetect.errors import InputError
from maskdetect.training.adapt import MAX_SITE_FACE_WEIGHT, _held_out_people, _weights


def test_every_class_keeps_its_weight_and_the_site_its_share_within_each():
    labels = np.array([0] * 100 + [1] * 100 + [0] * 50 + [1] * 50)
    from_site = np.arange(len(labels)) >= 200
    weights = _weights(labels, from_site, 0.4)
    assert weights.mean() == pytest.approx(1.0)
    for label in (0, 1):
        of_class = labels == label
        assert weights[of_class].sum() == pytest.approx(len(labels) / 2)
        assert weights[of_class & from_site].sum() / weights[of_class].sum() == pytest.approx(0.4)


def test_a_class_the_site_barely_shows_is_not_learned_from_a_few_faces():
    labels = np.array([0] * 100 + [1] * 100 + [0] * 100 + [1] * 2)
    from_site = np.arange(len(labels)) >= 200
    weights = _weights(labels, from_site, 0.5)
    site_face, known_face = weights[-1], weights[150]
    assert site_face == pytest.approx(MAX_SITE_FACE_WEIGHT * known_face)
    assert weights[(labels == 0) & from_site].sum() == pytest.approx(weights[(labels == 0) & ~from_site].sum())


def test_a_class_only_the_site_has_is_all_the_sites():
    labels = np.array([0] * 10 + [1] * 5)
    from_site = np.array([False] * 10 + [True] * 5)
    weights = _weights(labels, from_site, 0.3)
    assert weights[labels == 1].sum() == pytest.approx(weights[labels == 0].sum())


def test_whole_people_are_held_out_and_at_least_one_is_kept_for_training():
    people = ["a", "a", "b", "c", "c", "c", "d"]
    train, held = _held_out_people(people, 0.3, seed=0)
    assert sorted([*train, *held]) == list(range(len(people)))
    held_people = {people[i] for i in held}
    assert len(held_people) == 2 and not held_people & {people[i] for i in train}
    _, held = _held_out_people(people, 0.99, seed=0)
    assert len({people[i] for i in held}) == 3
    with pytest.raises(InputError, match="at least 2"):
        _held_out_people(["a", "a"], 0.3, seed=0)


def test_a_model_that_no_longer_judges_a_band_the_old_one_judged_is_refused_unless_any_loss_is_accepted():
    from dataclasses import replace

    from maskdetect.classify.judging import JudgingRule
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.adapt import ACCEPT_ANY_LOSS, _check_bands

    old, kept, lost = (
        JudgingRule(thresholds) for thresholds in ((0.8, 0.7, 0.6, 0.6), (0.9, 0.6, 0.6, 0.5), (None, 0.6, 0.6, 0.5))
    )
    settings = TrainingSettings(model="site.model")
    _check_bands(old, kept, settings)
    _check_bands(JudgingRule((None, 0.7, 0.6, 0.6)), lost, settings)
    with pytest.raises(InputError, match="<24 px.*site.model is as it was"):
        _check_bands(old, lost, settings)
    _check_bands(old, lost, replace(settings, accept_loss=ACCEPT_ANY_LOSS))
