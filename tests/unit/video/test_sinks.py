"""Where frames go: JSON lines from the loop's faces, and recordings at the measured rate and the first size."""

import json

import cv2
import numpy as np
import pytest
from helpers.stand_in import StandInDetector, frames

from maskdetect.io.records import frame_record
from maskdetect.shipped_files import EXAMPLES
from maskdetect.video.alerts import PersonAlerts
from maskdetect.video.loop import analyse_frames
from maskdetect.video.sinks import JsonLinesSink
from maskdetect.video.summary import VideoSummary
from maskdetect.video.tracking import FaceTracker

PHOTO = EXAMPLES / "fmd_2c7408b330.jpg"


def test_json_lines_come_from_the_same_faces_and_end_with_the_summary(tmp_path):
    detector = StandInDetector()
    summary = VideoSummary({"without_mask"})
    path = tmp_path / "events.jsonl"
    with JsonLinesSink(path, summary) as events:
        for result in analyse_frames(detector, frames(12), FaceTracker(30.0), PersonAlerts({"without_mask"}, 3), 30.0, False):
            events.write(result)
            summary.write(result)
            assert not path.exists()  # written beside, moved in place when closed
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines].count("frame") == 12 and lines[-1]["type"] == "summary"
    assert lines[-1]["frames"] == 12 and lines[-1]["alerts"] == 1
    assert [line for line in lines if line["type"] == "alert"][0]["label"] == "without_mask"
    last_face = detector.made[-1]
    assert lines[-2]["faces"][0] == frame_record(11, 11 / 30, [last_face])["faces"][0]
    assert lines[-2]["faces"][0]["track_id"] == last_face.track_id is not None


@pytest.mark.slow
def test_a_live_recording_plays_at_the_measured_rate(tmp_path):
    from maskdetect.video.loop import FrameResult
    from maskdetect.video.sinks import VideoSink

    output = VideoSink(tmp_path / "live.avi")
    for index in range(40):
        output.write(FrameResult(index, index * 0.2, np.full((48, 64, 3), index, np.uint8), []))  # 5 frames a second
    output.close()
    capture = cv2.VideoCapture(str(tmp_path / "live.avi"))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(5.0, rel=0.05)
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 40
    assert [p.name for p in tmp_path.iterdir()] == ["live.avi"]


def test_frames_that_change_size_are_all_recorded_at_the_first_size(tmp_path, caplog):
    from maskdetect.video.loop import FrameResult
    from maskdetect.video.sinks import VideoSink

    image = cv2.imread(str(PHOTO))
    with VideoSink(tmp_path / "out.avi", fps=10) as sink:
        for number in range(30):
            # A camera that switches resolution after 10 frames.
            sink.write(FrameResult(number, number / 10, cv2.resize(image, (320, 240) if number < 10 else (640, 480)), []))
    assert "changed size from 320x240 to 640x480" in caplog.text
    capture = cv2.VideoCapture(str(tmp_path / "out.avi"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 30 and int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 320
