"""The live page in a real headless browser: it loads, frames arrive, counts update."""

import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, run_script
from crossing import make_crossing_video

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium as root in a container, with no network to phone home to.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "test-artifacts" / "live_page.png"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_served(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing served at {url}")


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Chromium is not installed")
def test_the_live_page_shows_two_sources_side_by_side_with_counts_that_update(tmp_path):
    from playwright.sync_api import sync_playwright

    doors = [tmp_path / "door1.avi", tmp_path / "door2.avi"]
    make_crossing_video(doors[0], repeats=4)
    make_crossing_video(doors[1], repeats=3)
    port = free_port()
    runs = []
    worker = threading.Thread(target=lambda: runs.append(run_script(
        "detect_mask_video.py", "-s", doors[0], "-s", doors[1], "--no-display", "--serve", port,
        "--json", tmp_path / "events.jsonl", "--stats-csv", tmp_path / "people.csv",
    )))
    worker.start()
    url = f"http://127.0.0.1:{port}/"
    assert "Mask detector: live" in wait_until_served(url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 640})
        page.goto(url)
        for source in (0, 1):
            page.wait_for_function(f"document.getElementById('stream-{source}').naturalWidth === 640", timeout=30_000)
            page.wait_for_function(f"document.getElementById('counts-{source}').textContent.includes('people:')", timeout=30_000)
        first = page.text_content("#counts-0")
        page.wait_for_function(
            "(first) => document.getElementById('counts-0').textContent !== first && "
            "/[1-9]\\d* (with_mask|without_mask)/.test(document.getElementById('counts-0').textContent)",
            arg=first, timeout=30_000,
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
