"""Many cameras on Ray actors: each watcher runs several sources as threads sharing one detector.

A source keeps its own tracks, alerts and statistics inside its watcher. The driver polls the
watchers a few times a second and gathers what they saw in one place: the JSON lines, the alert
snapshots, the statistics files and the dashboard. Ray restarts a watcher whose process dies;
the driver then sets its sources going again (a file from the frame it had reached, a live source
where it is now) and the dashboard counts the restart.
"""

import itertools
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

import cv2

from maskdetect.errors import InputError
from maskdetect.io.images import write_image
from maskdetect.io.records import (
    JsonLinesWriter,
    alert_record,
    frame_record,
    summary_record,
)
from maskdetect.io.redact import redacted
from maskdetect.video.sinks import say_alert, snapshot_name

logger = logging.getLogger(__name__)

# How often the driver asks each watcher for news, and how long it waits for an answer.
POLL_SECONDS = 0.25
POLL_TIMEOUT_S = 10.0
# A watcher sends a new annotated JPEG of each source at most this often.
PICTURE_EVERY_S = 0.2
JPEG_QUALITY = 75
# A source that cannot be opened, or ends while live, is tried again after this long (doubling up to the most).
RECONNECT_S, RECONNECT_MOST_S = 1.0, 30.0
# A watcher asks a little less than a CPU, like the archive's actors: Ray's own tasks always find room.
WATCHER_CPUS = 0.9


@dataclass
class _Source:
    """One source inside a watcher: its thread and what it has seen."""

    camera: int
    source: str
    state: str = "starting"
    frames: int = 0
    fps: float = 0.0
    error: str | None = None
    picture: bytes | None = None
    picture_sent: bool = True
    summary: dict | None = None
    # The monotonic time of the source's time 0 (a live source's times run on across reconnections).
    origin: float = 0.0
    thread: threading.Thread | None = field(default=None, repr=False)


