"""The heartbeat of a video run, and the health check that reads it (for containers and monitors)."""

import json
import threading
import time

import cv2
from conftest import run_script, stalling_camera

from maskdetect.shipped_files import EXAMPLES


def _health(path, max_age=3):
    return run_script("-m", "health", path, "--max-age", max_age)


def test_the_health_check_tells_a_running_loop_from_a_stalled_and_an_ended_one(tmp_path):
    heartbeat = tmp_path / "heartbeat.json"
    assert _health(heartbeat).returncode == 1  # never started
    runs = []
    worker = threading.Thread(
        target=lambda: runs.append(
            run_script(
                "detect_mask_video.py", "-s", stalling_camera(), "--no-display", "--heartbeat", heartbeat, "--open-timeout", "4"
            )
        )
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not heartbeat.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    healthy = _health(heartbeat)
    assert healthy.returncode == 0 and "healthy" in healthy.stdout
    time.sleep(5)  # the camera has stopped sending
    stalled = _health(heartbeat)
    assert stalled.returncode == 1 and "stalled" in stalled.stderr
    worker.join(timeout=120)
    ended = _health(heartbeat)
    assert ended.returncode == 1 and "finished" in ended.stderr
    assert json.loads(heartbeat.read_text())["frames"] > 10
    assert runs[0].returncode == 0, runs[0].stderr


def test_a_run_of_several_sources_is_healthy_only_while_every_source_is(tmp_path, monkeypatch):
    clip = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for _ in range(5):
        writer.write(cv2.resize(cv2.imread(str(EXAMPLES / "fmd_2c7408b330.jpg")), (320, 240)))
    writer.release()
    heartbeat = tmp_path / "heartbeat.json"
    monkeypatch.setenv("MASKDETECT_HEARTBEAT", str(heartbeat))  # what the image sets, for both commands
    result = run_script("detect_mask_video.py", "-s", clip, "-s", clip, "--no-display")
    assert result.returncode == 0, result.stderr
    beats = [tmp_path / "heartbeat-1.json", tmp_path / "heartbeat-2.json"]
    assert [json.loads(path.read_text())["state"] for path in beats] == ["finished", "finished"]
    assert not heartbeat.exists()
    ended = run_script("-m", "health")
    assert ended.returncode == 1 and "finished" in ended.stderr

    now = time.time()
    beats[0].write_text(json.dumps({"type": "heartbeat", "time": now, "frames": 90, "state": "running"}))
    beats[1].write_text(json.dumps({"type": "heartbeat", "time": now - 120, "frames": 40, "state": "running"}))
    one_stalled = run_script("-m", "health")
    assert one_stalled.returncode == 1 and "stalled" in one_stalled.stderr and "heartbeat-2.json" in one_stalled.stderr
    beats[1].write_text(json.dumps({"type": "heartbeat", "time": now, "frames": 41, "state": "running"}))
    both = run_script("-m", "health")
    assert both.returncode == 0 and "2 runs" in both.stdout


def test_the_health_check_without_a_heartbeat_to_read_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("MASKDETECT_HEARTBEAT", raising=False)
    result = run_script("-m", "health")
    assert result.returncode == 2 and "MASKDETECT_HEARTBEAT" in result.stderr
