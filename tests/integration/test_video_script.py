"""detect_mask_video.py on a real video made here from bundled photos; a user's files never destroyed."""

import json
import signal
import subprocess
import sys

import cv2
import pytest
from conftest import (
    FPS,
    MASKED,
    ROOT,
    UNMASKED,
    assert_one_line_error,
    frame_with,
    refused_and_intact,
    run_script,
    snapshot,
    tiny_video,
)

from maskdetect.detect.detectors import VIDEO_DETECT_SIZE


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


@pytest.mark.slow
def test_annotated_video_has_every_frame(headless_run):
    work, _, _ = headless_run
    capture = cv2.VideoCapture(str(work / "annotated.avi"))
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    assert len(frames) == 50
    assert frames[0].shape == (480, 640, 3)
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS)


@pytest.mark.slow
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


@pytest.mark.slow
def test_one_alert_once_the_person_has_been_unmasked_for_the_alert_frames(headless_run):
    _, events, result = headless_run
    alerts = [event for event in events if event["type"] == "alert"]
    assert len(alerts) == 1
    # The face turns unmasked at frame 15; the person's vote follows within half the vote window,
    # then 10 unmasked frames raise the alert, before the face turns masked again at frame 40.
    assert 15 + 10 - 1 <= alerts[0]["frame"] < 40
    assert result.stderr.count("ALERT") == 1


@pytest.mark.slow
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


@pytest.mark.slow
def test_source_that_cannot_be_opened_fails_cleanly(tmp_path):
    result = run_script("detect_mask_video.py", "--source", tmp_path / "missing.mp4", "--no-display")
    assert_one_line_error(result, "cannot open video source", "missing.mp4")
    result = run_script("detect_mask_video.py", "--source", "9", "--no-display")
    assert_one_line_error(result, "cannot open video source '9'")


@pytest.mark.slow
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


@pytest.mark.slow
def test_max_frames_stops_early(video, tmp_path):
    result = run_script("detect_mask_video.py", "--source", video, "--no-display", "--max-frames", 5, "--json", "-")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["frame"] * 5 + ["summary"]


@pytest.mark.slow
def test_alert_json_names_the_class(headless_run):
    _, events, _ = headless_run
    (alert,) = [event for event in events if event["type"] == "alert"]
    assert alert["label"] == "without_mask" and alert["unmasked_frames"] == 10
    frame = next(event for event in events if event["type"] == "frame" and event["frame"] == alert["frame"])
    assert alert["track_id"] == frame["faces"][0]["track_id"] is not None


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_video_outputs_never_replace_a_folder_the_source_or_old_json(tmp_path):
    source = tiny_video(tmp_path / "source.avi")
    clip = tmp_path / "clip.avi"
    clip.mkdir()
    (clip / "x.txt").write_text("mine")
    before = snapshot(tmp_path)
    result = run_script("detect_mask_video.py", "-s", source, "--no-display", "-o", clip)
    refused_and_intact(result, tmp_path, before, "it is a folder")
    result = run_script("detect_mask_video.py", "-s", source, "--no-display", "-o", source)
    refused_and_intact(result, tmp_path, before, "input")
    (tmp_path / "old.jsonl").write_text('{"old": true}\n')
    before = snapshot(tmp_path)
    result = run_script(
        "detect_mask_video.py", "-s", source, "--no-display", "--json", tmp_path / "old.jsonl", "-o", tmp_path / "x.gif"
    )
    refused_and_intact(result, tmp_path, before, "x.gif")


@pytest.mark.parametrize("frames", ["0", "-5"])
def test_max_frames_below_one_is_refused(frames, tmp_path):
    result = run_script("detect_mask_video.py", "-s", tiny_video(tmp_path / "v.avi"), "--no-display", "--max-frames", frames)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--max-frames: must be at least 1" in result.stderr