class CameraWatcher:
    """A Ray actor: one detector shared by the threads that watch its sources."""

    def __init__(self, settings):
        """``settings``: the run's VideoSettings (its detector, alert rule, blur, frame limit, statistics)."""
        from maskdetect.pipeline import load_detector
        from maskdetect.video.loop import alert_rule, annotators

        self.detector = load_detector(replace(settings.detector, classifier_threads=1, face_detector_threads=1))
        self.settings = settings
        self.annotators = annotators(self.detector.class_names, settings)
        self.compliant, self.alerting = alert_rule(self.detector.class_names, settings)
        self.pid = os.getpid()
        self._sources, self._events = {}, deque()
        self._lock, self._stop = threading.Lock(), threading.Event()
        cv2.setNumThreads(1)

    def watch(self, camera, source, start_frame=0, start_seconds=0.0):
        """Start watching ``source`` as camera number ``camera`` (unless it is watched already), numbering its
        frames from ``start_frame`` and its times from ``start_seconds`` (a file resumes at that frame)."""
        with self._lock:
            if camera in self._sources:
                return self.pid
            watched = self._sources[camera] = _Source(camera, source, frames=start_frame)
            watched.origin = time.monotonic() - start_seconds
        watched.thread = threading.Thread(target=self._watch, args=(watched, start_frame), daemon=True)
        watched.thread.start()
        return self.pid

    def poll(self):
        """What happened since the last poll: the events, and each source's state (and new picture)."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
            states = {}
            for camera, watched in self._sources.items():
                states[camera] = {
                    "state": watched.state,
                    "frames": watched.frames,
                    "fps": watched.fps,
                    "error": watched.error,
                    "picture": None if watched.picture_sent else watched.picture,
                }
                watched.picture_sent = True
        return {"pid": self.pid, "sources": states, "events": events}

    def finish(self):
        """Stop every source and give each one's summary (its counts and per-minute statistics)."""
        self._stop.set()
        for watched in list(self._sources.values()):
            if watched.thread is not None:
                watched.thread.join(timeout=10)
        return {camera: watched.summary for camera, watched in self._sources.items()}

    def _emit(self, event):
        with self._lock:
            self._events.append(event)

    def _watch(self, watched, skip_frames):
        from maskdetect.video.sources import FrameReader
        from maskdetect.video.statistics import people_statistics
        from maskdetect.video.summary import VideoSummary

        summary, people, wait = VideoSummary(self.alerting), [], RECONNECT_S
        while not self._stop.is_set():
            try:
                reader = FrameReader(watched.source)
            except InputError as error:
                watched.state, watched.error = "reconnecting", str(error)
                self._stop.wait(wait)
                wait = min(2 * wait, RECONNECT_MOST_S)
                continue
            watched.state, watched.error, wait = "online", None, RECONNECT_S
            try:
                tracker = self._run(watched, reader, summary, skip_frames if reader.is_file else 0)
            except Exception as error:
                watched.error = redacted(f"{type(error).__name__}: {error}")
                logger.exception("camera %d failed", watched.camera)
                break
            finally:
                reader.close()
            people.extend(tracker.people.values())
            skip_frames = 0
            limit_reached = self.settings.max_frames is not None and watched.frames >= self.settings.max_frames
            if reader.is_file or limit_reached or self._stop.is_set():
                break
            watched.state, watched.error = "reconnecting", "the stream ended"
            self._stop.wait(wait)
        watched.state = "finished"
        summary.statistics = people_statistics(people, self.detector.class_names, self.compliant)
        watched.summary = {"camera": watched.camera, "source": redacted(watched.source), **summary.as_record()}
        self._emit({"type": "finished", "camera": watched.camera})

    def _statistics(self, watched, tracker, seconds):
        """The people counts and masked share of a source so far: a point of the dashboard's chart."""
        from maskdetect.video.statistics import people_counts

        counts = people_counts(tracker.people.values(), self.detector.class_names, self.compliant)
        self._emit({"type": "statistics", "camera": watched.camera, "time": round(seconds, 3), **counts})

    def _run(self, watched, reader, summary, skip_frames):
        """Watch one connection to a source until it ends; returns its tracker (the people it saw)."""
        from maskdetect.video.alerts import PersonAlerts
        from maskdetect.video.loop import ASSUMED_FPS, analyse_frames, annotated
        from maskdetect.video.tracking import FaceTracker

        settings = self.settings
        frame_rate = reader.fps or ASSUMED_FPS
        tracker = FaceTracker(frame_rate, settings.alert_frames)
        alerts = PersonAlerts(self.alerting, settings.alert_frames, settings.realert_s)
        frames = itertools.islice(reader.frames(self._stop), skip_frames, None)
        if settings.max_frames is not None:
            frames = itertools.islice(frames, max(0, settings.max_frames - watched.frames))
        # Frame numbers and times run on across reconnections and restarts: a file's from the frame it resumes
        # at, a live source's from its first connection.
        first_index = watched.frames
        offset = skip_frames / frame_rate if reader.is_file else time.monotonic() - watched.origin
        pictured = counted = seconds = None
        results = analyse_frames(self.detector, frames, tracker, alerts, frame_rate if reader.is_file else None, find_ahead=False)
        for result in annotated(results, self.annotators):
            index, seconds = first_index + result.index, offset + result.time
            summary.write(result)
            self._emit({**frame_record(index, seconds, result.faces), "camera": watched.camera})
            watched.frames, watched.fps = index + 1, round(summary.median_fps, 1)
            now = time.monotonic()
            for person in result.alerts:
                snapshot = _jpeg(result.frame)
                self._emit(
                    {
                        **alert_record(index, seconds, person.label, person.alerting_frames, person.track_id),
                        "camera": watched.camera,
                        "picture": snapshot,
                    }
                )
            if pictured is None or now - pictured >= PICTURE_EVERY_S:
                watched.picture, watched.picture_sent, pictured = _jpeg(result.frame), False, now
            if counted is None or seconds - counted >= settings.cameras.stats_every:
                self._statistics(watched, tracker, seconds)
                counted = seconds
        if counted is not None:
            self._statistics(watched, tracker, seconds)
        return tracker


