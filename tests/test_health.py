"""The heartbeat of a video run, and the health check that reads it (for containers and monitors)."""

import json
import socket
import threading
import time

import cv2
from conftest import run_script

from maskdetect.bundled import EXAMPLES


def _stalling_camera(frames=40, stall_s=12):
    """An MJPEG camera over HTTP that sends ``frames`` frames, then keeps the connection open and sends nothing."""
    jpeg = cv2.imencode(".jpg", cv2.resize(cv2.imread(str(EXAMPLES / "fmd_2c7408b330.jpg")), (320, 240)))[1].tobytes()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(2)

    def serve():
        client, _ = server.accept()
        client.recv(4096)
        client.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n")
        for _ in range(frames):
            client.sendall(b"--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg) + jpeg + b"\r\n")
            time.sleep(0.03)
        time.sleep(stall_s)
        client.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/live.mjpg"


def _health(path, max_age=3):
    return run_script("-m", "health", path, "--max-age", max_age)


def test_the_health_check_tells_a_running_loop_from_a_stalled_and_an_ended_one(tmp_path):
    heartbeat = tmp_path / "heartbeat.json"
    assert _health(heartbeat).returncode == 1  # never started
    runs = []
    worker = threading.Thread(target=lambda: runs.append(run_script(
        "detect_mask_video.py", "-s", _stalling_camera(), "--no-display", "--heartbeat", heartbeat, "--open-timeout", "4")))
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
