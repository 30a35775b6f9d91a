"""Mask detection on a live camera or a video file: frames in, annotated frames and events out."""

import contextlib
import dataclasses
import itertools
import json
import logging
import queue
import signal
import statistics
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from maskdetect.annotate import blur_faces, class_colours, draw_faces
from maskdetect.atomic import commit, remove_temporary, temporary_sibling
from maskdetect.compliance import (
    compliant_classes,
    non_compliant_classes,
    people_counts,
    people_statistics,
    save_statistics_plot,
    write_statistics_csv,
)
from maskdetect.errors import InputError
from maskdetect.outputs import check_distinct, check_file_output, check_image_outputs
from maskdetect.photos import write_image
from maskdetect.pipeline import single_threaded_opencv
from maskdetect.records import alert_record, frame_record, summary_record
from maskdetect.tracking import FaceTracker

logger = logging.getLogger(__name__)
CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mkv": "MJPG"}
# A camera or stream may miss a few reads before it truly ends.
STREAM_READ_RETRIES = 20
# A recording of a live source is written at the rate measured over its first frames.
RATE_FRAMES, RATE_SECONDS = 30, 2.0
# The summary's median FPS is over at most this many recent frames, so a day-long run stays small.
TIMED_FRAMES = 10_000
# The live page's counts go over every person seen: recounted at most this often (seconds), not every frame.
LIVE_COUNTS_S = 0.5
# The frame rate taken for a source that does not tell its own (a file's timestamps, tracking).
ASSUMED_FPS = 30.0
# How long closing waits for the reader thread, which may sit in a read of a dead stream.
READER_JOIN_S = 2.0


def parse_source(source):
    """A webcam index ('0') as an int; a file path, device, pipeline, image sequence or URL as given."""
    source = str(source)
    return int(source) if source.isdigit() else source


def is_file_source(source):
    return isinstance(parse_source(source), str) and Path(source).is_file()


class FrameReader:
    """Reads frames on a background thread so that capture overlaps inference.

    A file keeps every frame. A live source (camera, stream) keeps only the newest
    frame, so latency does not build up when inference is slower than the camera.
    """

    def __init__(self, source):
        self.source = source
        self.is_file = is_file_source(source)
        self._capture = cv2.VideoCapture(parse_source(source))
        if not self._capture.isOpened():
            raise InputError(f"cannot open video source {source!r}")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else None
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) if self.is_file else 0
        self.frame_count = count if count > 0 else None
        self.dropped = 0
        self.error = None
        self._frames = queue.Queue(maxsize=4 if self.is_file else 1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read_all, daemon=True)
        self._thread.start()

    def _read_all(self):
        try:
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
                self._put(frame)
        except Exception as error:  # noqa: BLE001 - any failure of the capture ends the stream
            self.error = error
        finally:
            self._put(None)

    def _put(self, item):
        if not self.is_file and item is not None:
            try:
                self._frames.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
        while not self._stopped.is_set():
            try:
                self._frames.put(item, timeout=0.1)
                return
            except queue.Full:
                if item is None and not self.is_file:
                    self._frames.get_nowait()

    def frames(self, stop):
        """The frames, until the source ends or ``stop`` (a threading.Event) is set."""
        while not stop.is_set():
            try:
                frame = self._frames.get(timeout=0.1)
            except queue.Empty:
                continue
            if frame is None:
                return
            yield frame

    def __iter__(self):
        return self.frames(threading.Event())

    def close(self):
        """Stop reading; waits a bounded time for the reader, which a dead stream can hold in read()."""
        self._stopped.set()
        deadline = time.monotonic() + READER_JOIN_S
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._frames.get(timeout=0.05)
            except queue.Empty:
                pass
        if not self._thread.is_alive():
            self._capture.release()


class FaceFinder:
    """Finds the faces of each frame on a background thread, one frame ahead of the classifier.

    Iterating gives (frame, found faces) in frame order; an error in the thread is raised there.
    """

    _END = object()

    def __init__(self, frames, detector, ahead=1):
        self._frames = frames
        self._detector = detector
        self._results = queue.Queue(maxsize=ahead)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._find_all, daemon=True)
        self._thread.start()

    def _find_all(self):
        try:
            for frame in self._frames:
                if not self._put((frame, self._detector.find(frame))):
                    return
            self._put(self._END)
        except Exception as error:  # noqa: BLE001 - handed to the consuming thread
            self._put(error)

    def _put(self, item):
        while not self._closed.is_set():
            try:
                self._results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self._results.get()
            if item is self._END:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self):
        """Stop finding faces; the thread ends once its frame in hand is done."""
        self._closed.set()
        self._thread.join(timeout=READER_JOIN_S)


