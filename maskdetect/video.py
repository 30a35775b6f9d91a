"""Mask detection on a live camera or a video file: frames in, annotated frames and events out."""

import json
import queue
import statistics
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from maskdetect.annotate import class_colours, draw_faces
from maskdetect.atomic import replace, temporary_sibling
from maskdetect.errors import InputError

UNMASKED = "without_mask"
CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}
# A camera or stream may miss a few reads before it truly ends.
STREAM_READ_RETRIES = 20


def parse_source(source):
    """A webcam index ('0') as an int; a file path or stream URL as given."""
    source = str(source)
    return int(source) if source.isdigit() else source


class FrameReader:
    """Reads frames on a background thread so that capture overlaps inference."""

    def __init__(self, source):
        self.source = source
        parsed = parse_source(source)
        self.is_file = isinstance(parsed, str) and Path(parsed).is_file()
        if isinstance(parsed, str) and "://" not in parsed and not self.is_file:
            raise InputError(f"cannot open video source {source!r}: no such file")
        self._capture = cv2.VideoCapture(parsed)
        if not self._capture.isOpened():
            raise InputError(f"cannot open video source {source!r}")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self._frames = queue.Queue(maxsize=4)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read_all, daemon=True)
        self._thread.start()

    def _read_all(self):
        failures = 0
        while not self._stopped.is_set():
            ok, frame = self._capture.read()
            if not ok or frame is None:
                failures += 1
                if self.is_file or failures > STREAM_READ_RETRIES:
                    break
                time.sleep(0.05)
                continue
            failures = 0
            while not self._stopped.is_set():
                try:
                    self._frames.put(frame, timeout=0.1)
                    break
                except queue.Full:
                    continue
        self._frames.put(None)

    def __iter__(self):
        while (frame := self._frames.get()) is not None:
            yield frame

    def close(self):
        self._stopped.set()
        while self._thread.is_alive():
            try:
                self._frames.get(timeout=0.1)
            except queue.Empty:
                pass
        self._capture.release()


class VideoOutput:
    """An annotated video written beside its final path, moved in place when closed.

    Closing also happens on Ctrl+C, so an interrupted run leaves a playable file.
    """

    def __init__(self, path, fps, size):
        self.path = Path(path)
        codec = CODECS.get(self.path.suffix.lower())
        if codec is None:
            raise InputError(f"cannot write {path}: use one of {', '.join(sorted(CODECS))}")
        if not self.path.resolve().parent.is_dir():
            raise InputError(f"cannot write {path}: its folder does not exist")
        self._temporary = temporary_sibling(self.path, self.path.suffix)
        self._writer = cv2.VideoWriter(str(self._temporary), cv2.VideoWriter_fourcc(*codec), fps, size)
        if not self._writer.isOpened():
            raise InputError(f"cannot write video {path} with codec {codec}")
        self.frames = 0

    def write(self, frame):
        self._writer.write(frame)
        self.frames += 1

    def close(self):
        self._writer.release()
        if self.frames:
            replace(self._temporary, self.path)
        else:
            self._temporary.unlink(missing_ok=True)


class AlertTracker:
    """Raises an alert when an unmasked face stays in view for ``frames`` frames in a row."""

    def __init__(self, frames, cooldown_s):
        self.frames = frames
        self.cooldown_s = cooldown_s
        self.streak = 0
        self.last_alert = None

    def update(self, unmasked_in_view, now):
        """Feed one frame; True when this frame raises an alert."""
        self.streak = self.streak + 1 if unmasked_in_view else 0
        if self.streak < self.frames:
            return False
        if self.last_alert is not None and now - self.last_alert < self.cooldown_s:
            return False
        self.last_alert = now
        return True


