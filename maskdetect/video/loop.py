"""The video loop: a generator of per-frame results, drained by small consumers (maskdetect.video.sinks).

``analyse_frames`` finds, labels and tracks the faces of each frame and applies the alert rule;
``run_video`` feeds it a source's frames and hands each result to the consumers the options ask for.
"""

import contextlib
import itertools
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskdetect.draw import class_colours
from maskdetect.errors import InputError, interrupt
from maskdetect.io.outputs import (
    check_distinct,
    check_file_output,
    check_image_outputs,
    file_outputs,
    is_stdout,
)
from maskdetect.io.prefetch import Prefetch
from maskdetect.io.redact import redacted
from maskdetect.pipeline import single_threaded_opencv
from maskdetect.video.alerts import PersonAlerts
from maskdetect.video.sinks import (
    CODECS,
    AlertSink,
    Annotator,
    HeartbeatSink,
    JsonLinesSink,
    LiveSink,
    ProgressBar,
    VideoSink,
    Window,
)
from maskdetect.video.sources import DEFAULT_OPEN_TIMEOUT_S, FrameReader, is_file_source
from maskdetect.video.statistics import (
    compliant_classes,
    non_compliant_classes,
    people_counts,
    people_statistics,
    save_statistics_plot,
    write_statistics_csv,
)
from maskdetect.video.summary import VideoSummary
from maskdetect.video.tracking import FaceTracker

logger = logging.getLogger(__name__)
# The frame rate taken for a source that does not tell its own (a file's timestamps, tracking).
ASSUMED_FPS = 30.0


@dataclass
class FrameResult:
    """One frame and what was found in it: its faces (labelled and tracked) and the people who raise an alert."""

    index: int
    time: float
    frame: np.ndarray
    faces: list
    alerts: list = field(default_factory=list)
    # Where consumers saved the alert snapshots of this frame, by track ID.
    snapshots: dict = field(default_factory=dict)
    # Boxes the face detector found that the classifier dropped as no face.
    not_faces: int = 0


def analyse_frames(detector, frames, tracker, alerts, frame_rate=None, find_ahead=True):
    """Per frame of ``frames``, a FrameResult: faces found, labelled and tracked, alerts due.

    ``frame_rate`` gives each frame its time in the video (index / rate); None (a live source) takes the
    time since the first frame. With ``find_ahead``, faces are found on a background thread one frame
    ahead of the classifier; without it, everything runs in the caller's thread.
    """
    found = ((frame, detector.find(frame)) for frame in frames)
    ahead = Prefetch(found) if find_ahead else contextlib.nullcontext(found)
    started = time.perf_counter()
    with ahead as found:
        for index, (frame, faces) in enumerate(found):
            now = index / frame_rate if frame_rate else time.perf_counter() - started
            found_boxes = len(faces)
            detector.label([faces])
            people = tracker.update(now, faces)
            yield FrameResult(index, now, frame, faces, alerts.update(people, now), not_faces=found_boxes - len(faces))


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
    open_timeout: float = DEFAULT_OPEN_TIMEOUT_S
    # A connected maskdetect.video.mqtt.CameraEvents, or None.
    mqtt: object = None
    heartbeat: str | None = None

    def file_outputs(self):
        """(path, kind) of each file this run writes (the snapshot folder aside); only the JSON may go to '-'."""
        named = [(self.output, "video"), (self.json_path, "json"), (self.stats_csv, "statistics_csv"), (self.stats_plot, "png"),
                 (self.heartbeat, "json")]
        return [(path, kind) for path, kind in named if path in file_outputs(path)]


def check_video_outputs(source, options):
    """Refuse bad settings and outputs before any model loads or any file is touched."""
    if options.alert_frames < 1 or options.realert_s < 0:
        raise InputError("the alert frames must be at least 1 and the re-alert time at least 0 seconds")
    if options.max_frames is not None and options.max_frames < 1:
        raise InputError(f"the most frames to read must be at least 1, got {options.max_frames}")
    inputs = [source] if is_file_source(source) else []
    if options.output and Path(options.output).suffix.lower() not in CODECS:
        raise InputError(f"cannot write {options.output}: use one of {', '.join(sorted(CODECS))}")
    for setting, path in (("annotated video", options.output), ("statistics table", options.stats_csv),
                          ("statistics plot", options.stats_plot), ("heartbeat", options.heartbeat)):
        if is_stdout(path):
            raise InputError(f"the {setting} cannot go to standard output ('-'): give a file")
    outputs = [check_file_output(path, inputs, kind) for path, kind in options.file_outputs()]
    if options.snapshots:
        folder = Path(options.snapshots)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"refusing to write snapshots into {folder}: it is a file")
        check_image_outputs([], folder, inputs)
    check_distinct(outputs)


