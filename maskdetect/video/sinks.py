"""What a video run does with each frame's result: each consumer has ``write(result)`` and ``close()``.

Every one that owns a file writes it beside its final path and moves it in place when closed, so
an interrupted run leaves complete outputs. Each is a context manager.
"""

import json
import logging
import sys
import time
from pathlib import Path

import cv2
from tqdm import tqdm

from maskdetect.errors import InputError
from maskdetect.io.atomic import (
    atomic_output,
    commit,
    remove_temporary,
    temporary_sibling,
)
from maskdetect.io.images import write_image
from maskdetect.io.records import JsonLinesWriter, alert_record, frame_record

logger = logging.getLogger(__name__)
CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}
# A recording of a live source is written at the rate measured over its first frames.
RATE_FRAMES, RATE_SECONDS = 30, 2.0
# The live page's counts go over every person seen: recounted at most this often (seconds), not every frame.
LIVE_COUNTS_S = 0.5
# How often the heartbeat file is rewritten while frames come (seconds).
HEARTBEAT_EVERY_S = 2.0


class Sink:
    """A consumer of frame results. ``write`` returns True to end the run (the window's q key)."""

    def write(self, result):
        raise NotImplementedError

    def close(self):
        """Finish the output (also after Ctrl+C)."""

    def discard(self):
        """After a failure: leave the previous output as it was (by default, finish as usual)."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is None or issubclass(kind, KeyboardInterrupt):
            self.close()
        else:
            self.discard()


def snapshot_name(frame, track_id, camera=None):
    """The file name of an alert's snapshot: its frame and person, and its camera's number on a cluster."""
    return f"{'' if camera is None else f'camera{camera}-'}alert-{frame:06d}-person{track_id}.jpg"


def say_alert(track_id, label, frames, frame, seconds, camera=""):
    """The alert line on stderr; ``camera``: which camera, for a run of many ("camera 2 (rtsp://...)")."""
    logger.warning(
        "ALERT: %sperson #%d is %s, for %d frames (frame %d, %.1f s)",
        f"{camera}: " if camera else "",
        track_id,
        label,
        frames,
        frame,
        seconds,
    )


class AlertSink(Sink):
    """Says each alert on stderr, rings with ``beep``, and saves the annotated frame into ``snapshots``."""

    def __init__(self, snapshots=None, beep=False):
        self.snapshots = snapshots
        self.beep = beep

    def write(self, result):
        for person in result.alerts:
            say_alert(person.track_id, person.label, person.alerting_frames, result.index, result.time)
            if self.beep:
                sys.stderr.write("\a")
                sys.stderr.flush()
            if self.snapshots:
                snapshot = Path(self.snapshots) / snapshot_name(result.index, person.track_id)
                try:
                    write_image(result.frame, snapshot)
                except OSError as error:
                    raise InputError(f"cannot write the snapshot {snapshot}: {error.strerror or error}") from None
                result.snapshots[person.track_id] = snapshot


class JsonLinesSink(Sink):
    """A JSON line per frame and per alert, and the summary last: to stdout ('-'), or to a file written beside
    its path and moved in place when closed."""

    def __init__(self, path, summary):
        self.path = path
        self.summary = summary
        self._lines = JsonLinesWriter(path)

    def write(self, result):
        self._lines.write(frame_record(result.index, result.time, result.faces))
        for person in result.alerts:
            self._lines.write(
                alert_record(
                    result.index,
                    result.time,
                    person.label,
                    person.alerting_frames,
                    person.track_id,
                    result.snapshots.get(person.track_id),
                )
            )

    def close(self):
        self._lines.write(self.summary.as_record())
        self._lines.close()

    def discard(self):
        self._lines.discard()


class VideoSink(Sink):
    """An annotated video written beside its final path, moved in place when closed.

    ``fps`` None (a live source) measures the rate from the first frames written,
    so that the recording plays at real speed.
    """

    def __init__(self, path, fps=None):
        self.path = Path(path)
        self.fps = fps
        self.frames = 0
        self._temporary = temporary_sibling(self.path, self.path.suffix)
        self._writer = None
        self._pending = []
        self._size, self._resized = None, False

    def write(self, result):
        frame, now = result.frame, result.time
        if self._writer is None:
            self._pending.append((frame.copy(), now))
            first = self._pending[0][1]
            if self.fps is None and len(self._pending) < RATE_FRAMES and now - first < RATE_SECONDS:
                return
            self._open()
        else:
            self._write(frame)

    def _write(self, frame):
        if frame.shape[:2] != self._size:
            if not self._resized:
                logger.warning(
                    "the frames of the source changed size from %dx%d to %dx%d: recorded at the first size",
                    self._size[1],
                    self._size[0],
                    frame.shape[1],
                    frame.shape[0],
                )
                self._resized = True
            frame = cv2.resize(frame, (self._size[1], self._size[0]), interpolation=cv2.INTER_AREA)
        self._writer.write(frame)
        self.frames += 1

    def _open(self):
        if self.fps is None:
            span = self._pending[-1][1] - self._pending[0][1]
            self.fps = (len(self._pending) - 1) / span if span > 0 and len(self._pending) > 1 else 10.0
        height, width = self._size = self._pending[0][0].shape[:2]
        codec = CODECS[self.path.suffix.lower()]
        self._writer = cv2.VideoWriter(str(self._temporary), cv2.VideoWriter_fourcc(*codec), self.fps, (width, height))
        if not self._writer.isOpened():
            raise InputError(f"cannot write video {self.path} with codec {codec}")
        for frame, _ in self._pending:
            self._write(frame)
        self._pending = []

    def close(self):
        if self._pending:
            self._open()
        if self._writer is not None:
            self._writer.release()
        if self.frames:
            # OpenCV's writer fails silently (a full disk): the file must hold every frame before it replaces one.
            written = _frame_count(self._temporary)
            if written < self.frames:
                remove_temporary(self._temporary)
                raise InputError(
                    f"cannot write {self.path}: {written} of {self.frames} frames reached the disk "
                    "(is it full?); the previous one is kept"
                )
            commit(self._temporary, self.path)
        remove_temporary(self._temporary)

    def discard(self):
        if self._writer is not None:
            self._writer.release()
        remove_temporary(self._temporary)


def _frame_count(path):
    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()


class LiveSink(Sink):
    """Hands each annotated frame, and the counts ``counts()`` gives (at most every LIVE_COUNTS_S), to the live page."""

    def __init__(self, feed, source_number, counts):
        self.feed = feed
        self.source_number = source_number
        self._counts = counts
        self._latest, self._counted_at = {}, None

    def write(self, result):
        if self._counted_at is None or time.perf_counter() - self._counted_at >= LIVE_COUNTS_S:
            self._latest = self._counts()
            self._counted_at = time.perf_counter()
        self.feed.publish(self.source_number, result.frame, self._latest)


class HeartbeatSink(Sink):
    """Writes the time and frame count to ``path`` every HEARTBEAT_EVERY_S while frames come: a health check
    (``python -m maskdetect health PATH``) tells a running loop from one that has stalled."""

    def __init__(self, path):
        self.path = Path(path)
        self._beaten = None
        self.frames = 0

    def write(self, result):
        self.frames += 1
        now = time.time()
        if self._beaten is None or now - self._beaten >= HEARTBEAT_EVERY_S:
            self._beat(now, "running")
            self._beaten = now

    def _beat(self, now, state):
        try:
            with atomic_output(self.path, ".json") as temporary:
                temporary.write_text(
                    json.dumps({"type": "heartbeat", "time": round(now, 3), "frames": self.frames, "state": state}) + "\n"
                )
        except OSError as error:
            raise InputError(f"cannot write the heartbeat {self.path}: {error.strerror or error}") from None

    def close(self):
        self._beat(time.time(), "finished")


class ProgressBar(Sink):
    """A progress bar on stderr, when it is a terminal."""

    def __init__(self, total=None, enabled=True):
        self._bar = tqdm(total=total, unit="frame", disable=None if enabled else True, leave=False)

    def write(self, result):
        self._bar.update()

    def close(self):
        self._bar.close()


class Window(Sink):
    """Shows each frame with the frame rate over the last 30 frames; q or Esc ends the run."""

    TITLE = "Mask detector (q to quit)"

    def __init__(self):
        self._times = []

    def write(self, result):
        self._times = [*self._times[-29:], time.perf_counter()]
        span = self._times[-1] - self._times[0]
        fps = (len(self._times) - 1) / span if span > 0 else 0.0
        cv2.putText(result.frame, f"FPS: {fps:.1f}", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
        try:
            cv2.imshow(self.TITLE, result.frame)
        except cv2.error:
            raise InputError("cannot open a window here; run headless") from None
        return cv2.waitKey(1) & 0xFF in (ord("q"), 27)

    def close(self):
        cv2.destroyAllWindows()
