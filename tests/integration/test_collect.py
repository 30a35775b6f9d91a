"""Collecting the faces the model was least sure of: one entry per confirmed person (per face in photos), with its
crops and sidecar, most doubtful first; off by default, refused where it would store what a run hides."""

import json

import cv2
import pytest
from conftest import refused_and_intact, run_script, snapshot
from helpers.clips import three_people

from maskdetect.io import collection


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return three_people(tmp_path_factory.mktemp("collect") / "three.avi")


def test_a_video_run_collects_one_entry_per_confirmed_person(clip, tmp_path):
    folder = tmp_path / "collected"
    result = run_script("detect_mask_video.py", "--source", clip, "--no-display", "--collect", folder)
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "collecting" in line]
    assert len(notices) == 1 and "tell the people filmed" in notices[0]
    found = collection.entries(folder)
    # Two confirmed people; the one who passed in three frames is a brief detection, never collected.
    assert len(found) == 2
    assert {entry.record["track"] for entry in found} == {
        entry.record["track"] for entry in found if entry.record["frames"] >= 10
    }
    for entry in found:
        record = entry.record
        assert record["source"] == str(clip) and record["time"] is not None and record["frame"] is not None
        assert record["model"]["guess"] in ("with_mask", "without_mask")
        assert record["model"]["band"] == ">=80" and 0.0 <= record["model"]["probability"] <= 1.0
        assert record["model"]["file"] == "mask_detector.model"
        face, context = cv2.imread(str(entry.face_image)), cv2.imread(str(entry.context_image))
        assert face is not None and face.shape[0] > face.shape[1]  # the face view with the lower face under it
        x1, y1, x2, y2 = record["box"]
        assert 0 <= x1 < x2 <= context.shape[1] and 0 <= y1 < y2 <= context.shape[0]
        assert entry.label is None
    ranked = sorted(found, key=lambda entry: entry.record["rank"])
    assert ranked[0].record["doubt"] >= ranked[1].record["doubt"]
    assert [entry.id for entry in collection.most_doubtful_first(found)] == [entry.id for entry in ranked]


def test_collect_max_keeps_the_most_doubtful_and_a_second_run_adds_to_the_collection(clip, tmp_path):
    folder = tmp_path / "collected"
    first = run_script("detect_mask_video.py", "--source", clip, "--no-display", "--collect", folder, "--collect-max", 1, "-q")
    assert first.returncode == 0, first.stderr
    (only,) = collection.entries(folder)
    assert only.record["rank"] == 1
    second = run_script("detect_mask_video.py", "--source", clip, "--no-display", "--collect", folder, "--collect-max", 1, "-q")
    assert second.returncode == 0, second.stderr
    assert len(collection.entries(folder)) == 2 and only.sidecar.exists()


def test_photos_collect_one_entry_per_face(photos, tmp_path):
    folder = tmp_path / "collected"
    result = run_script(
        "detect_mask_image.py", "-i", photos, "-o", tmp_path / "out", "--collect", folder, "--json", tmp_path / "f.json"
    )
    assert result.returncode == 0, result.stderr
    faces = sum(len(record["faces"]) for record in json.loads((tmp_path / "f.json").read_text()))
    found = collection.entries(folder)
    assert len(found) == faces >= 2
    assert {entry.record["source"] for entry in found} == {str(path) for path in photos.iterdir()}
    assert all(entry.record["track"] is None and entry.record["time"] is None for entry in found)


def test_collecting_is_refused_from_a_blurred_run_and_into_a_folder_of_other_things(clip, tmp_path):
    folder = tmp_path / "collected"
    blurred = run_script("detect_mask_video.py", "--source", clip, "--no-display", "--blur", "--collect", folder)
    assert blurred.returncode == 2 and "--collect-unblurred" in blurred.stderr
    assert not folder.exists()
    allowed = run_script(
        "detect_mask_video.py", "--source", clip, "--no-display", "--blur", "--collect", folder, "--collect-unblurred", "-q"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert len(collection.entries(folder)) == 2
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "thesis.txt").write_text("mine")
    before = snapshot(papers)
    refused = run_script("detect_mask_video.py", "--source", clip, "--no-display", "--collect", papers)
    refused_and_intact(refused, papers, before, "no collection")


def test_collecting_into_another_output_of_the_run_is_refused_before_it_starts(photos, clip, tmp_path):
    out = tmp_path / "out"
    shared_folder = run_script("detect_mask_image.py", "-i", photos, "-o", out, "--collect", out)
    assert shared_folder.returncode == 2 and "also writes" in shared_folder.stderr and not out.exists()
    report = tmp_path / "faces.json"
    shared_file = run_script("detect_mask_image.py", "-i", photos, "-o", out, "--json", report, "--collect", report)
    assert shared_file.returncode == 2 and not report.exists()
    snapshots = tmp_path / "snaps"
    into_snapshots = run_script(
        "detect_mask_video.py", "--source", clip, "--no-display", "--snapshots", snapshots, "--collect", snapshots / "faces"
    )
    assert into_snapshots.returncode == 2 and "inside the run's output" in into_snapshots.stderr


def test_a_collection_refuses_the_faces_of_a_model_with_other_classes(photos, tmp_path):
    folder = tmp_path / "collected"
    collection.open_collection(folder, ["not_a_face", "masked", "unmasked"])
    result = run_script("detect_mask_image.py", "-i", photos, "-o", tmp_path / "out", "--collect", folder)
    assert result.returncode == 2 and "collect this model's faces into a new folder" in result.stderr
    assert collection.entries(folder) == []
