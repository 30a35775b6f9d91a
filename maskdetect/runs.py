"""The jobs, each written once and shared by the commands and the Python API: photos, a photo archive on Ray,
video sources on this machine, and cameras on Ray.

Each run takes its settings (maskdetect.settings), checks every output before slow work starts, and returns
what it did; the commands print it. Bad input is an InputError, as everywhere.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskdetect.errors import InputError
from maskdetect.io.collection import check_classes, check_collection_output
from maskdetect.io.outputs import (
    check_distinct,
    check_file_output,
    check_image_outputs,
    file_outputs,
    is_stdout,
    output_paths,
)
from maskdetect.pipeline import FACE_FINDING_THREADS, VIDEO_CLASSIFIER_THREADS, load_detector
from maskdetect.settings import CollectSettings, DetectorSettings, PhotoSettings, VideoSettings

logger = logging.getLogger(__name__)
# -s env:NAME: the source's address is in the environment variable NAME.
SOURCE_VARIABLE_PREFIX = "env:"
# The photo script's annotated copies go here unless told otherwise.
DEFAULT_PHOTO_OUTPUT = "output"


@dataclass
class PhotoRun:
    """What a photo run did: a result per image read, the inputs that failed, and the boxes dropped as no face."""

    results: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    rejected_boxes: int = 0

    @property
    def records(self) -> list[dict]:
        return [result.as_record() for result in self.results]


def run_photos(settings: PhotoSettings) -> PhotoRun:
    """Label every face of the photos ``settings.image`` names, writing annotated copies and the JSON report."""
    from maskdetect.io.images import expand_inputs, limit_pixels
    from maskdetect.io.records import write_json
    from maskdetect.photos import detect_photos

    if settings.show and not has_display():
        raise InputError("cannot open a window here (no display); run without --show")
    limit_pixels(settings.max_pixels)
    paths, problems = expand_inputs(settings.image)
    for problem in problems:
        logger.error("%s", problem)
    targets, folder = output_paths(paths, settings.output or DEFAULT_PHOTO_OUTPUT)
    check_image_outputs(targets, folder, inputs=paths)
    if file_outputs(settings.json):
        check_file_output(settings.json, inputs=paths, kind="json")
    check_distinct([*dict.fromkeys(targets), *file_outputs(settings.json)])
    if settings.collecting.collect:
        outputs = [*([folder] if folder is not None else dict.fromkeys(targets)), *file_outputs(settings.json)]
        check_collection_output(settings.collecting.collect, inputs=paths, outputs=outputs)
    detector = load_detector(_photo_detector(settings, face_detector_threads=FACE_FINDING_THREADS))
    collector = face_collector(settings.collecting, detector, settings.detector.model)
    try:
        results, failures = detect_photos(
            detector, paths, targets, settings.show, progress=settings.progress, collector=collector
        )
    except KeyboardInterrupt:
        # Ctrl+C ends a photo run at once; the faces collected so far are kept, as a video run keeps them.
        if collector is not None:
            collector.close()
        raise
    run = PhotoRun(results, problems + failures, detector.rejected_boxes)
    if settings.json and not is_stdout(settings.json):
        write_json(run.records, settings.json)
    if collector is not None:
        collector.close()
    return run


def face_collector(settings: CollectSettings, detector: Any, model: str | None, confirm_frames: int | None = None) -> Any:
    """The FaceCollector of a run with ``--collect`` (None without), once the run has said that it collects;
    ``confirm_frames``: in video, the frames a track needs to be a person (None: photos)."""
    if not settings.collect:
        return None
    from maskdetect.classify.judging import NOT_A_FACE
    from maskdetect.collector import FaceCollector

    logger.warning(
        "collecting the faces of up to %d people into %s: tell the people filmed (docs/learn_your_door.md)",
        settings.collect_max,
        settings.collect,
    )
    classifier = detector.classifier
    check_classes(settings.collect, [name for name in classifier.class_names if name != NOT_A_FACE])
    return FaceCollector(
        settings.collect,
        classifier.class_names,
        settings.collect_max,
        classifier.input_size,
        classifier.lower_face,
        confirm_frames,
        Path(model).name if model else "",
    )


def _photo_detector(settings: PhotoSettings, **changes: Any) -> DetectorSettings:
    """The detector of a photo run: no face detector with --whole-image."""
    if settings.whole_image:
        changes["face_detector"] = None
    return dataclasses.replace(settings.detector, **changes)


def run_archive(settings: PhotoSettings, verbose: bool = False) -> Any:
    """Label every photo of one folder, bucket or listing on a Ray cluster, each to exactly one record under
    ``settings.archive.results``; returns the ArchiveSummary. ``verbose``: say how Ray was reached."""
    from maskdetect.classify.backends import resolve_model
    from maskdetect.cluster.connect import connect, import_ray
    from maskdetect.io.images import limit_pixels

    if settings.show and not has_display():
        raise InputError("cannot open a window here (no display); run without --show")
    limit_pixels(settings.max_pixels)
    import_ray()
    from maskdetect.cluster.archive import ResultsStore
    from maskdetect.cluster.archive import run_archive as run_on_cluster
    from maskdetect.cluster.storage import check_folder_output

    archive = settings.archive
    if not archive.results:
        raise InputError("--ray needs --results DIR: the folder or URI the records go to")
    if settings.collecting.collect:
        raise InputError("--collect gathers faces on one machine: run without --ray to collect")
    if len(settings.image) != 1:
        raise InputError("with --ray, -i is one folder, bucket prefix or listing file")
    if settings.json or settings.show:
        raise InputError("with --ray the records go to --results: --json and --show are for runs on one machine")
    detector = _photo_detector(settings)
    detector = dataclasses.replace(
        detector, model=_absolute(detector.model), face_detector_dir=_absolute(detector.face_detector_dir)
    )
    _, model_file = resolve_model(detector.model, detector.backend)
    if not Path(model_file).exists():
        raise InputError(f"no model at {model_file} (every node reads the model at this path)")
    try:
        store = ResultsStore(archive.results, archive.checkpoint, archive.format)
        annotated = settings.output and _absolute(settings.output)
        store.check(owned_folders=_inside(annotated, store))
        if annotated:
            check_folder_output(annotated, "annotated copies")
            if _is_inside(annotated, _absolute(settings.image[0])):
                raise InputError(f"refusing to write annotated copies into {settings.output}: it is inside the archive")
        ray = connect(archive.ray, verbose=verbose)
        return run_on_cluster(
            ray,
            settings.image[0],
            store,
            detector,
            annotated,
            archive.part_size,
            archive.workers,
            progress=settings.progress,
            max_pixels=settings.max_pixels,
        )
    except OSError as error:
        # pyarrow's filesystems: a permission, a credential or a network failure of the storage.
        raise InputError(f"storage: {str(error).splitlines()[0]}") from None


def _absolute(location: str) -> str:
    """A local path made absolute (the workers run in other folders); a URI as it is."""
    from maskdetect.cluster.storage import is_uri

    return location if is_uri(location) else str(Path(location).resolve())


def _is_inside(location: str, archive: str) -> bool:
    """True when ``location`` is the archive's folder or inside it."""
    return location == archive or location.startswith(archive.rstrip("/") + "/")


