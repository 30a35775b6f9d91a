"""People, not tracks: a person counts once their track lasts as long as an alert needs; shorter tracks are
brief detections; each person's record says how long they were seen with each label."""

import pytest
from helpers.clips import FPS, FRAMES, three_people

from maskdetect.settings import VideoSettings


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return three_people(tmp_path_factory.mktemp("people") / "three.avi")


def test_people_are_counted_from_confirmed_tracks_with_their_times(clip, tmp_path):
    from maskdetect import api

    summary = api.run_video(VideoSettings(source=[str(clip)], display=False, json_path=str(tmp_path / "run.jsonl")))[0]
    statistics = summary.statistics
    assert statistics["people"]["with_mask"] == 1 and statistics["people"]["without_mask"] == 1
    assert statistics["brief_detections"] == 1
    assert statistics["masked_share"] == 0.5
    persons = {person["label"]: person for person in statistics["persons"]}
    assert set(persons) == {"with_mask", "without_mask"}
    # Seen from their first tracked frame to the last: four seconds, less the hidden third of a second.
    assert persons["with_mask"]["seconds"]["with_mask"] == pytest.approx(FRAMES / FPS, abs=0.2)
    assert persons["without_mask"]["seconds"]["without_mask"] == pytest.approx((FRAMES - 5) / FPS, abs=0.25)
    assert persons["without_mask"]["seconds"]["with_mask"] == 0
    assert "brief detections (tracks too short to count as people): 1" in summary.text()
    assert "people seen: 1 with_mask, 1 without_mask" in summary.text()


def test_a_person_unmasked_for_as_long_as_an_alert_needs_counts_as_unmasked():
    from maskdetect.video.tracking import Person

    person = Person(1, 0.0, confirm_frames=10)
    for label, frames in (("with_mask", 60), ("without_mask", 12), ("with_mask", 30)):
        person.label = label
        for _ in range(frames):
            person.seen(0.0, 1 / FPS)
    assert person.confirmed and person.door_label(["with_mask"]) == "without_mask"
    flicker = Person(2, 0.0, confirm_frames=10)
    for label, frames in (("with_mask", 60), ("without_mask", 4), ("with_mask", 30)):
        flicker.label = label
        for _ in range(frames):
            flicker.seen(0.0, 1 / FPS)
    assert flicker.door_label(["with_mask"]) == "with_mask"
