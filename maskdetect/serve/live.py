"""The live page of one machine's run: each source's annotated stream (MJPEG) and its live counts.

The video loop publishes every annotated frame and its counts to a LiveFeed (video/sinks.py, LiveSink); a
PageServer sends the newest frame to each open page and the counts as JSON at /counts, which the page polls
every second.
"""

import html
import threading

import cv2

from maskdetect.io.redact import redacted
from maskdetect.serve.pages import LatestFrames, PageState

JPEG_QUALITY = 80


class LiveFeed(PageState):
    """The newest annotated frame and counts of each source, handed from the video loops to the server."""

    title = "live page"

    def __init__(self, names):
        self.names = [redacted(name) for name in names]
        self.streams = LatestFrames(len(self.names))
        self._counts = [{} for _ in self.names]
        self._lock = threading.Lock()

    def publish(self, source, frame, counts):
        """Hand over source ``source``'s newest annotated frame (BGR) and its counts."""
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        with self._lock:
            self._counts[source] = counts
        if ok:
            self.streams.put(source, jpeg.tobytes())

    def counts(self):
        with self._lock:
            return [{"source": name, **counts} for name, counts in zip(self.names, self._counts)]

    def json_routes(self):
        return {"/counts": self.counts}

    def html(self):
        return _page(self.names)


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