class VideoOutput:
    """An annotated video written beside its final path, moved in place when closed.

    ``fps`` None (a live source) measures the rate from the first frames written,
    so that the recording plays at real speed. Closing also happens on Ctrl+C.
    """

    def __init__(self, path, fps=None):
        self.path = Path(path)
        self.fps = fps
        self.frames = 0
        self._temporary = temporary_sibling(self.path, self.path.suffix)
        self._writer = None
        self._pending = []

    def write(self, frame, now):
        if self._writer is None:
            self._pending.append((frame.copy(), now))
            first = self._pending[0][1]
            if self.fps is None and len(self._pending) < RATE_FRAMES and now - first < RATE_SECONDS:
                return
            self._open()
        else:
            self._writer.write(frame)
            self.frames += 1

    def _open(self):
        if self.fps is None:
            span = self._pending[-1][1] - self._pending[0][1]
            self.fps = (len(self._pending) - 1) / span if span > 0 and len(self._pending) > 1 else 10.0
        height, width = self._pending[0][0].shape[:2]
        codec = CODECS[self.path.suffix.lower()]
        self._writer = cv2.VideoWriter(str(self._temporary), cv2.VideoWriter_fourcc(*codec), self.fps, (width, height))
        if not self._writer.isOpened():
            raise InputError(f"cannot write video {self.path} with codec {codec}")
        for frame, _ in self._pending:
            self._writer.write(frame)
            self.frames += 1
        self._pending = []

    def close(self):
        if self._pending:
            self._open()
        if self._writer is not None:
            self._writer.release()
        if self.frames:
            commit(self._temporary, self.path)
        remove_temporary(self._temporary)


class JsonLines:
    """JSON lines to stdout, or to a file written beside its path and moved in place when closed."""

    def __init__(self, path):
        self.path = path
        if path == "-":
            self._file, self._temporary = sys.stdout, None
        else:
            self._temporary = temporary_sibling(path, ".jsonl")
            self._file = open(self._temporary, "w", encoding="utf-8", buffering=1)

    def write(self, record):
        self._file.write(json.dumps(record) + "\n")
        if self._temporary is None:
            self._file.flush()  # a reader of stdout sees each line as it happens

    def close(self):
        if self._temporary is None:
            self._file.flush()
            return
        self._file.close()
        commit(self._temporary, self.path)


class PersonAlerts:
    """One alert per person who stays unmasked: when their voted label has been an alerting class
    for ``frames`` of their frames in a row; again only after ``realert_s`` seconds (0: never)."""

    def __init__(self, classes, frames, realert_s=0.0):
        self.classes = set(classes)
        self.frames = frames
        self.realert_s = realert_s

    def update(self, people, now):
        """Feed the people in one frame; returns those who raise an alert now."""
        raised = []
        for person in people:
            person.alerting_frames = person.alerting_frames + 1 if person.label in self.classes else 0
            if person.alerting_frames < self.frames:
                continue
            if person.alerted_at is None or (self.realert_s > 0 and now - person.alerted_at >= self.realert_s):
                person.alerted_at = now
                raised.append(person)
        return raised


@dataclass
class VideoSummary:
    """What a run saw, printed at its end."""

    frames: int = 0
    frame_seconds: deque = field(default_factory=lambda: deque(maxlen=TIMED_FRAMES))
    faces: Counter = field(default_factory=Counter)
    unmasked_frames: int = 0
    alerts: int = 0
    dropped_frames: int = 0
    interrupted: bool = False
    statistics: dict = field(default_factory=dict)

    @property
    def median_fps(self):
        return 1.0 / statistics.median(self.frame_seconds) if self.frame_seconds else 0.0

    def as_record(self):
        return summary_record({
            "frames": self.frames,
            "median_fps": round(self.median_fps, 1),
            "faces": dict(sorted(self.faces.items())),
            "frames_with_unmasked_face": self.unmasked_frames,
            "alerts": self.alerts,
            "dropped_frames": self.dropped_frames,
            "interrupted": self.interrupted,
            **self.statistics,
        })

    def text(self):
        faces = ", ".join(f"{count} {label}" for label, count in sorted(self.faces.items())) or "none"
        lines = [
            f"frames processed: {self.frames}",
            f"median FPS: {self.median_fps:.1f}",
            f"faces seen: {faces}",
            f"frames with an unmasked face: {self.unmasked_frames}",
            f"alerts raised: {self.alerts}",
        ]
        if self.statistics:
            people = ", ".join(f"{count} {label}" for label, count in self.statistics["people"].items() if count) or "none"
            lines.append(f"people seen: {people} (masked share {self.statistics['masked_share']})")
        if self.dropped_frames:
            lines.append(f"stale frames dropped: {self.dropped_frames}")
        if self.interrupted:
            lines.append("interrupted: outputs finished with the frames so far")
        return "\n".join(lines)


