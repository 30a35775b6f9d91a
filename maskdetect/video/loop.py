"""The video loop: a generator of per-frame results, drained by small consumers (maskdetect.video.sinks).

``analyse_frames`` finds, labels and tracks the faces of each frame and applies the alert rule;
``annotated`` draws on each frame what the settings ask for (blur, boxes and labels); ``run_video`` feeds
them a source's frames and hands each result to the consumers the settings ask for. A camera on a Ray
actor (maskdetect.cluster.cameras) runs the same generators.
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

from maskdetect.draw import FaceBlur, FaceBoxes, class_colours
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
from maskdetect.settings import VideoSettings
from maskdetect.video.alerts import PersonAlerts
from maskdetect.video.sinks import (
    CODECS,
    AlertSink,
    HeartbeatSink,
    JsonLinesSink,
    LiveSink,
    ProgressBar,
    VideoSink,
    Window,
)
from maskdetect.video.sources import FrameReader, is_file_source
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


def annotators(class_names, settings):
    """What is drawn on each frame, in order: every face blurred (with ``settings.blur``), then boxes and labels."""
    return [*([FaceBlur()] if settings.blur else []), FaceBoxes(class_colours(class_names))]


def annotated(results, drawers):
    """Each result of ``results`` with its frame drawn on by each of ``drawers`` in turn; closing it closes
    ``results``."""
    try:
        for result in results:
            for drawer in drawers:
                result.frame = drawer.annotate(result.frame, result.faces)
            yield result
    finally:
        results.close()


def collected(results, collector, source):
    """Each result of ``results``, its faces offered to ``collector`` (a FaceCollector) before anything is drawn
    on its frame; closing it closes ``results``."""
    try:
        for result in results:
            collector.add(source, result.frame, result.faces, result.time, result.index)
            yield result
    finally:
        results.close()


def frame_results(detector, reader, settings, tracker, alert_classes, stop, collector=None, source=""):
    """The annotated result of each frame of ``reader`` (a FrameReader), until it ends, ``settings.max_frames``
    frames or ``stop`` is set: faces found, labelled and tracked by ``tracker``, alerts due by the settings' rule,
    and, with a ``collector``, the faces of ``source`` offered to it."""
    frames = reader.frames(stop)
    if settings.max_frames is not None:
        frames = itertools.islice(frames, settings.max_frames)
    alerts = PersonAlerts(alert_classes, settings.alert_frames, settings.realert_s)
    frame_rate = (reader.fps or ASSUMED_FPS) if reader.is_file else None
    results = analyse_frames(detector, frames, tracker, alerts, frame_rate)
    if collector is not None:
        results = collected(results, collector, source)
    return annotated(results, annotators(detector.class_names, settings))


@dataclass
class SourceLinks:
    """What one source's run is connected to besides its settings: the live page it shows on (and its
    number there), the MQTT publisher of its events, the collector of faces to label, and the stop shared by
    every source of the run."""

    live: object = None
    live_source: int = 0
    # A connected maskdetect.video.mqtt.CameraEvents, or None.
    events: object = None
    # A maskdetect.collector.FaceCollector shared by every source of the run (--collect), or None.
    collector: object = None
    stop: threading.Event | None = None


def file_outputs_of(settings):
    """(path, kind) of each file a run writes (the snapshot folder aside); only the JSON may go to '-'."""
    named = [
        (settings.output, "video"),
        (settings.json_path, "json"),
        (settings.stats_csv, "statistics_csv"),
        (settings.stats_plot, "png"),
        (settings.heartbeat, "json"),
    ]
    return [(path, kind) for path, kind in named if path in file_outputs(path)]


def check_video_outputs(source, options: VideoSettings):
    """Refuse bad settings and outputs before any model loads or any file is touched."""
    if options.alert_frames < 1 or options.realert_s < 0:
        raise InputError("the alert frames must be at least 1 and the re-alert time at least 0 seconds")
    if options.max_frames is not None and options.max_frames < 1:
        raise InputError(f"the most frames to read must be at least 1, got {options.max_frames}")
    if options.collecting.collect and options.blur and not options.collect_unblurred:
        raise InputError(
            "--collect keeps faces unblurred, and this run blurs them (--blur): add --collect-unblurred to collect anyway"
        )
    inputs = [source] if is_file_source(source) else []
    if options.output and Path(options.output).suffix.lower() not in CODECS:
        raise InputError(f"cannot write {options.output}: use one of {', '.join(sorted(CODECS))}")
    for setting, path in (
        ("annotated video", options.output),
        ("statistics table", options.stats_csv),
        ("statistics plot", options.stats_plot),
        ("heartbeat", options.heartbeat),
    ):
        if is_stdout(path):
            raise InputError(f"the {setting} cannot go to standard output ('-'): give a file")
    outputs = [check_file_output(path, inputs, kind) for path, kind in file_outputs_of(options)]
    if options.snapshots:
        folder = Path(options.snapshots)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"refusing to write snapshots into {folder}: it is a file")
        check_image_outputs([], folder, inputs)
    check_distinct(outputs)


def alert_rule(class_names, options):
    """(the compliant classes, the classes that raise alerts) for a model's classes and the video settings."""
    for setting, named in (("alert classes", options.alert_classes), ("compliant classes", options.compliant_classes)):
        unknown = set(named or ()) - set(class_names)
        if unknown:
            raise InputError(
                f"the {setting}: the model has no class {', '.join(sorted(unknown))}; it has {', '.join(class_names)}"
            )
    compliant = options.compliant_classes if options.compliant_classes is not None else compliant_classes(class_names)
    alerting = options.alert_classes if options.alert_classes is not None else non_compliant_classes(class_names, compliant)
    return compliant, set(alerting)


