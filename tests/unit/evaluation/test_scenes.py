"""Scoring detections against annotated photos: overlap, matching, the summary."""

import pytest

from maskdetect.evaluation.scenes import iou, match_faces, summarise
from maskdetect.face import Face


def test_iou_and_greedy_matching():
    a, b = Face(0, 0, 10, 10), Face(5, 0, 15, 10)
    assert iou(a, b) == pytest.approx(50 / 150)
    assert iou(a, Face(20, 20, 30, 30)) == 0.0
    truth = [Face(0, 0, 10, 10), Face(100, 100, 120, 120)]
    found = [Face(101, 101, 121, 121), Face(1, 0, 11, 10), Face(0, 0, 9, 9)]
    # Each annotated face takes its best-overlapping detection once; the spare one is a false face.
    assert sorted(match_faces(truth, found, 0.3)) == [(0, 1), (1, 0)]
    assert match_faces(truth, found, 0.95) == []


def test_summary_counts_missed_faces_against_recall_not_accuracy():
    records = [
        {"image": "a", "truth": "with_mask", "height": 30, "predicted": "with_mask"},
        {"image": "a", "truth": "with_mask", "height": 30, "predicted": "(missed)"},
        {"image": "b", "truth": "without_mask", "height": 90, "predicted": "with_mask"},
        {"image": "b", "truth": "mask_weared_incorrect", "height": 90, "predicted": "without_mask"},
    ]
    report = summarise(records, 1, ["with_mask", "without_mask"], 0.3)
    masked = report["classes"]["with_mask"]["by_size"]["24-40"]
    assert masked["face_recall"] == 0.5 and masked["label_accuracy"] == 1.0 and masked["end_to_end"] == 0.5
    assert report["classes"]["without_mask"]["overall"]["label_accuracy"] == 0.0
    # A class the model does not know is counted for recall, never for label accuracy.
    assert "label_accuracy" not in report["classes"]["mask_weared_incorrect"]["overall"]
    assert report["face_precision"] == pytest.approx(3 / 4)
