"""Who may watch: the live page behind a token, TLS, the Host check, a cap on streams; camera passwords never leak."""

import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
from conftest import ROOT, assert_one_line_error, free_port, run_script
from helpers.pages import CHROMIUM, CHROMIUM_FLAGS, token_file, wait_until_served
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskdetect.serve.access import COOKIE, Access
from maskdetect.serve.live import LiveFeed
from maskdetect.serve.pages import PageServer as LivePageServer
from maskdetect.shipped_files import EXAMPLES

TOKEN = "a-test-token-of-thirty-two-chars"
ROUTES = ["/", "/counts", "/stream/0"]


def _serve_one_frame(source, max_clients):
    """A live page on a free loopback port, of one source with a frame in it, behind TOKEN."""
    feed = LiveFeed([source])
    feed.publish(0, cv2.imread(str(EXAMPLES / "fmd_2c7408b330.jpg")), {"frames": 1})
    return LivePageServer(feed, "127.0.0.1", 0, Access(TOKEN, {"127.0.0.1", "localhost"}, max_clients=max_clients))


@pytest.fixture
def page():
    server = _serve_one_frame("rtsp://admin:secret@door/live", max_clients=2)
    yield server
    server.close()


def _get(server, path, host=None, cookie=None, read=True):
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if cookie:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read(4096) if read else b""
    connection.close()
    return response, body


def test_every_route_needs_the_token_then_the_cookie(page):
    for route in ROUTES:
        assert _get(page, route)[0].status == 401
        assert _get(page, route + "?token=wrong-token-wrong-token")[0].status == 401
        assert _get(page, route, cookie="forged")[0].status == 401
    exchanged, _ = _get(page, "/counts?token=" + TOKEN)
    assert exchanged.status == 303 and exchanged.getheader("Location") == "/counts"
    cookie = exchanged.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert TOKEN not in value
    for route in ROUTES:
        response, body = _get(page, route, cookie=value)
        assert response.status == 200, route
        # Security headers on every response, and no Python version in Server.
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert "default-src 'self'" in response.getheader("Content-Security-Policy")
        assert response.getheader("Referrer-Policy") == "no-referrer"
        assert "Python" not in response.getheader("Server")
    assert _get(page, "/../../etc/passwd", cookie=value)[0].status == 404


def test_other_host_names_are_refused_on_every_route(page):
    for route in ROUTES + ["/?token=" + TOKEN]:
        assert _get(page, route, host="attacker.example")[0].status == 421
        assert _get(page, route, host="attacker.example:80", cookie=Access(TOKEN).cookie_value)[0].status == 421