def _inside(folder: str | None, store: Any) -> list[str]:
    """The name of ``folder`` when it is directly inside the results folder (it is then the run's own)."""
    if folder and Path(folder).parent == Path(store.root) and store.filesystem.type_name == "local":
        return [Path(folder).name]
    return []


def source_addresses(sources: Sequence[str] | None) -> list[str]:
    """The sources, with each env:NAME read from the environment (default: webcam 0)."""
    addresses = []
    for source in sources or ["0"]:
        if source.startswith(SOURCE_VARIABLE_PREFIX):
            name = source.removeprefix(SOURCE_VARIABLE_PREFIX)
            address = os.environ.get(name)
            if not address:
                raise InputError(f"-s {source}: the environment variable {name} is not set")
            source = address
        addresses.append(source)
    return addresses


def check_video_settings(sources: Sequence[str], settings: VideoSettings) -> list[VideoSettings]:
    """Refuse what cannot work before anything loads; returns each source's settings (numbered outputs)."""
    from maskdetect.video.loop import file_outputs_of
    from maskdetect.video.many_sources import check_sources, numbered_settings

    if settings.display and not has_display():
        raise InputError("cannot open a window here (no display); run with --no-display")
    if len(sources) > 1 and (settings.display or is_stdout(settings.json_path)):
        raise InputError(
            "several sources show side by side on the live page (--serve), not in windows or on stdout: "
            "add --no-display, and give --json a file"
        )
    per_source = numbered_settings(settings, len(sources))
    check_sources(sources, per_source)
    if settings.collecting.collect:
        outputs = [path for one in per_source for path, _ in file_outputs_of(one)]
        outputs += [one.snapshots for one in per_source if one.snapshots]
        inputs = [source for source in sources if Path(source).exists()]
        check_collection_output(settings.collecting.collect, inputs=inputs, outputs=outputs)
    return per_source


