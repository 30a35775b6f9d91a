"""A live page: each source's annotated stream (MJPEG) and its live counts, served with the standard library.

The video loop publishes every annotated frame and its counts to a LiveFeed; the server sends the
newest frame to each open page and the counts as JSON, which the page polls every second.
"""

import html
import json
import logging
import threading

import cv2

from maskdetect.errors import InputError
from maskdetect.io.redact import redacted
from maskdetect.io.web import DEFAULT_HOST, GuardedHandler, GuardedServer, access_for

logger = logging.getLogger(__name__)
JPEG_QUALITY = 80
# How long a stream waits for a new frame before it checks whether the run has ended.
FRAME_WAIT_S = 1.0


def parse_address(text):
    """'[HOST:]PORT' as (host, port); the host defaults to 127.0.0.1, so the page is not on the network unless asked."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise InputError(f"a live page address is [HOST:]PORT, got {text!r}")
    return host or DEFAULT_HOST, number


class LiveFeed:
    """The newest annotated frame and counts of each source, handed from the video loops to the server."""

    def __init__(self, names):
        self.names = [redacted(name) for name in names]
        self._frames = [None] * len(self.names)
        self._versions = [0] * len(self.names)
        self._counts = [{} for _ in self.names]
        self._changed = threading.Condition()
        self.closed = False

    def publish(self, source, frame, counts):
        """Hand over source ``source``'s newest annotated frame (BGR) and its counts."""
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        with self._changed:
            if ok:
                self._frames[source] = jpeg.tobytes()
                self._versions[source] += 1
            self._counts[source] = counts
            self._changed.notify_all()

    def next_frame(self, source, seen_version):
        """(version, JPEG bytes) newer than ``seen_version``; (seen_version, None) when none came within
        FRAME_WAIT_S; None once the feed is closed."""
        with self._changed:
            if self._versions[source] == seen_version and not self.closed:
                self._changed.wait(FRAME_WAIT_S)
            if self.closed:
                return None
            if self._versions[source] == seen_version:
                return seen_version, None
            return self._versions[source], self._frames[source]

    def counts(self):
        with self._changed:
            return [{"source": name, **counts} for name, counts in zip(self.names, self._counts)]

    def close(self):
        with self._changed:
            self.closed = True
            self._changed.notify_all()


def page_number(text):
    """The number in a page path (/stream/3), or None: ASCII digits only ('²' is a digit to str.isdigit)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None


class LivePageServer:
    """Serves the page at http(s)://HOST:PORT/ on a background thread until closed, to those ``access`` lets in."""

    def __init__(self, feed, host=DEFAULT_HOST, port=8000, access=None):
        handler = type("LivePageHandler", (_Handler,), {"feed": feed})
        self._server = GuardedServer((host, port), handler, access or access_for(host), "live page")
        self.feed = feed
        self.url = self._server.url
        self.token = self._server.access.token

    def close(self):
        self.feed.close()
        self._server.close()


class _Handler(GuardedHandler):
    feed = None

    def route(self, path):
        if path == "/":
            self.send(200, "text/html; charset=utf-8", _page(self.feed.names).encode())
        elif path == "/counts":
            self.send(200, "application/json", json.dumps(self.feed.counts()).encode())
        elif path.startswith("/stream/") and page_number(path[8:]) is not None and page_number(path[8:]) < len(self.feed.names):
            with self.stream_slot() as slot:
                if slot:
                    self._stream(page_number(path[8:]))
        else:
            self.send(404, "text/plain", b"not found\n")

    def _stream(self, source):
        self.start_stream("multipart/x-mixed-replace; boundary=frame")
        version = 0
        try:
            while (update := self.feed.next_frame(source, version)) is not None:
                version, jpeg = update
                if jpeg is None:
                    if self.client_gone():
                        return
                    continue
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                self.wfile.write(jpeg + b"\r\n")
        except OSError:
            pass  # the page was closed, or stopped reading for CLIENT_TIMEOUT_S


def _page(names):
    figures = "\n".join(
        f'<figure><img id="stream-{i}" src="/stream/{i}" alt="{html.escape(name)}">'
        f'<figcaption><b>{html.escape(name)}</b> <span id="counts-{i}">waiting for frames</span></figcaption></figure>'
        for i, name in enumerate(names)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mask detector: live</title>
<style>
body {{ font-family: sans-serif; margin: 1em; background: #f4f4f4; }}
main {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ flex: 0 1 640px; margin: 0; background: white; padding: .5em; box-shadow: 0 1px 3px #0003; overflow-wrap: anywhere; }}
img {{ display: block; max-width: 100%; width: 640px; }}
</style></head>
<body><h1>Mask detector: live</h1><main>
{figures}
</main>
<script>
async function refresh() {{
  try {{
    const sources = await (await fetch("/counts", {{cache: "no-store"}})).json();
    sources.forEach((s, i) => {{
      if (s.frames === undefined) return;
      const people = Object.entries(s.people || {{}}).map(([k, v]) => `${{v}} ${{k}}`).join(", ");
      document.getElementById(`counts-${{i}}`).textContent =
        `frame ${{s.frames}}, people: ${{people || "none"}}, masked share ${{s.masked_share ?? "-"}}, alerts ${{s.alerts}}`;
    }});
  }} catch (error) {{ /* the run has ended */ }}
}}
setInterval(refresh, 1000);
refresh();
</script></body></html>
"""