def test_wrong_tokens_are_rate_limited_per_client(page):
    statuses = [_get(page, f"/?token=guess-{number}-guess-guess-guess")[0].status for number in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[-1] == 429
    assert _get(page, "/?token=" + TOKEN)[0].status == 429  # even the right one, for a minute


def test_streams_beyond_the_cap_get_503(page):
    cookie = Access(TOKEN).cookie_value
    port = int(page.url.rsplit(":", 1)[1].strip("/"))
    held = []
    for _ in range(2):
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(f"GET /stream/0 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {COOKIE}={cookie}\r\n\r\n".encode())
        assert b"200" in client.recv(64)
        held.append(client)
    assert _get(page, "/stream/0", cookie=cookie)[0].status == 503
    for client in held:
        client.close()
    time.sleep(1.5)  # a stream notices its viewer left within a second, even with no new frame
    assert _get(page, "/stream/0", cookie=cookie, read=False)[0].status == 200


def test_serving_options_that_would_open_the_page_to_others_are_refused(tmp_path):
    loose = tmp_path / "token"
    loose.write_text(TOKEN)
    loose.chmod(0o644)
    video = ROOT / "nowhere.avi"
    assert_one_line_error(
        run_script(
            "detect_mask_video.py",
            "-s",
            EXAMPLES / "fmd_2c7408b330.jpg",
            "--no-display",
            "--serve",
            "8999",
            "--serve-token-file",
            loose,
        ),
        "chmod 600",
    )
    assert_one_line_error(
        run_script(
            "detect_mask_video.py",
            "-s",
            EXAMPLES / "fmd_2c7408b330.jpg",
            "--no-display",
            "--serve",
            "0.0.0.0:8999",
            "--serve-no-auth",
        ),
        "--serve-no-auth",
    )
    assert_one_line_error(
        run_script(
            "detect_mask_video.py",
            "-s",
            EXAMPLES / "fmd_2c7408b330.jpg",
            "--no-display",
            "--serve",
            "8999",
            "--serve-cert",
            tmp_path / "c.pem",
        ),
        "--serve-key",
    )
    assert not video.exists()


class _MjpegCamera:
    """A camera the test serves over HTTP (MJPEG, any user and password accepted), for a few seconds."""

    def __init__(self, frames=60):
        image = cv2.resize(cv2.imread(str(EXAMPLES / "fmd_2c7408b330.jpg")), (320, 240))
        self.jpeg = cv2.imencode(".jpg", image)[1].tobytes()
        self.frames = frames
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.server.close()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._stream, args=(client,), daemon=True).start()

    def _stream(self, client):
        try:
            client.recv(4096)
            client.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n")
            for _ in range(self.frames):
                client.sendall(
                    b"--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(self.jpeg) + self.jpeg + b"\r\n"
                )
                time.sleep(0.03)
        except OSError:
            pass
        finally:
            client.close()


@pytest.mark.slow
def test_camera_passwords_appear_nowhere(tmp_path):
    camera = _MjpegCamera()
    source = f"http://user:secret@127.0.0.1:{camera.port}/live.mjpg"
    secret_file, token = token_file(tmp_path)
    port = free_port()
    runs = []
    worker = threading.Thread(
        target=lambda: runs.append(
            run_script(
                "detect_mask_video.py",
                "-s",
                source,
                "--no-display",
                "--serve",
                port,
                "--serve-token-file",
                secret_file,
                "--json",
                tmp_path / "events.jsonl",
                "--stats-csv",
                tmp_path / "people.csv",
                "--snapshots",
                tmp_path / "alerts",
                "--alert-frames",
                "3",
                "-v",
            )
        )
    )
    worker.start()
    page = wait_until_served(f"http://127.0.0.1:{port}/?token={token}")
    counts = _wait_counts(port, Access(token).cookie_value)
    worker.join(timeout=120)
    camera.close()
    (result,) = runs
    assert result.returncode == 0, result.stderr
    unreachable = run_script(
        "detect_mask_video.py", "-s", "rtsp://user:secret@127.0.0.1:9/x", "--no-display", "--open-timeout", "2", "-v"
    )
    assert unreachable.returncode == 2
    written = [path.read_text(errors="replace") + path.name for path in tmp_path.rglob("*") if path.is_file()]
    assert token not in result.stderr and "?token=... (the token in" in result.stderr  # logs keep no token
    for text in [
        page,
        counts,
        result.stdout,
        result.stderr,
        unreachable.stderr,
        *written,
        *(path.name for path in (tmp_path / "alerts").iterdir()),
    ]:
        assert "secret" not in text
    assert "user:***@" in page and "user:***@" in unreachable.stderr


