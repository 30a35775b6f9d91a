"""People counts and the masked share."""

import pytest

pytestmark = pytest.mark.slow


def test_an_incorrectly_worn_mask_is_not_compliant_unless_the_run_says_so():
    from maskdetect.video.statistics import people_counts
    from maskdetect.video.tracking import Person

    classes = ["mask_weared_incorrect", "with_mask", "without_mask"]
    people = [
        seen(Person(1, 0.0, label="with_mask")),
        seen(Person(2, 0.0, label="mask_weared_incorrect")),
        seen(Person(3, 0.0, label="without_mask")),
        seen(Person(4, 0.0, label=None)),
    ]
    counts = people_counts(people, classes)
    assert counts["people"] == {"mask_weared_incorrect": 1, "with_mask": 1, "without_mask": 1, "not judged": 1}
    assert counts["masked_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert people_counts(people, classes, ["with_mask", "mask_weared_incorrect"])["masked_share"] == pytest.approx(
        2 / 3, abs=1e-4
    )


def seen(person, frames=10):
    """The person, seen in ``frames`` frames under their label (a confirmed track)."""
    for _ in range(frames):
        person.seen(0.0, 1 / 15)
    return person
