"""The JSON records built from faces."""

import json

from maskdetect.face import Face
from maskdetect.io.records import frame_record, image_record


def test_json_records_round_values_and_mark_faces_too_small_to_judge():
    points = ((10.04, 12.0), (20.0, 12.0), (15.0, 20.0), (11.0, 30.0), (19.0, 30.0))
    faces = [
        Face(1, 2, 30, 40, 0.912345678, points, label="with_mask", probability=0.99999999),
        Face(0, 0, 9, 9, reason="too_small"),
        Face(50, 50, 90, 90, 0.8, probability=0.61, reason="uncertain"),
    ]
    record = image_record("p.jpg", 640, 480, faces)
    assert record["faces"][0] == {
        "box": [1, 2, 30, 40],
        "face_confidence": 0.912346,
        "label": "with_mask",
        "probability": 1.0,
        "reason": None,
        "landmarks": [[10.0, 12.0], [20.0, 12.0], [15.0, 20.0], [11.0, 30.0], [19.0, 30.0]],
    }
    assert record["faces"][1]["label"] is None and record["faces"][1]["probability"] is None
    assert record["faces"][1]["reason"] == "too_small" and record["faces"][1]["landmarks"] is None
    assert record["faces"][2]["label"] is None and record["faces"][2]["probability"] == 0.61
    assert record["faces"][2]["reason"] == "uncertain"
    line = frame_record(3, 0.12345, faces[:1])
    assert line["type"] == "frame" and line["time"] == 0.123 and json.loads(json.dumps(line)) == line
    assert line["faces"][0]["track_id"] is None and line["faces"][0]["person_label"] is None
    assert "track_id" not in record["faces"][0]