def run_video(settings: VideoSettings) -> list:
    """Watch every source of ``settings`` on this machine, each on its own thread with its own tracks, alerts
    and numbered outputs; the live page (``--serve``) shows them side by side. Returns their VideoSummaries."""
    from maskdetect.video.loop import run_video as run_source
    from maskdetect.video.many_sources import links_for, run_sources

    sources = source_addresses(settings.source)
    per_source = check_video_settings(sources, settings)
    events = mqtt_events(settings, sources)
    server = feed = None
    if settings.serve:
        from maskdetect.serve.live import LiveFeed
        from maskdetect.serve.pages import serve_page

        feed = LiveFeed(sources)
        server = serve_page(feed, settings.serve, settings.page)
    try:
        detector = dataclasses.replace(
            settings.detector, classifier_threads=VIDEO_CLASSIFIER_THREADS, face_detector_threads=FACE_FINDING_THREADS
        )
        detectors = [load_detector(detector) for _ in sources]
        collector = face_collector(settings.collecting, detectors[0], settings.detector.model, settings.alert_frames)
        links = links_for(len(sources), feed, events, collector)
        if len(sources) == 1:
            summaries = [run_source(detectors[0], sources[0], per_source[0], links[0], checked=True)]
        else:
            summaries = run_sources(detectors, sources, per_source, links)
        if collector is not None:
            collector.close()
        return summaries
    finally:
        if server is not None:
            server.close()


def has_display() -> bool:
    """False on a Linux or BSD machine with no X or Wayland display, where a window cannot open."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def mqtt_events(settings: VideoSettings, sources: Sequence[str]) -> list:
    """One connected MQTT publisher per source (None each without --mqtt); refused credentials are one line."""
    mqtt = settings.events
    if not mqtt.mqtt:
        return [None] * len(sources)
    if len(mqtt.camera_name) not in (0, len(sources)):
        raise InputError(f"give --camera-name once per source ({len(sources)}), or not at all")
    from maskdetect.video.mqtt import Broker, CameraEvents, broker_password, camera_name, import_paho

    import_paho()
    broker, password = Broker.parse(mqtt.mqtt), broker_password(mqtt.mqtt_password_file)
    given: Sequence[str | None] = mqtt.camera_name or [None] * len(sources)
    names = [camera_name(source, name) for source, name in zip(sources, given)]
    if len(set(names)) < len(names):
        raise InputError(f"two sources would publish under one camera name ({', '.join(names)}): give --camera-name")
    return [CameraEvents(broker, name, password, mqtt.mqtt_ca_file, mqtt.mqtt_discovery).start() for name in names]


def run_cameras(settings: VideoSettings, verbose: bool = False) -> tuple[list[dict], bool]:
    """Watch every source of ``settings`` on Ray actors (``settings.cameras``), gathering the events,
    snapshots, statistics and dashboard here. Returns each camera's summary record and whether it was stopped."""
    from maskdetect.cluster.connect import connect, import_ray

    import_ray()
    from maskdetect.cluster.cameras import run_cameras as run_on_cluster
    from maskdetect.serve.dashboard import Dashboard
    from maskdetect.video.loop import check_video_outputs, stop_on_ctrl_c
    from maskdetect.video.many_sources import check_sources, numbered_settings
    from maskdetect.video.sources import is_file_source
    from maskdetect.video.statistics import save_statistics_plot, write_statistics_csv

    if settings.output:
        raise InputError("-o records one machine's video; with --ray use --snapshots, --json and the --serve dashboard")
    if settings.collecting.collect:
        raise InputError("--collect gathers faces on one machine: run without --ray to collect")
    sources = source_addresses(settings.source)
    settings = dataclasses.replace(settings, display=False, heartbeat=None, progress=False)
    per_source = numbered_settings(dataclasses.replace(settings, json_path=None, snapshots=None), len(sources))
    check_sources(sources, per_source)
    for source in sources:
        check_video_outputs(source, dataclasses.replace(settings, stats_csv=None, stats_plot=None))
    # The watchers run in other folders, maybe on other machines: local paths made absolute.
    detector = dataclasses.replace(
        settings.detector,
        model=str(Path(settings.detector.model).resolve()),
        face_detector_dir=str(Path(settings.detector.face_detector_dir).resolve()),
    )
    settings = dataclasses.replace(settings, detector=detector)
    sources = [str(Path(source).resolve()) if is_file_source(source) else source for source in sources]
    mqtt = mqtt_events(settings, sources) if settings.events.mqtt else None
    dashboard = server = None
    if settings.serve:
        from maskdetect.serve.pages import serve_page

        dashboard = Dashboard(sources)
        server = serve_page(dashboard, settings.serve, settings.page)
    stop = threading.Event()
    try:
        ray = connect(settings.cameras.ray, verbose=verbose)
        with stop_on_ctrl_c(stop):
            summaries, _ = run_on_cluster(ray, sources, settings, dashboard, stop, mqtt)
    finally:
        if server is not None:
            server.close()
    for summary, source_settings in zip(summaries, per_source):
        if "per_minute" in summary and source_settings.stats_csv:
            write_statistics_csv(summary, source_settings.stats_csv)
        if "per_minute" in summary and source_settings.stats_plot:
            save_statistics_plot(summary, source_settings.stats_plot)
    return summaries, stop.is_set()
