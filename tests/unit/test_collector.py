"""What the collector keeps of each person and in what order it writes them, on a real photo."""

import errno

import cv2
import numpy as np
import pytest
from conftest import MASKED

from maskdetect.collector import FaceCollector, context_crop
from maskdetect.errors import InputError
from maskdetect.face import Face
from maskdetect.io import collection

IMAGE = cv2.imread(str(MASKED))


def face(probability, label="with_mask", track=None):
    height, width = IMAGE.shape[:2]
    box = Face(width // 4, height // 4, width // 2, height // 2, probability=probability, label=label, guess=label)
    box.track_id = track
    return box


def collector(folder, limit=10, confirm_frames=None):
    return FaceCollector(folder, ["with_mask", "without_mask"], limit, 32, True, confirm_frames, "m.model")


def test_people_are_written_most_doubtful_first_and_brief_tracks_never(tmp_path):
    kept = collector(tmp_path / "c", confirm_frames=3)
    for frame in range(5):
        # Track 1: sure, but one frame of five says otherwise (disagreement 0.2); track 2: unsure once (doubt 0.45).
        kept.add(
            "cam",
            IMAGE,
            [face(0.95, "without_mask" if frame == 2 else "with_mask", 1), face(0.9 if frame else 0.55, track=2)],
            frame / 10,
            frame,
        )
    kept.add("cam", IMAGE, [face(0.5, track=3)], 0.6, 6)  # seen once: a brief detection
    kept.close()
    found = sorted(collection.entries(tmp_path / "c"), key=lambda entry: entry.record["rank"])
    assert [entry.record["track"] for entry in found] == [2, 1]
    assert found[0].record["doubt"] == pytest.approx(0.45) and found[0].record["frame"] == 0
    assert found[1].record["disagreement"] == pytest.approx(0.2) and found[1].record["labels_seen"] == {
        "with_mask": 4,
        "without_mask": 1,
    }
    persons = [entry.record["person"] for entry in found]
    assert persons[0].endswith("#2") and persons[1].endswith("#1") and persons[0].startswith("cam@")
    assert collection.classes_of(tmp_path / "c") == ["with_mask", "without_mask", "not_a_face"]


def test_at_most_the_limit_is_written_and_photos_count_each_face(tmp_path):
    kept = collector(tmp_path / "c", limit=2)
    kept.add("a.jpg", IMAGE, [face(0.9), face(0.6), face(0.7)])
    kept.close()
    found = collection.entries(tmp_path / "c")
    assert sorted(entry.record["model"]["probability"] for entry in found) == [0.6, 0.7]
    assert {entry.record["person"] for entry in found} == {"a.jpg#face1", "a.jpg#face2"}


def test_the_context_crop_holds_the_face_where_its_box_says():
    small = Face(100, 90, 160, 150, landmarks=((120.0, 110.0), (140.0, 110.0), (130.0, 120.0), (122.0, 135.0), (138.0, 135.0)))
    crop, box, landmarks = context_crop(IMAGE, small)
    x1, y1, x2, y2 = box
    assert crop.shape[:2] == (120, 120) and (x2 - x1, y2 - y1) == (60, 60)
    assert np.array_equal(crop[y1:y2, x1:x2], IMAGE[90:150, 100:160])
    assert landmarks[0] == [120.0 - 100 + x1, 110.0 - 90 + y1]


def test_a_full_disk_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    kept = collector(tmp_path / "c")
    kept.add("a.jpg", IMAGE, [face(0.6)])

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(collection, "write_entry", full)
    with pytest.raises(InputError, match="No space left on device"):
        kept.close()


def test_each_track_is_a_person_even_when_one_frame_confirms_it(tmp_path):
    kept = collector(tmp_path / "c", limit=200, confirm_frames=1)
    for track in range(30):
        kept.add("door.mp4", IMAGE, [face(0.8, track=track)], track / 10, track)
    kept.close()
    assert len(collection.entries(tmp_path / "c")) == 30


def test_sources_keep_their_own_clocks_when_people_are_forgotten(tmp_path):
    kept = collector(tmp_path / "c", limit=1, confirm_frames=3)
    # One camera's unsure person, seen twice: not confirmed yet.
    for frame in range(2):
        kept.add("b", IMAGE, [face(0.55, track=1)], frame / 10, frame)
    # Another camera, whose clock runs far ahead, sees sure people pass: the collector forgets people to keep its bound.
    for track in range(5):
        for step in range(3):
            kept.add("a", IMAGE, [face(0.95, track=100 + track)], 1000.0 + 100 * track + step, step)
    # The first camera's person is still in view by its own clock, and is confirmed.
    for frame in range(2, 4):
        kept.add("b", IMAGE, [face(0.55, track=1)], frame / 10, frame)
    kept.close()
    (only,) = collection.entries(tmp_path / "c")
    assert only.record["source"] == "b" and only.record["frames"] == 4