@dataclass
class VideoSummary:
    """What a run saw, printed at its end."""

    frames: int = 0
    frame_seconds: list = field(default_factory=list)
    faces: Counter = field(default_factory=Counter)
    unmasked_frames: int = 0
    alerts: int = 0

    @property
    def median_fps(self):
        return 1.0 / statistics.median(self.frame_seconds) if self.frame_seconds else 0.0

    def as_json(self):
        return {
            "type": "summary",
            "frames": self.frames,
            "median_fps": round(self.median_fps, 1),
            "faces": dict(sorted(self.faces.items())),
            "frames_with_unmasked_face": self.unmasked_frames,
            "alerts": self.alerts,
        }

    def text(self):
        faces = ", ".join(f"{count} {label}" for label, count in sorted(self.faces.items())) or "none"
        return (
            f"frames processed: {self.frames}\nmedian FPS: {self.median_fps:.1f}\nfaces seen: {faces}\n"
            f"frames with an unmasked face: {self.unmasked_frames}\nalerts raised: {self.alerts}"
        )


@dataclass
class VideoOptions:
    """How a video run behaves; the defaults are the script's."""

    display: bool = True
    output: str | None = None
    json_path: str | None = None
    alert_frames: int = 10
    alert_cooldown_s: float = 5.0
    beep: bool = False
    max_frames: int | None = None


def _open_json(path):
    if path is None:
        return None
    if path == "-":
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8", buffering=1)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


def run_video(detector, source, options, log=sys.stderr):
    """Detect, label, annotate and report every frame of ``source``; returns the summary."""
    if options.alert_frames < 1 or options.alert_cooldown_s < 0:
        raise InputError("--alert-frames must be at least 1 and --alert-cooldown at least 0")
    reader = FrameReader(source)
    summary = VideoSummary()
    alerts = AlertTracker(options.alert_frames, options.alert_cooldown_s)
    colours = class_colours(detector.class_names)
    events = writer = None
    recent = deque(maxlen=30)
    started = previous = time.perf_counter()
    try:
        events = _open_json(options.json_path)
        for index, frame in _until_interrupted(reader, log):
            if options.max_frames is not None and index >= options.max_frames:
                break
            if writer is None and options.output:
                writer = VideoOutput(options.output, reader.fps, (frame.shape[1], frame.shape[0]))
            now = index / reader.fps if reader.is_file else time.perf_counter() - started
            faces = detector.detect(frame)
            unmasked = any(face.label == UNMASKED for face in faces)
            summary.frames += 1
            summary.faces.update(face.verdict for face in faces)
            summary.unmasked_frames += unmasked
            if events is not None:
                record = {"type": "frame", "frame": index, "time": round(now, 3), "faces": [f.as_json() for f in faces]}
                events.write(json.dumps(record) + "\n")
            if alerts.update(unmasked, now):
                summary.alerts += 1
                print(f"ALERT: unmasked face in view for {alerts.streak} frames (frame {index}, {now:.1f} s)", file=log)
                if options.beep:
                    log.write("\a")
                    log.flush()
                if events is not None:
                    alert = {"type": "alert", "frame": index, "time": round(now, 3), "unmasked_frames": alerts.streak}
                    events.write(json.dumps(alert) + "\n")
            draw_faces(frame, faces, colours)
            finished = time.perf_counter()
            summary.frame_seconds.append(finished - previous)
            recent.append(finished - previous)
            previous = finished
            if writer is not None:
                writer.write(frame)
            if options.display and _show(frame, len(recent) / sum(recent)):
                break
    finally:
        reader.close()
        if writer is not None:
            writer.close()
        if options.display:
            cv2.destroyAllWindows()
        if events is not None:
            events.write(json.dumps(summary.as_json()) + "\n")
            if events is not sys.stdout:
                events.close()
    return summary


def _until_interrupted(frames, log):
    """Numbered frames until they end or Ctrl+C, which ends the run like the end of the video."""
    iterator = enumerate(frames)
    while True:
        try:
            yield next(iterator)
        except StopIteration:
            return
        except KeyboardInterrupt:
            print("interrupted: finishing the outputs", file=log)
            return


def _show(frame, fps):
    """Show a frame with its FPS; True when the user pressed q or Esc."""
    cv2.putText(frame, f"FPS: {fps:.1f}", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    try:
        cv2.imshow("Mask detector (q to quit)", frame)
    except cv2.error:
        raise InputError("cannot open a window here; run with --no-display") from None
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)