def alert_rule(class_names, options):
    """(the compliant classes, the classes that raise alerts) for a model's classes and the options."""
    for setting, named in (("alert classes", options.alert_classes), ("compliant classes", options.compliant_classes)):
        unknown = set(named or ()) - set(class_names)
        if unknown:
            raise InputError(f"the {setting}: the model has no class {', '.join(sorted(unknown))}; it has {', '.join(class_names)}")
    compliant = options.compliant_classes if options.compliant_classes is not None else compliant_classes(class_names)
    alerting = options.alert_classes if options.alert_classes is not None else non_compliant_classes(class_names, compliant)
    return compliant, set(alerting)


def run_video(detector, source, options, checked=False):
    """Detect, label, annotate and report every frame of ``source``; returns the VideoSummary.

    The outputs are checked first (unless ``checked`` says the caller did). Ctrl+C at any moment ends the
    run like the end of the video: the frame in hand is finished, the annotated video and the JSON lines
    are closed and moved in place, and the summary says it was interrupted. A second Ctrl+C stops at once.
    """
    if not checked:
        check_video_outputs(source, options)
    compliant, alert_classes = alert_rule(detector.class_names, options)
    stop = options.stop or threading.Event()
    with contextlib.ExitStack() as outputs:
        reader = outputs.enter_context(contextlib.closing(FrameReader(source, options.open_timeout)))
        frame_rate = reader.fps or ASSUMED_FPS
        tracker = FaceTracker(frame_rate)
        summary = VideoSummary(alert_classes)
        frames = reader.frames(stop)
        if options.max_frames is not None:
            frames = itertools.islice(frames, options.max_frames)
        total = reader.frame_count and min(reader.frame_count, options.max_frames or reader.frame_count)
        sinks = [Annotator(class_colours(detector.class_names), options.blur), summary]
        if options.live is not None:
            counts = lambda: {"frames": summary.frames, "alerts": summary.alerts,  # noqa: E731
                              **people_counts(tracker.people.values(), detector.class_names, compliant)}
            sinks.append(LiveSink(options.live, options.live_source, counts))
        sinks.append(AlertSink(options.snapshots, options.beep))
        if options.mqtt is not None:
            from maskdetect.video.mqtt import MqttSink

            sinks.append(MqttSink(options.mqtt, lambda: people_statistics(tracker.people.values(), detector.class_names,
                                                                          compliant), summary.as_record))
        if options.json_path:
            sinks.append(JsonLinesSink(options.json_path, summary))
        sinks.append(ProgressBar(total, options.progress))
        if options.heartbeat:
            sinks.append(HeartbeatSink(options.heartbeat))
        if options.output:
            sinks.append(VideoSink(options.output, frame_rate if reader.is_file else None))
        if options.display:
            sinks.append(Window())
        for sink in sinks:
            # Closed at the end (or Ctrl+C): outputs finished and moved in place; after a failure, discarded.
            outputs.enter_context(sink)
        alerts = PersonAlerts(alert_classes, options.alert_frames, options.realert_s)
        results = outputs.enter_context(contextlib.closing(
            analyse_frames(detector, frames, tracker, alerts, frame_rate if reader.is_file else None)))
        try:
            with stop_on_ctrl_c(stop), single_threaded_opencv():
                for result in results:
                    if any([sink.write(result) for sink in sinks]):
                        break
        except KeyboardInterrupt:
            stop.set()
        finally:
            if stop.is_set():
                summary.interrupted = True
                logger.info("interrupted: finishing the outputs")
            results.close()
            reader.close()
            summary.dropped_frames = reader.dropped
            summary.statistics = people_statistics(tracker.people.values(), detector.class_names, compliant)
    # The video and JSON lines are committed above, whatever happens to the statistics files.
    if options.stats_csv:
        write_statistics_csv(summary.statistics, options.stats_csv)
    if options.stats_plot:
        save_statistics_plot(summary.statistics, options.stats_plot)
    if reader.error is not None:
        logger.warning("reading %s failed (%s); the run ended there", redacted(source), redacted(reader.error))
    return summary


@contextlib.contextmanager
def stop_on_ctrl_c(stop):
    """While inside, the first Ctrl+C or SIGTERM (``docker stop``, ``systemctl stop``) sets ``stop``: the loop ends
    after the frame in hand and finishes every output. The next one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, interrupt)

    previous = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
