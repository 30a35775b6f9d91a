"""Alerts per person, and which classes are not compliant."""

import pytest

pytestmark = pytest.mark.slow


def test_a_person_alerts_once_unless_realerting_and_a_masked_frame_resets_the_count():
    from maskdetect.video.alerts import PersonAlerts
    from maskdetect.video.statistics import non_compliant_classes
    from maskdetect.video.tracking import Person

    person = Person(7, 0.0, label="without_mask")
    alerts = PersonAlerts(["without_mask"], frames=3)
    assert [bool(alerts.update([person], t)) for t in (0, 1, 2)] == [False, False, True]
    assert not any(alerts.update([person], t) for t in range(3, 100))  # never again for this person
    again = PersonAlerts(["without_mask"], frames=3, realert_s=5.0)
    other = Person(8, 0.0, label="without_mask")
    assert [bool(again.update([other], t)) for t in (0, 1, 2, 3)] == [False, False, True, False]
    other.label = "with_mask"
    assert not again.update([other], 4) and other.alerting_frames == 0
    other.label = "without_mask"
    assert [bool(again.update([other], t)) for t in (8, 9, 10)] == [False, False, True]
    classes = ["mask_weared_incorrect", "with_mask", "without_mask"]
    assert non_compliant_classes(classes) == ["mask_weared_incorrect", "without_mask"]
    assert non_compliant_classes(classes, ["with_mask", "mask_weared_incorrect"]) == ["without_mask"]
