"""People crossing a doorway: tracked with one ID each, counted once, alerted once, with statistics."""

import csv
import json
from collections import defaultdict

import cv2
import pytest
from conftest import run_script
from crossing import WALKERS, make_crossing_video

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crossing_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("crossing")
    truth = make_crossing_video(work / "door.avi")
    result = run_script(
        "detect_mask_video.py",
        "-s",
        work / "door.avi",
        "--no-display",
        "--json",
        work / "events.jsonl",
        "--snapshots",
        work / "alerts",
        "--stats-csv",
        work / "people.csv",
        "--stats-plot",
        work / "people.png",
        "-o",
        work / "annotated.avi",
        "--alert-frames",
        8,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (work / "events.jsonl").read_text().splitlines()]
    return work, truth, events, result


def ids_per_walker(truth, events):
    """For each walker, the track IDs of the faces found in their photo (the front-most one where two overlap)."""
    frames = {event["frame"]: event for event in events if event["type"] == "frame"}
    ids = defaultdict(list)
    for index, in_view in enumerate(truth):
        for face in frames[index]["faces"]:
            x1, y1, x2, y2 = face["box"]
            centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
            under = [n for n, box in in_view if box.x1 <= centre_x < box.x2 and box.y1 <= centre_y < box.y2]
            if under and face["track_id"] is not None:
                ids[under[-1]].append(face["track_id"])
    return ids


def test_every_person_is_counted_once_under_their_class(crossing_run):
    _, _, events, result = crossing_run
    summary = events[-1]
    assert summary["people"]["with_mask"] == 2 and summary["people"]["without_mask"] == 3
    assert summary["masked_share"] == pytest.approx(0.4)
    assert "people seen: 2 with_mask, 3 without_mask" in result.stdout


def test_each_person_keeps_one_id_for_their_whole_crossing(crossing_run):
    _, truth, events, _ = crossing_run
    ids = ids_per_walker(truth, events)
    assert sorted(ids) == list(range(len(WALKERS)))
    switches = {number: len(set(found)) - 1 for number, found in ids.items()}
    assert switches == dict.fromkeys(range(len(WALKERS)), 0), f"ID switches per walker: {switches}"
    assert len({found[0] for found in ids.values()}) == len(WALKERS)


def test_a_persons_label_changes_at_most_once_and_ends_right(crossing_run):
    _, truth, events, _ = crossing_run
    labels = defaultdict(list)
    for event in events:
        for face in event.get("faces", []) if event["type"] == "frame" else []:
            if face["track_id"] is not None and face["person_label"] is not None:
                labels[face["track_id"]].append(face["person_label"])
    for track, sequence in labels.items():
        changes = sum(a != b for a, b in zip(sequence, sequence[1:]))
        assert changes <= 1, f"track {track}: {sequence}"
    for number, found in ids_per_walker(truth, events).items():
        assert labels[found[0]][-1] == WALKERS[number].label


def test_exactly_one_alert_per_unmasked_person_with_a_snapshot(crossing_run):
    work, truth, events, _ = crossing_run
    alerts = [event for event in events if event["type"] == "alert"]
    ids = ids_per_walker(truth, events)
    unmasked_ids = {ids[n][0] for n, walker in enumerate(WALKERS) if walker.label == "without_mask"}
    assert sorted(alert["track_id"] for alert in alerts) == sorted(unmasked_ids)
    for alert in alerts:
        snapshot = cv2.imread(alert["snapshot"])
        assert snapshot is not None and snapshot.shape == (480, 640, 3)
    assert len(list((work / "alerts").iterdir())) == len(alerts)


def test_statistics_are_written_as_csv_and_plot(crossing_run):
    work, _, events, _ = crossing_run
    rows = list(csv.DictReader((work / "people.csv").open()))
    assert rows[-1]["minute"] == "all" and rows[-1]["with_mask"] == "2" and rows[-1]["without_mask"] == "3"
    assert events[-1]["per_minute"][0]["minute"] == 0
    plot = cv2.imread(str(work / "people.png"))
    assert plot is not None and plot.shape[1] > 600


def test_blur_hides_every_face_in_the_recording_but_half_faces_at_the_edge(crossing_run, tmp_path):
    from maskdetect.detect.detectors import load_face_detector

    work, truth, _, _ = crossing_run
    result = run_script(
        "detect_mask_video.py",
        "-s",
        work / "door.avi",
        "--no-display",
        "--blur",
        "-o",
        tmp_path / "blurred.avi",
        "--detect-size",
        640,
        "-c",
        0.3,
        "--max-frames",
        160,
    )
    assert result.returncode == 0, result.stderr
    detector = load_face_detector("yunet", confidence=0.3)
    found = {}
    for name, path in (("sharp", work / "annotated.avi"), ("blurred", tmp_path / "blurred.avi")):
        capture = cv2.VideoCapture(str(path))
        found[name] = [box for _ in truth[:160] for box in detector.detect(capture.read()[1])]
    assert len(found["sharp"]) >= 200
    # What the pipeline's own detector misses stays sharp: a chin or a cheek at the edge of the frame.
    assert len(found["blurred"]) <= 3 and all(box.x1 == 0 or box.x2 == 640 for box in found["blurred"]), found["blurred"]
