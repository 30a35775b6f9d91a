"""The live page as the tests open it: Debian's Chromium and its flags, the page served behind a token."""

import shutil
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


# Chromium as root in a container, with no network to phone home to.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until_served(url, seconds=60):
    """The page at ``url`` (with its ?token=...), opened as a browser would: the token exchanged for a cookie."""
    import http.cookiejar

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing served at {url}")


def token_file(folder, token="a-test-token-of-thirty-two-chars"):
    path = Path(folder) / "page.token"
    path.write_text(token)
    path.chmod(0o600)
    return path, token