@dataclass
class VideoOptions:
    """How a video run behaves; the defaults are the script's."""

    display: bool = True
    output: str | None = None
    json_path: str | None = None
    alert_frames: int = 10
    realert_s: float = 0.0
    alert_classes: list | None = None
    compliant_classes: list | None = None
    beep: bool = False
    max_frames: int | None = None
    progress: bool = False
    snapshots: str | None = None
    blur: bool = False
    stats_csv: str | None = None
    stats_plot: str | None = None
    live: object = None
    live_source: int = 0
    stop: threading.Event | None = None


def check_video_outputs(source, options):
    """Refuse bad settings and outputs before any model loads or any file is touched."""
    if options.alert_frames < 1 or options.realert_s < 0:
        raise InputError("--alert-frames must be at least 1 and --realert-after at least 0")
    if options.max_frames is not None and options.max_frames < 1:
        raise InputError(f"--max-frames must be at least 1, got {options.max_frames}")
    inputs = [source] if is_file_source(source) else []
    outputs = []
    if options.output:
        if Path(options.output).suffix.lower() not in CODECS:
            raise InputError(f"cannot write {options.output}: use one of {', '.join(sorted(CODECS))}")
        outputs.append(check_file_output(options.output, inputs, kind="video"))
    if options.json_path and options.json_path != "-":
        outputs.append(check_file_output(options.json_path, inputs, kind="json"))
    for path, kind in ((options.stats_csv, "text"), (options.stats_plot, "png")):
        if path:
            outputs.append(check_file_output(path, inputs, kind))
    if options.snapshots:
        folder = Path(options.snapshots)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"refusing to write snapshots into {folder}: it is a file")
        check_image_outputs([], folder, inputs)
    check_distinct(outputs)


def run_video(detector, source, options):
    """Detect, label, annotate and report every frame of ``source``; returns the summary.

    Ctrl+C at any moment ends the run like the end of the video: the frame in hand
    is finished, the annotated video and the JSON lines are closed and moved in
    place, and the summary says it was interrupted. A second Ctrl+C stops at once.
    """
    check_video_outputs(source, options)
    for option, named in (("--alert-on", options.alert_classes), ("--compliant", options.compliant_classes)):
        unknown = set(named or ()) - set(detector.class_names)
        if unknown:
            raise InputError(f"{option}: the model has no class {', '.join(sorted(unknown))}; it has {', '.join(detector.class_names)}")
    compliant = options.compliant_classes if options.compliant_classes is not None else compliant_classes(detector.class_names)
    alert_classes = set(options.alert_classes if options.alert_classes is not None else non_compliant_classes(detector.class_names, compliant))
    reader = FrameReader(source)
    frame_rate = reader.fps or ASSUMED_FPS
    summary = VideoSummary()
    tracker = FaceTracker(frame_rate)
    alerts = PersonAlerts(alert_classes, options.alert_frames, options.realert_s)
    colours = class_colours(detector.class_names)
    events = JsonLines(options.json_path) if options.json_path else None
    writer = VideoOutput(options.output, frame_rate if reader.is_file else None) if options.output else None
    recent = deque(maxlen=30)
    started = previous = time.perf_counter()
    stop = options.stop or threading.Event()
    frames = reader.frames(stop)
    if options.max_frames is not None:
        frames = itertools.islice(frames, options.max_frames)
    finder = FaceFinder(frames, detector)
    total = reader.frame_count and min(reader.frame_count, options.max_frames or reader.frame_count)
    bar = tqdm(total=total, unit="frame", disable=None if options.progress else True, leave=False)
    live_counts, finished_counting = {}, None
    try:
        with _stop_on_ctrl_c(stop), single_threaded_opencv():
            for index, (frame, found) in enumerate(finder):
                now = index / frame_rate if reader.is_file else time.perf_counter() - started
                faces = detector.label([found])[0]
                people = tracker.update(now, faces)
                summary.frames += 1
                summary.faces.update(face.verdict for face in faces)
                summary.unmasked_frames += any(face.label in alert_classes for face in faces)
                if events is not None:
                    events.write(frame_record(index, now, faces, people))
                if options.blur:
                    blur_faces(frame, faces)
                draw_faces(frame, faces, colours, people)
                if options.live is not None:
                    if finished_counting is None or time.perf_counter() - finished_counting >= LIVE_COUNTS_S:
                        live_counts = _live_counts(summary, tracker, detector.class_names, compliant)
                        finished_counting = time.perf_counter()
                    options.live.publish(options.live_source, frame, live_counts)
                for person in alerts.update([person for person in people if person is not None], now):
                    summary.alerts += 1
                    _raise_alert(person, index, now, frame, options, events)
                bar.update()
                finished = time.perf_counter()
                summary.frame_seconds.append(finished - previous)
                recent.append(finished - previous)
                previous = finished
                if writer is not None:
                    writer.write(frame, finished - started)
                if options.display and _show(frame, len(recent) / sum(recent)):
                    break
    except KeyboardInterrupt:
        stop.set()
    finally:
        if stop.is_set():
            summary.interrupted = True
            logger.info("interrupted: finishing the outputs")
        bar.close()
        finder.close()
        reader.close()
        summary.dropped_frames = reader.dropped
        if writer is not None:
            writer.close()
        if options.display:
            cv2.destroyAllWindows()
        summary.statistics = people_statistics(tracker.people.values(), detector.class_names, compliant)
        _write_statistics(summary.statistics, options)
        if events is not None:
            events.write(summary.as_record())
            events.close()
    if reader.error is not None:
        logger.warning("reading %s failed (%s); the run ended there", source, reader.error)
    return summary