@pytest.mark.slow
def test_a_camera_address_from_the_environment_stays_out_of_the_process_list(tmp_path):
    camera = _MjpegCamera(frames=200)
    secret_address = f"http://user:secret@127.0.0.1:{camera.port}/live.mjpg"
    heartbeat = tmp_path / "heartbeat.json"
    run = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "detect_mask_video.py"),
            "-s",
            "env:DOOR_CAMERA",
            "--no-display",
            "--heartbeat",
            heartbeat,
            "--max-frames",
            "150",
        ],
        env={**os.environ, "DOOR_CAMERA": secret_address},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not heartbeat.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert run.poll() is None, run.communicate()[1]
        command_line = Path(f"/proc/{run.pid}/cmdline").read_bytes().decode()  # what ps and top show
        _, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
        camera.close()
    assert run.returncode == 0, stderr
    assert "env:DOOR_CAMERA" in command_line and "secret" not in command_line + stderr
    assert json.loads(heartbeat.read_text())["frames"] == 150
    unset = run_script("detect_mask_video.py", "-s", "env:NO_SUCH_CAMERA_VARIABLE", "--no-display")
    assert_one_line_error(unset, "NO_SUCH_CAMERA_VARIABLE", "not set")
    assert unset.returncode == 2


def _wait_counts(port, cookie, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/counts", headers={"Host": "127.0.0.1", "Cookie": f"{COOKIE}={cookie}"})
            text = connection.getresponse().read().decode()
            if '"frames"' in text:
                return text
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise AssertionError("no counts")


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Chromium is not installed")
def test_the_page_over_https_after_the_token_exchange(tmp_path):
    from crossing import make_crossing_video
    from playwright.sync_api import sync_playwright

    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            tmp_path / "key.pem",
            "-out",
            tmp_path / "cert.pem",
        ],
        check=True,
        capture_output=True,
    )
    door = tmp_path / "door.avi"
    make_crossing_video(door, repeats=6)
    secret_file, token = token_file(tmp_path)
    port = free_port()
    runs = []
    worker = threading.Thread(
        target=lambda: runs.append(
            run_script(
                "detect_mask_video.py",
                "-s",
                door,
                "--no-display",
                "--serve",
                port,
                "--serve-token-file",
                secret_file,
                "--serve-cert",
                tmp_path / "cert.pem",
                "--serve-key",
                tmp_path / "key.pem",
            )
        )
    )
    worker.start()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        tab = browser.new_page(bypass_csp=True, ignore_https_errors=True, viewport={"width": 900, "height": 620})
        tab.goto(f"https://127.0.0.1:{port}/?token={token}")
        assert tab.url == f"https://127.0.0.1:{port}/"  # the token left the address
        tab.wait_for_function("document.getElementById('stream-0').naturalWidth > 0", timeout=30_000)
        tab.wait_for_function("document.getElementById('counts-0').textContent.includes('people:')", timeout=30_000)
        cookies = tab.context.cookies()
        assert any(c["name"] == COOKIE and c["httpOnly"] and c["secure"] and c["sameSite"] == "Strict" for c in cookies)
        shot = ROOT / "test-artifacts" / "live_page_https.png"
        shot.parent.mkdir(exist_ok=True)
        tab.screenshot(path=str(shot))
        browser.close()
    worker.join(timeout=120)
    assert runs[0].returncode == 0, runs[0].stderr
    assert shot.stat().st_size > 10_000


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    path=st.one_of(
        st.sampled_from(ROUTES + ["/stream/1", "/stream/\u00b2", "//", "/counts/", "/%2e%2e/", "/favicon.ico"]),
        st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20).map(lambda t: "/" + t),
    ),
    headers=st.dictionaries(
        st.sampled_from(["X-A", "Cookie", "Range", "Accept", "Authorization", "Host"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        max_size=4,
    ),
)
def test_only_the_known_routes_ever_answer(shared_page, path, headers):
    page = shared_page
    port = int(page.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        lines = [f"GET {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers.items()]
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status = client.recv(64).split(b" ")[1:2]
    if status == [b"200"]:
        assert path.split("?")[0] in ROUTES and headers.get("Cookie", "").endswith(Access(TOKEN).cookie_value)


@pytest.fixture(scope="module")
def shared_page():
    """One page for every Hypothesis example, closed after them."""
    server = _serve_one_frame("door", max_clients=200)
    yield server
    server.close()
