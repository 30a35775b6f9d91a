"""The dashboard of many cameras: each camera's picture and state, the masked share over time, the latest alerts.

The driver of a camera run (cluster/cameras.py) feeds a Dashboard; a PageServer serves it: the page polls
/state every second, draws the chart itself (an SVG, no script from elsewhere) and shows /camera/N.jpg and
/alert/K.jpg.
"""

import html
import itertools
import threading
import time
from collections import deque
from dataclasses import asdict

from maskdetect.io.redact import redacted
from maskdetect.serve.pages import LatestFrames, PageState

LATEST_ALERTS = 12
# Points of the masked-share chart kept per camera.
CHART_POINTS = 500


class Dashboard(PageState):
    """What the page shows, handed over from the driver's thread to the server's."""

    title = "dashboard"

    def __init__(self, sources):
        self.sources = [redacted(source) for source in sources]
        self._cameras = [{"camera": number, "source": source, "state": "starting"} for number, source in enumerate(self.sources)]
        self._pictures = LatestFrames(len(self.sources))
        self._shares = [deque(maxlen=CHART_POINTS) for _ in self.sources]
        self._notes = [deque(maxlen=5) for _ in self.sources]
        self._alerts = deque(maxlen=LATEST_ALERTS)
        self._alert_pictures = {}
        self._lock = threading.Lock()
        self._number = itertools.count()

    def update_cameras(self, cameras):
        with self._lock:
            self._cameras = [{**asdict(camera), "source": redacted(camera.source)} for camera in cameras]

    def picture(self, camera, jpeg):
        self._pictures.put(camera, jpeg)

    def share(self, camera, seconds, share):
        with self._lock:
            self._shares[camera].append((round(seconds, 1), share))

    def note(self, camera, text):
        with self._lock:
            self._notes[camera].append(f"{time.strftime('%H:%M:%S')} {text}")

    def alert(self, event, jpeg):
        with self._lock:
            number = next(self._number)
            self._alerts.appendleft(
                {
                    **{key: event[key] for key in ("camera", "frame", "time", "track_id", "label")},
                    "id": number,
                    "at": time.strftime("%H:%M:%S"),
                }
            )
            self._alert_pictures[number] = jpeg
            kept = {alert["id"] for alert in self._alerts}
            self._alert_pictures = {key: value for key, value in self._alert_pictures.items() if key in kept}

    def state(self):
        with self._lock:
            return {
                "cameras": [
                    {**camera, "share_series": list(shares), "notes": list(notes)}
                    for camera, shares, notes in zip(self._cameras, self._shares, self._notes)
                ],
                "alerts": list(self._alerts),
            }

    def camera_picture(self, camera):
        return self._pictures.latest(camera)

    def alert_picture(self, number):
        with self._lock:
            return self._alert_pictures.get(number)

    def json_routes(self):
        return {"/state": self.state}

    def picture_routes(self):
        return {"/camera/": self.camera_picture, "/alert/": self.alert_picture}

    def html(self):
        return _page(self.sources)


