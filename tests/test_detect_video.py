"""detect_mask_video.py on a real video made here from bundled photos."""

import json
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, run_script

from maskdetect.detect.detectors import VIDEO_DETECT_SIZE
from maskdetect.shipped_files import EXAMPLES

pytestmark = pytest.mark.slow

MASKED = EXAMPLES / "fmd_4d175c5964.jpg"
UNMASKED = EXAMPLES / "fmd_2c7408b330.jpg"
# (photo, frames): masked, then an unmasked face held for 25 frames, then masked again.
SCRIPT = [(MASKED, 15), (UNMASKED, 25), (MASKED, 10)]
FPS = 10


def frame_with(photo, index):
    """A 640x480 frame with one face photo, drifting a little from frame to frame."""
    canvas = np.full((480, 640, 3), 90, np.uint8)
    face = cv2.resize(cv2.imread(str(photo)), (300, 300), interpolation=cv2.INTER_AREA)
    x = 150 + (index % 10) * 4
    canvas[90:390, x : x + 300] = face
    return canvas


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "people.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    index = 0
    for photo, count in SCRIPT:
        for _ in range(count):
            writer.write(frame_with(photo, index))
            index += 1
    writer.release()
    return path


@pytest.fixture(scope="module")
def headless_run(video, tmp_path_factory):
    work = tmp_path_factory.mktemp("video_run")
    result = run_script(
        "detect_mask_video.py",
        "--source",
        video,
        "--no-display",
        "--output",
        work / "annotated.avi",
        "--json",
        work / "events.jsonl",
        "--alert-frames",
        10,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (work / "events.jsonl").read_text().splitlines()]
    return work, events, result


def test_annotated_video_has_every_frame(headless_run):
    work, _, _ = headless_run
    capture = cv2.VideoCapture(str(work / "annotated.avi"))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    assert len(frames) == 50
    assert frames[0].shape == (480, 640, 3)
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS)


def test_json_lines_carry_the_expected_labels(headless_run):
    _, events, result = headless_run
    frames = [event for event in events if event["type"] == "frame"]
    assert [event["frame"] for event in frames] == list(range(50))
    expected = ["with_mask"] * 15 + ["without_mask"] * 25 + ["with_mask"] * 10
    assert [[face["label"] for face in event["faces"]] for event in frames] == [[label] for label in expected]
    assert frames[20]["time"] == pytest.approx(2.0)
    assert set(frames[0]["faces"][0]) == {
        "box",
        "face_confidence",
        "label",
        "probability",
        "reason",
        "landmarks",
        "track_id",
        "person_label",
    }
    assert frames[0]["faces"][0]["face_confidence"] == round(frames[0]["faces"][0]["face_confidence"], 6)
    summary = events[-1]
    assert summary["type"] == "summary" and summary["frames"] == 50
    assert summary["faces"] == {"with_mask": 25, "without_mask": 25}
    assert "frames processed: 50" in result.stdout and "alerts raised: 1" in result.stdout


def test_one_alert_once_the_person_has_been_unmasked_for_the_alert_frames(headless_run):
    _, events, result = headless_run
    alerts = [event for event in events if event["type"] == "alert"]
    assert len(alerts) == 1
    # The face turns unmasked at frame 15; the person's vote follows within half the vote window,
    # then 10 unmasked frames raise the alert, before the face turns masked again at frame 40.
    assert 15 + 10 - 1 <= alerts[0]["frame"] < 40
    assert result.stderr.count("ALERT") == 1


def test_labels_match_the_image_script(headless_run, video, tmp_path):
    _, events, _ = headless_run
    capture = cv2.VideoCapture(str(video))
    for index in range(30):
        ok, frame = capture.read()
        if index in (5, 25):
            cv2.imwrite(str(tmp_path / f"frame_{index:02d}.png"), frame)
    result = run_script(
        "detect_mask_image.py",
        "--image",
        tmp_path,
        "--json",
        "-",
        "--output",
        tmp_path / "out",
        "--detect-size",
        VIDEO_DETECT_SIZE,
    )
    assert result.returncode == 0, result.stderr
    by_image = json.loads(result.stdout)
    frames = [event for event in events if event["type"] == "frame"]
    for record, index in zip(by_image, (5, 25)):
        video_faces = frames[index]["faces"]
        assert [f["label"] for f in record["faces"]] == [f["label"] for f in video_faces]
        assert [f["box"] for f in record["faces"]] == [f["box"] for f in video_faces]


