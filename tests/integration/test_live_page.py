"""The live page in a real headless browser: it loads, frames arrive, counts update."""

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, free_port, run_script
from crossing import make_crossing_video
from helpers.pages import CHROMIUM, CHROMIUM_FLAGS, token_file, wait_until_served

pytestmark = pytest.mark.slow

SCREENSHOT = ROOT / "test-artifacts" / "live_page.png"


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Chromium is not installed")
def test_the_live_page_shows_two_sources_side_by_side_with_counts_that_update(tmp_path):
    from playwright.sync_api import sync_playwright

    doors = [tmp_path / "door1.avi", tmp_path / "door2.avi"]
    make_crossing_video(doors[0], repeats=4)
    make_crossing_video(doors[1], repeats=3)
    port = free_port()
    runs = []
    secret, token = token_file(tmp_path)
    worker = threading.Thread(
        target=lambda: runs.append(
            run_script(
                "detect_mask_video.py",
                "-s",
                doors[0],
                "-s",
                doors[1],
                "--no-display",
                "--serve",
                port,
                "--serve-token-file",
                secret,
                "--json",
                tmp_path / "events.jsonl",
                "--stats-csv",
                tmp_path / "people.csv",
            )
        )
    )
    worker.start()
    url = f"http://127.0.0.1:{port}/?token={token}"
    assert "Mask detector: live" in wait_until_served(url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(bypass_csp=True, viewport={"width": 1400, "height": 640})
        page.goto(url)
        for source in (0, 1):
            page.wait_for_function(f"document.getElementById('stream-{source}').naturalWidth === 640", timeout=30_000)
            page.wait_for_function(f"document.getElementById('counts-{source}').textContent.includes('people:')", timeout=30_000)
        first = page.text_content("#counts-0")
        page.wait_for_function(
            "(first) => document.getElementById('counts-0').textContent !== first && "
            "/[1-9]\\d* (with_mask|without_mask)/.test(document.getElementById('counts-0').textContent)",
            arg=first,
            timeout=30_000,
        )
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    worker.join(timeout=120)
    (result,) = runs
    assert result.returncode == 0, result.stderr
    assert SCREENSHOT.stat().st_size > 10_000
    # Each source has its own tracks and counts, in its own numbered outputs.
    for number, repeats in ((1, 4), (2, 3)):
        rows = (tmp_path / f"people-{number}.csv").read_text().splitlines()
        assert rows[-1].startswith(f"all,{2 * repeats},{3 * repeats},"), rows[-1]
        assert (tmp_path / f"events-{number}.jsonl").is_file()
    assert "== " in result.stdout and result.stdout.count("people seen:") == 2


def _rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _hostile_clients(port, stop, counts, cookie, at_once=8):
    """50 viewers, up to ``at_once`` watching together, that read a little of the stream and vanish (half with a
    reset), and garbage requests; fewer if the run ends (``stop``) first."""
    import struct

    garbage = [
        b"GARBAGE\r\n\r\n",
        b"GET /stream/\xb2 HTTP/1.1\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(300)) + b"\r\n",
        b"\x16\x03\x01\x00\xa5",
    ]
    number, watching = 0, []
    while not stop.is_set() and counts["clients"] + counts["refused"] < 50:
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            if number % 2:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            if number % 5 == 4:
                client.sendall(garbage[(number // 5) % len(garbage)])
                counts["garbage"] += 1
            else:
                client.sendall(
                    b"GET /stream/0 HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: maskdetect_session=%s\r\n\r\n" % cookie.encode()
                )
                counts["refused" if b" 503 " in client.recv(4096)[:20] else "clients"] += 1
            watching.append(client)
            if len(watching) > at_once:
                watching.pop(0).close()
        except OSError:
            pass
        number += 1
        time.sleep(0.05)
    for client in watching:
        client.close()


def test_the_live_page_shrugs_off_viewers_that_vanish_and_garbage_requests(tmp_path):
    door = tmp_path / "door.avi"
    make_crossing_video(door, repeats=8)

    def run(serve):
        port = free_port()
        from maskdetect.serve.access import Access

        secret, token = token_file(tmp_path)
        arguments = ["detect_mask_video.py", "-s", door, "--no-display", "--json", tmp_path / f"events-{serve}.jsonl"]
        serving = ["--serve", port, "--serve-token-file", secret, "--serve-max-clients", 4] if serve else []
        runs, stop, counts = [], threading.Event(), {"clients": 0, "refused": 0, "garbage": 0}
        worker = threading.Thread(target=lambda: (runs.append(run_script(*arguments, *serving)), stop.set()))
        rss_before = _rss_mb()
        worker.start()
        if serve:
            wait_until_served(f"http://127.0.0.1:{port}/?token={token}")
            _hostile_clients(port, stop, counts, Access(token).cookie_value)
        worker.join(timeout=300)
        (result,) = runs
        summary = [json.loads(line) for line in (tmp_path / f"events-{serve}.jsonl").read_text().splitlines()][-1]
        return result, summary["median_fps"], counts, _rss_mb() - rss_before

    quiet, quiet_fps, _, _ = run(serve=False)
    loaded, loaded_fps, counts, grown = run(serve=True)
    print(
        f"median FPS without viewers {quiet_fps}, with 50 vanishing viewers ({counts['refused']} refused with 503 "
        f"beyond the cap of 4) and {counts['garbage']} garbage requests {loaded_fps} ({loaded_fps / quiet_fps:.2f}x); "
        f"memory grew {grown:.0f} MB"
    )
    assert quiet.returncode == loaded.returncode == 0, loaded.stderr
    assert counts["clients"] + counts["refused"] == 50 and counts["clients"] > 0 and counts["garbage"] >= 5
    assert "Traceback" not in loaded.stderr and "Error" not in loaded.stderr, loaded.stderr
    assert loaded_fps >= 0.8 * quiet_fps
    assert grown < 200
