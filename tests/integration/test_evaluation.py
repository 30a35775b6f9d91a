"""The evaluate and face-check commands on annotated photos and on the hard-case check set, with the shipped model."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, assert_one_line_error, run_script

from maskdetect.evaluation.voc import read_annotation
from maskdetect.shipped_files import EXAMPLES

SCENES = ROOT / "data" / "scenes"


@pytest.fixture(scope="module")
def few_scenes(tmp_path_factory):
    """Sixteen annotated street photos with unmasked faces of 24 to 80 px among them."""
    folder = tmp_path_factory.mktemp("scenes")
    (folder / "images").mkdir()
    (folder / "annotations").mkdir()
    chosen = [
        xml
        for xml in sorted((SCENES / "annotations").glob("*.xml"))
        if any(face.label == "without_mask" and 24 <= face.height < 80 for face in read_annotation(xml))
    ][:16]
    for xml in chosen:
        shutil.copy(xml, folder / "annotations")
        shutil.copy(SCENES / "images" / f"{xml.stem}.jpg", folder / "images")
    return folder


def test_evaluation_of_street_photos_reports_recall_and_labels_per_size(few_scenes, tmp_path):
    result = run_script("-m", "evaluate", few_scenes / "images", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    assert "Confusion matrix" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["photos"] == 16 and report["iou_threshold"] == 0.3
    unmasked = report["classes"]["without_mask"]["by_size"]
    cells = [unmasked[size] for size in ("24-40", "40-80")]
    judged = sum(cell["found"] - cell["too_small"] - cell["uncertain"] for cell in cells)
    assert judged >= 15
    assert all(0 <= cell["judged_share"] <= 1 for cell in cells)
    # Most unmasked faces of 24 to 80 px are labelled unmasked (the model shipped before: 0.50 here, this one 0.80).
    right = sum(cell["label_accuracy"] * (cell["found"] - cell["too_small"] - cell["uncertain"]) for cell in cells)
    assert right / judged >= 0.7
    assert report["face_recall"] > 0.6
    assert len(report["faces"]) == report["annotated_faces"]


def test_evaluation_of_a_folder_without_annotations_fails_cleanly(tmp_path):
    (tmp_path / "photos").mkdir()
    shutil.copy(EXAMPLES / "fmd_4d175c5964.jpg", tmp_path / "photos")
    result = run_script("-m", "evaluate", tmp_path / "photos")
    assert_one_line_error(result, "no image in")


def test_hard_case_check_reports_every_kind_and_degraded_copies(tmp_path):
    check = tmp_path / "check"
    for kind in ("beard", "webcam"):
        for source in sorted((ROOT / "data" / "hard_cases" / kind).iterdir()):
            target = check / kind / source.name
            target.mkdir(parents=True)
            for path in sorted(source.iterdir())[:6]:
                shutil.copy(path, target)
    result = run_script("-m", "face-check", check, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert set(results) == {"beard", "webcam", "degraded copies"}
    assert results["beard"]["without_mask"]["faces"] == 6
    assert results["webcam"]["with_mask"]["faces"] == 6 and results["webcam"]["without_mask"]["faces"] == 6
    assert results["degraded copies"]["without_mask"]["faces"] == 12
    assert results["beard"]["without_mask"]["accuracy"] >= 5 / 6


def test_evaluation_counts_the_boxes_checked_as_no_face_that_are_still_reported(tmp_path):
    import csv

    web = ROOT / "data" / "scenes_web"
    with open(web / "unmatched_checks.csv", newline="", encoding="utf-8") as handle:
        checks = list(csv.DictReader(handle))
    photos = sorted({row["photo"] for row in checks if row["verdict"] == "no_face"})[:6]
    for folder in ("images", "annotations"):
        (tmp_path / folder).mkdir()
    for photo in photos:
        shutil.copy(web / "images" / photo, tmp_path / "images")
        shutil.copy(web / "annotations" / f"{Path(photo).stem}.xml", tmp_path / "annotations")
    chosen = [row for row in checks if row["photo"] in photos]
    with open(tmp_path / "unmatched_checks.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(chosen[0]))
        writer.writeheader()
        writer.writerows(chosen)
    result = run_script("-m", "evaluate", tmp_path / "images", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    checked = sum(row["verdict"] == "no_face" for row in chosen)
    assert report["no_face_boxes"]["checked"] == checked
    # The shipped model drops boxes that hold no face (here 2 of 7; 1.4.0, which had no such class, reported all 7).
    assert report["no_face_boxes"]["still_reported"] < checked
    assert "checked as no face still reported" in result.stdout