def test_source_that_cannot_be_opened_fails_cleanly(tmp_path):
    result = run_script("detect_mask_video.py", "--source", tmp_path / "missing.mp4", "--no-display")
    assert_one_line_error(result, "cannot open video source", "missing.mp4")
    result = run_script("detect_mask_video.py", "--source", "9", "--no-display")
    assert_one_line_error(result, "cannot open video source '9'")


def test_truncated_video_ends_cleanly(video, tmp_path):
    truncated = tmp_path / "truncated.avi"
    data = video.read_bytes()
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    result = run_script("detect_mask_video.py", "--source", truncated, "--no-display", "--json", tmp_path / "e.jsonl")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads((tmp_path / "e.jsonl").read_text().splitlines()[-1])
    assert 0 < summary["frames"] < 50
    assert "frames processed" in result.stdout


def test_max_frames_stops_early(video, tmp_path):
    result = run_script("detect_mask_video.py", "--source", video, "--no-display", "--max-frames", 5, "--json", "-")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["frame"] * 5 + ["summary"]


def test_alert_json_names_the_class(headless_run):
    _, events, _ = headless_run
    (alert,) = [event for event in events if event["type"] == "alert"]
    assert alert["label"] == "without_mask" and alert["unmasked_frames"] == 10
    frame = next(event for event in events if event["type"] == "frame" and event["frame"] == alert["frame"])
    assert alert["track_id"] == frame["faces"][0]["track_id"] is not None


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_ctrl_c_or_docker_stop_mid_run_finishes_every_output(tmp_path, stop):
    """SIGINT or SIGTERM (docker stop) while frames are being classified: exit 130, a playable video, a summary
    line, no temporary file."""
    long_video = tmp_path / "long.avi"
    writer = cv2.VideoWriter(str(long_video), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    for index in range(400):
        writer.write(frame_with(UNMASKED if index % 2 else MASKED, index))
    writer.release()
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "detect_mask_video.py"),
            "--source",
            str(long_video),
            "--no-display",
            "--output",
            str(out / "annotated.avi"),
            "--json",
            "-",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    while len(lines) < 20:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        lines.append(json.loads(line))
    process.send_signal(stop)
    rest, stderr = process.communicate(timeout=120)
    lines += [json.loads(line) for line in rest.splitlines()]
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["interrupted"] is True
    assert 20 <= summary["frames"] < 400
    assert "frames processed:" in stderr and "interrupted" in stderr
    assert [p.name for p in out.iterdir()] == ["annotated.avi"]
    capture = cv2.VideoCapture(str(out / "annotated.avi"))
    played = 0
    while capture.read()[0]:
        played += 1
    assert played == summary["frames"]


def _numbered_frames(folder, count):
    """PNG frames whose first two pixels spell their index exactly."""
    for index in range(count):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[0, 0], frame[0, 1] = index // 256, index % 256
        cv2.imwrite(str(folder / f"f_{index:04d}.png"), frame)
    return str(folder / "f_%04d.png")


def test_a_live_source_yields_the_newest_frames_when_inference_is_slow(tmp_path):
    from maskdetect.video.sources import FrameReader

    reader = FrameReader(_numbered_frames(tmp_path, 300))
    assert not reader.is_file
    seen = []
    for frame in reader:
        seen.append(int(frame[0, 0, 0]) * 256 + int(frame[0, 1, 0]))
        time.sleep(0.05)  # a slow classifier
    reader.close()
    assert seen == sorted(seen) and len(seen) < 150
    assert reader.dropped > 0 and seen[-1] >= 290
    assert any(b - a > 1 for a, b in zip(seen, seen[1:])), "stale frames were skipped"