# The page; {cards} is a section per camera (doubled braces are the CSS's and the script's own).
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mask detector: every camera</title>
<style>
body {{ font-family: sans-serif; margin: 1em; background: #f4f4f4; }}
main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1em; }}
section {{ background: white; padding: .5em; box-shadow: 0 1px 3px #0003; overflow-wrap: anywhere; }}
h2 {{ font-size: 1em; margin: 0 0 .3em; }}
img {{ display: block; width: 100%; min-height: 120px; background: #ddd; }}
.online {{ color: #087f23; }} .reconnecting, .restarting, .starting {{ color: #b26a00; }} .finished {{ color: #555; }}
.notes {{ color: #b00020; font-size: .9em; }}
#chart {{ background: white; width: 100%; height: 220px; box-shadow: 0 1px 3px #0003; }}
#alerts {{ display: flex; flex-wrap: wrap; gap: .5em; list-style: none; padding: 0; }}
#alerts li {{ background: white; padding: .3em; box-shadow: 0 1px 3px #0003; font-size: .85em; width: 200px; }}
#alerts img {{ min-height: 0; }}
</style></head>
<body><h1>Mask detector: every camera</h1>
<main>
{cards}
</main>
<h2>Masked share over time (seconds of each camera's video or stream)</h2>
<svg id="chart" viewBox="0 0 1000 220" preserveAspectRatio="none" role="img" aria-label="masked share over time"></svg>
<h2>Latest alerts</h2>
<ul id="alerts"><li id="no-alerts">none yet</li></ul>
<script>
const COLOURS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#4e342e", "#37474f"];
let seenAlerts = "";
function drawChart(cameras) {{
  const svg = document.getElementById("chart");
  const times = cameras.flatMap(c => c.share_series.map(p => p[0]));
  const end = Math.max(1, ...times);
  let shapes = '<line x1="0" y1="210" x2="1000" y2="210" stroke="#999"/><text x="4" y="14" font-size="12">100%</text>'
    + '<text x="4" y="206" font-size="12">0%</text>';
  cameras.forEach((c, i) => {{
    const points = c.share_series.filter(p => p[1] !== null)
      .map(p => `${{(p[0] / end * 990 + 5).toFixed(1)}},${{(210 - p[1] * 200).toFixed(1)}}`).join(" ");
    if (points) shapes += `<polyline class="series" data-camera="${{i}}" fill="none" stroke-width="2" stroke="${{COLOURS[i % 8]}}" points="${{points}}"/>`;
    shapes += `<text x="${{80 + 160 * i}}" y="14" font-size="12" fill="${{COLOURS[i % 8]}}">camera ${{i}}</text>`;
  }});
  svg.innerHTML = shapes;
}}
async function refresh() {{
  let state;
  try {{ state = await (await fetch("/state", {{cache: "no-store"}})).json(); }} catch (error) {{ return; }}
  state.cameras.forEach((c, i) => {{
    const label = document.getElementById(`state-${{i}}`);
    const share = c.masked_share === null || c.masked_share === undefined ? "-" : `${{Math.round(c.masked_share * 100)}}%`;
    label.className = `state ${{c.state}}`;
    label.textContent = `${{c.state}} · ${{c.fps ?? 0}} FPS · frame ${{c.frames ?? 0}} · masked ${{share}} · alerts ${{c.alerts ?? 0}}`
      + (c.restarts ? ` · restarted ${{c.restarts}}x` : "") + (c.error ? ` · ${{c.error}}` : "");
    document.getElementById(`notes-${{i}}`).textContent = c.notes.join(" · ");
    if (c.frames) document.getElementById(`picture-${{i}}`).src = `/camera/${{i}}.jpg?t=${{Date.now()}}`;
  }});
  drawChart(state.cameras);
  const ids = state.alerts.map(a => a.id).join(",");
  if (ids !== seenAlerts) {{
    seenAlerts = ids;
    document.getElementById("alerts").innerHTML = state.alerts.map(a =>
      `<li class="alert"><img src="/alert/${{a.id}}.jpg" alt="alert ${{a.id}}"><br>${{a.at}} camera ${{a.camera}}: `
      + `person #${{a.track_id}} ${{a.label.replaceAll("_", " ")}} (frame ${{a.frame}})</li>`).join("")
      || '<li id="no-alerts">none yet</li>';
  }}
}}
setInterval(refresh, 1000);
refresh();
</script></body></html>
"""


def _page(sources):
    cards = "\n".join(
        f'<section class="camera" id="camera-{number}"><h2>{html.escape(source)}</h2>'
        f'<img id="picture-{number}" alt="camera {number}"><p class="state" id="state-{number}">starting</p>'
        f'<p class="notes" id="notes-{number}"></p></section>'
        for number, source in enumerate(sources)
    )
    return _PAGE.format(cards=cards)