def run_video(detector, source, settings: VideoSettings, links: SourceLinks | None = None, checked=False):
    """Detect, label, annotate and report every frame of ``source``; returns the VideoSummary.

    The outputs are checked first (unless ``checked`` says the caller did). Ctrl+C at any moment ends the
    run like the end of the video: the frame in hand is finished, the annotated video and the JSON lines
    are closed and moved in place, and the summary says it was interrupted. A second Ctrl+C stops at once.
    """
    if not checked:
        check_video_outputs(source, settings)
    links = links or SourceLinks()
    compliant, alert_classes = alert_rule(detector.class_names, settings)
    stop = links.stop or threading.Event()
    with contextlib.ExitStack() as outputs:
        reader = outputs.enter_context(contextlib.closing(FrameReader(source, settings.open_timeout)))
        frame_rate = reader.fps or ASSUMED_FPS
        tracker = FaceTracker(frame_rate, settings.alert_frames)
        summary = VideoSummary(alert_classes)
        run = _Run(detector, settings, links, tracker, summary, compliant)
        for sink in consumers(run, reader, frame_rate):
            # Closed at the end (or Ctrl+C): outputs finished and moved in place; after a failure, discarded.
            run.sinks.append(outputs.enter_context(sink))
        results = outputs.enter_context(
            contextlib.closing(frame_results(detector, reader, settings, tracker, alert_classes, stop, links.collector, source))
        )
        try:
            with stop_on_ctrl_c(stop), single_threaded_opencv():
                for result in results:
                    if any([sink.write(result) for sink in run.sinks]):
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
            summary.statistics = run.statistics()
    # The video and JSON lines are committed above, whatever happens to the statistics files.
    if settings.stats_csv:
        write_statistics_csv(summary.statistics, settings.stats_csv)
    if settings.stats_plot:
        save_statistics_plot(summary.statistics, settings.stats_plot)
    if reader.error is not None:
        logger.warning("reading %s failed (%s); the run ended there", redacted(source), redacted(reader.error))
    return summary


@dataclass
class _Run:
    """One source's run as its consumers see it: the detector, settings and links, the people tracked so far."""

    detector: object
    settings: VideoSettings
    links: SourceLinks
    tracker: FaceTracker
    summary: VideoSummary
    compliant: list
    sinks: list = field(default_factory=list)

    def statistics(self):
        return people_statistics(self.tracker.people.values(), self.detector.class_names, self.compliant)

    def counts(self):
        return {
            "frames": self.summary.frames,
            "alerts": self.summary.alerts,
            **people_counts(self.tracker.people.values(), self.detector.class_names, self.compliant),
        }


def consumers(run, reader, frame_rate):
    """The consumers of a run's results, in the order they take each one: the summary first, the window last."""
    settings, links = run.settings, run.links
    total = reader.frame_count and min(reader.frame_count, settings.max_frames or reader.frame_count)
    sinks = [run.summary]
    if links.live is not None:
        sinks.append(LiveSink(links.live, links.live_source, run.counts))
    sinks.append(AlertSink(settings.snapshots, settings.beep))
    if links.events is not None:
        from maskdetect.video.mqtt import MqttSink

        sinks.append(MqttSink(links.events, run.statistics, run.summary.as_record))
    if settings.json_path:
        sinks.append(JsonLinesSink(settings.json_path, run.summary))
    sinks.append(ProgressBar(total, settings.progress))
    if settings.heartbeat:
        sinks.append(HeartbeatSink(settings.heartbeat))
    if settings.output:
        sinks.append(VideoSink(settings.output, frame_rate if reader.is_file else None))
    if settings.display:
        sinks.append(Window())
    return sinks


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