def _jpeg(frame):
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return data.tobytes() if ok else None


@dataclass
class CameraState:
    """What the driver knows of one camera."""

    camera: int
    source: str
    state: str = "starting"
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    restarts: int = 0
    alerts: int = 0
    error: str | None = None
    people: dict = field(default_factory=dict)
    masked_share: float | None = None
    finished: bool = False


def run_cameras(ray, sources, settings, dashboard=None, stop=None, mqtt=None):
    """Watch ``sources`` on Ray watchers, ``settings.cameras.streams_per_watcher`` each, until every source ends
    or ``stop`` is set; the JSON lines go to ``settings.json_path`` and the alert snapshots into ``settings.snapshots``.

    ``settings``: the run's VideoSettings; ``mqtt``: a connected maskdetect.video.mqtt.CameraEvents per source, or
    None. Returns each camera's summary record (in source order) and the CameraStates.
    """
    stop = stop or threading.Event()
    per_watcher = settings.cameras.streams_per_watcher
    groups = [list(range(start, min(start + per_watcher, len(sources)))) for start in range(0, len(sources), per_watcher)]
    watcher_class = ray.remote(CameraWatcher).options(num_cpus=WATCHER_CPUS, max_restarts=-1, max_task_retries=0)
    watchers = [watcher_class.remote(settings) for _ in groups]
    json_path, snapshots = settings.json_path, settings.snapshots
    # What is shown, written and logged of a camera: its address without credentials.
    cameras = [CameraState(camera, redacted(sources[camera])) for camera in range(len(sources))]
    link = _Gatherer(
        ray,
        watchers,
        groups,
        cameras,
        sources,
        JsonLinesWriter(json_path) if json_path else None,
        snapshots,
        dashboard,
        mqtt or [None] * len(sources),
    )
    try:
        while not stop.is_set() and not all(camera.finished for camera in cameras):
            link.poll(POLL_SECONDS)
            if dashboard is not None:
                dashboard.update_cameras(cameras)
        finals = {}
        for watcher in watchers:
            try:
                finals.update(ray.get(watcher.finish.remote(), timeout=60))
            except ray.exceptions.RayError as error:
                logger.warning("a camera watcher did not answer at the end: %s", str(error).splitlines()[0])
        # What the watchers saw between the last poll and their end.
        link.poll(POLL_SECONDS, until_all=True)
        summaries = [
            finals.get(camera.camera) or {"camera": camera.camera, "source": camera.source, "frames": camera.frames}
            for camera in cameras
        ]
        for summary, camera in zip(summaries, cameras):
            # The counts of a restarted watcher's sources cover its frames since the restart.
            summary.update(frames_in_all=camera.frames, restarts=camera.restarts, interrupted=stop.is_set())
            if link.log is not None:
                link.log.write(summary_record(summary))
            if link.mqtt[camera.camera] is not None:
                link.mqtt[camera.camera].close(summary)
                link.mqtt[camera.camera] = None
    finally:
        if link.log is not None:
            link.log.close()
        for events in link.mqtt:
            if events is not None:
                events.close({"camera": events.camera, "interrupted": True})
        for watcher in watchers:
            ray.kill(watcher)
    return summaries, cameras


# What a camera's state is on MQTT (a retained topic: online, reconnecting or offline).
_MQTT_STATES = {"online": "online", "reconnecting": "reconnecting", "restarting": "reconnecting", "finished": "offline"}