def test_a_video_file_keeps_every_frame(tmp_path, video):
    from maskdetect.video.sources import FrameReader

    reader = FrameReader(video)
    count = sum(1 for _ in reader)
    reader.close()
    assert reader.is_file and count == 50 and reader.dropped == 0


def test_a_failing_capture_ends_the_run_instead_of_hanging(monkeypatch, video):
    import maskdetect.video.sources as video_module

    class Failing:
        def __init__(self, source):
            self.reads = 0

        def isOpened(self):  # noqa: N802 - the name cv2.VideoCapture has
            return True

        def get(self, prop):
            return 10.0

        def read(self):
            self.reads += 1
            if self.reads > 3:
                raise RuntimeError("camera unplugged")
            return True, np.zeros((48, 64, 3), np.uint8)

        def release(self):
            pass

    monkeypatch.setattr(video_module.cv2, "VideoCapture", Failing)
    reader = video_module.FrameReader(str(video))
    assert sum(1 for _ in reader) == 3
    reader.close()
    assert "unplugged" in str(reader.error)


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


def test_an_incorrectly_worn_mask_is_not_compliant_unless_the_run_says_so():
    from maskdetect.video.statistics import people_counts
    from maskdetect.video.tracking import Person

    classes = ["mask_weared_incorrect", "with_mask", "without_mask"]
    people = [
        Person(1, 0.0, label="with_mask"),
        Person(2, 0.0, label="mask_weared_incorrect"),
        Person(3, 0.0, label="without_mask"),
        Person(4, 0.0, label=None),
    ]
    counts = people_counts(people, classes)
    assert counts["people"] == {"mask_weared_incorrect": 1, "with_mask": 1, "without_mask": 1, "not judged": 1}
    assert counts["masked_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert people_counts(people, classes, ["with_mask", "mask_weared_incorrect"])["masked_share"] == pytest.approx(
        2 / 3, abs=1e-4
    )


def test_a_compliant_class_the_model_lacks_fails_cleanly(video, tmp_path):
    result = run_script(
        "detect_mask_video.py",
        "--source",
        video,
        "--no-display",
        "--compliant",
        "mask_weared_incorrect",
        "--output",
        tmp_path / "out.avi",
    )
    assert_one_line_error(result, "compliant classes", "mask_weared_incorrect")
    assert not (tmp_path / "out.avi").exists()


def test_a_box_that_holds_no_face_is_never_labelled_tracked_counted_or_alerted_on(tmp_path):
    from maskdetect.evaluation.scenes import iou
    from maskdetect.face import Face

    # A web photo of a masked person giving a thumbs up; YuNet also boxes the hand (checked by eye:
    # data/scenes_web/unmatched_checks.csv) when searched as photos are, which 1.4.0 called without_mask and alerted on.
    photo = cv2.imread(str(ROOT / "data" / "scenes_web" / "images" / "ilc_1c7a3a89aa.jpg"))
    hand = Face(516, 205, 636, 332)
    video = tmp_path / "thumbs_up.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (photo.shape[1], photo.shape[0]))
    for _ in range(12):
        writer.write(photo)
    writer.release()
    result = run_script(
        "detect_mask_video.py",
        "-s",
        video,
        "--no-display",
        "--json",
        tmp_path / "events.jsonl",
        "--detect-size",
        1280,
        "--upscale",
        1.5,
        "--alert-frames",
        5,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    frames = [record for record in records if record["type"] == "frame"]
    summary = records[-1]
    assert len(frames) == 12 and summary["type"] == "summary"
    assert not any(record["type"] == "alert" for record in records) and summary["alerts"] == 0
    for frame in frames:
        assert all(iou(Face(*face["box"]), hand) < 0.5 for face in frame["faces"])
        assert all(face["label"] in ("with_mask", None) for face in frame["faces"])
    assert summary["boxes_not_faces"] >= 12
    assert "boxes dropped as no face" in result.stdout