def numbered(path, number):
    """``path`` with ``-number`` before its suffix: the output of source ``number`` when there are several."""
    path = Path(path)
    return str(path.with_name(f"{path.stem}-{number}{path.suffix}"))


def source_options(options, count):
    """The options of each of ``count`` sources: numbered outputs (out.avi: out-1.avi, out-2.avi, ...), one stop."""
    if count == 1:
        return [options]
    stop = options.stop or threading.Event()
    return [
        dataclasses.replace(
            options, live_source=number - 1, stop=stop,
            **{name: numbered(getattr(options, name), number) for name in _NUMBERED if getattr(options, name)},
        )
        for number in range(1, count + 1)
    ]


_NUMBERED = ("output", "json_path", "snapshots", "stats_csv", "stats_plot")


def run_videos(detectors, sources, options_per_source):
    """Run several sources at once, one thread each, with their own tracks, counts and alerts.

    Ctrl+C stops them all like the end of their videos. Returns their summaries, in source order.
    """
    summaries, errors = [None] * len(sources), []

    def run_one(number):
        try:
            summaries[number] = run_video(detectors[number], sources[number], options_per_source[number])
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
            options_per_source[number].stop.set()

    threads = [threading.Thread(target=run_one, args=(number,), daemon=True) for number in range(len(sources))]
    with _stop_on_ctrl_c(options_per_source[0].stop):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
    if errors:
        raise errors[0]
    return summaries


def _raise_alert(person, index, now, frame, options, events):
    """Say it on stderr, ring, save the snapshot, and write the event."""
    logger.warning(
        "ALERT: person #%d is %s, for %d frames (frame %d, %.1f s)", person.track_id, person.label, person.alerting_frames, index, now
    )
    if options.beep:
        sys.stderr.write("\a")
        sys.stderr.flush()
    snapshot = None
    if options.snapshots:
        snapshot = Path(options.snapshots) / f"alert-{index:06d}-person{person.track_id}.jpg"
        write_image(frame, snapshot)
    if events is not None:
        events.write(alert_record(index, now, person.label, person.alerting_frames, person.track_id, snapshot))


def _live_counts(summary, tracker, class_names, compliant):
    return {"frames": summary.frames, "alerts": summary.alerts, **people_counts(tracker.people.values(), class_names, compliant)}


def _write_statistics(statistics, options):
    if options.stats_csv:
        write_statistics_csv(statistics, options.stats_csv)
    if options.stats_plot:
        save_statistics_plot(statistics, options.stats_plot)


@contextlib.contextmanager
def _stop_on_ctrl_c(stop):
    """While inside, the first Ctrl+C sets ``stop`` (the loop ends after the frame in hand); the next one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _show(frame, fps):
    """Show a frame with its FPS; True when the user pressed q or Esc."""
    cv2.putText(frame, f"FPS: {fps:.1f}", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    try:
        cv2.imshow("Mask detector (q to quit)", frame)
    except cv2.error:
        raise InputError("cannot open a window here; run with --no-display") from None
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)