class _Gatherer:
    """The driver's side of its watchers: one poll in flight per watcher, never dropped, so no event is lost."""

    def __init__(self, ray, watchers, groups, cameras, sources, log, snapshots, dashboard, mqtt):
        self.ray, self.watchers, self.groups, self.cameras, self.sources = ray, watchers, groups, cameras, sources
        self.log, self.snapshots, self.dashboard, self.mqtt = log, snapshots, dashboard, mqtt
        self.pids = [None] * len(watchers)
        self.pending = {}

    def poll(self, seconds, until_all=False):
        """Ask every watcher without a question in flight, then take the answers that come within ``seconds``."""
        for number, watcher in enumerate(self.watchers):
            if number not in self.pending:
                self.pending[number] = watcher.poll.remote()
        started = time.monotonic()
        waiting = {reply: number for number, reply in self.pending.items()}
        ready, _ = self.ray.wait(list(waiting), num_returns=len(waiting), timeout=POLL_TIMEOUT_S if until_all else seconds)
        for reply in ready:
            number = waiting[reply]
            del self.pending[number]
            try:
                news = self.ray.get(reply)
            except (self.ray.exceptions.RayActorError, self.ray.exceptions.ActorUnavailableError):
                for camera in self.groups[number]:
                    if not self.cameras[camera].finished:
                        self._set_state(camera, "restarting")
                continue
            self._take(number, news)
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))

    def _set_state(self, camera, state):
        known = self.cameras[camera]
        if state != known.state and self.mqtt[camera] is not None and state in _MQTT_STATES:
            self.mqtt[camera].state(_MQTT_STATES[state])
        known.state = state

    def _take(self, number, news):
        """One watcher's answer: its events to the outputs, its sources' states to the cameras."""
        if self.pids[number] is not None and news["pid"] != self.pids[number]:
            for camera in self.groups[number]:
                self.cameras[camera].restarts += 1
                logger.warning("the watcher of camera %d was restarted (process %d is gone)", camera, self.pids[number])
                if self.log is not None:
                    self.log.write({"type": "restart", "camera": camera, "frames_before": self.cameras[camera].frames})
                if self.dashboard is not None:
                    self.dashboard.note(camera, "watcher restarted")
        self.pids[number] = news["pid"]
        for event in news["events"]:
            _take_event(event, self.cameras, self.log, self.snapshots, self.dashboard, self.mqtt[event["camera"]])
        for camera, state in news["sources"].items():
            known = self.cameras[camera]
            self._set_state(camera, state["state"])
            known.fps, known.error = state["fps"], state["error"]
            if state["picture"] is not None and self.dashboard is not None:
                self.dashboard.picture(camera, state["picture"])
        for camera in self.groups[number]:
            known = self.cameras[camera]
            if camera not in news["sources"] and not known.finished:
                # A new or restarted watcher: set the source going, numbering its frames and times on from the
                # last ones taken here (a file resumes at that frame).
                self.watchers[number].watch.remote(camera, str(self.sources[camera]), known.frames, known.seconds)


def _take_event(event, cameras, log, snapshots, dashboard, mqtt=None):
    camera = cameras[event["camera"]]
    if event["type"] == "finished":
        camera.finished = True
        return
    if event["type"] == "frame":
        camera.frames, camera.seconds = event["frame"] + 1, event["time"]
    if event["type"] == "alert":
        camera.alerts += 1
        picture = event.pop("picture")
        if snapshots and picture is not None:
            path = os.path.join(snapshots, snapshot_name(event["frame"], event["track_id"], camera.camera))
            write_image(cv2.imdecode(_array(picture), cv2.IMREAD_COLOR), path)
            event["snapshot"] = path
        say_alert(
            event["track_id"],
            event["label"],
            event["unmasked_frames"],
            event["frame"],
            event["time"],
            f"camera {camera.camera} ({camera.source})",
        )
        if dashboard is not None:
            dashboard.alert(event, picture)
        if mqtt is not None:
            mqtt.alert({key: event.get(key) for key in ("frame", "time", "track_id", "label", "unmasked_frames", "snapshot")})
    elif event["type"] == "statistics":
        camera.people, camera.masked_share = event["people"], event["masked_share"]
        if dashboard is not None:
            dashboard.share(camera.camera, event["time"], event["masked_share"])
        if mqtt is not None:
            mqtt.publish("stats", {"time": event["time"], "people": event["people"], "masked_share": event["masked_share"]})
    if log is not None:
        log.write(event)


def _array(data):
    import numpy as np

    return np.frombuffer(data, dtype=np.uint8)
