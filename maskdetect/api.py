"""The toolkit from Python: load a detector once, then label the faces of any image array.

    from maskdetect import api

    detector = api.load_detector()
    for face in detector.detect(api.read_image("photo.jpg")):
        print(face.label, face.probability, face.box)

    for result in api.video_results("entrance.mp4"):
        print(result.index, [(face.track_id, face.person_label) for face in result.faces], result.alerts)

Each face is a ``Face``: its box, detector score and landmarks, and the label, probability and
reason the classifier gave. No TensorFlow is imported unless ``backend="keras"``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from maskdetect.detect.align import classifier_crop as _classifier_crop
from maskdetect.face import Face
from maskdetect.io.images import read_image
from maskdetect.io.records import face_record
from maskdetect.pipeline import MaskDetector
from maskdetect.pipeline import load_detector as _load_detector
from maskdetect.runs import run_archive, run_cameras, run_photos, run_video
from maskdetect.settings import DetectorSettings, PhotoSettings, TrainingSettings, VideoSettings
from maskdetect.shipped_files import EXAMPLES, SHIPPED_MODEL
from maskdetect.video.loop import ASSUMED_FPS, FrameResult

__all__ = [
    "EXAMPLES",
    "DetectorSettings",
    "Face",
    "MaskDetector",
    "PhotoSettings",
    "TrainingSettings",
    "VideoSettings",
    "classifier_crop",
    "face_record",
    "load_detector",
    "read_image",
    "run_archive",
    "run_cameras",
    "run_photos",
    "run_video",
    "video_results",
]


def classifier_crop(image: np.ndarray, face: Face, classifier: Any) -> np.ndarray:
    """What ``classifier`` judges of ``face`` in a BGR ``image``: the aligned face, with the lower face stacked
    under it for a two-view classifier; pass a list of them to ``classifier.probabilities``."""
    return _classifier_crop(image, face, classifier.input_size, classifier.lower_face)


def load_detector(settings: DetectorSettings | str | os.PathLike | None = None, **changes: Any) -> MaskDetector:
    """A MaskDetector: ``detect(bgr_image)`` gives every face with its label and probability.

    ``settings``: a DetectorSettings (the photo script's options), or just the model: a Keras model (its ONNX
    export runs by default) or a .onnx or .tflite file (default: the shipped model). ``changes`` replace any of
    its fields, e.g. ``backend='litert'``, ``face_detector=None`` (each image is one face), ``upright=False``,
    ``classifier_threads=1``.
    """
    if not isinstance(settings, DetectorSettings):
        settings = DetectorSettings(model=str(settings or SHIPPED_MODEL))
    if "model" in changes:
        changes["model"] = str(changes["model"])
    return _load_detector(dataclasses.replace(settings, **changes))


def video_results(
    source: str, settings: VideoSettings | None = None, detector: MaskDetector | None = None
) -> Iterator[FrameResult]:
    """Each frame of ``source`` (a video file, webcam index, stream URL, ...) as a FrameResult, as it comes: its
    index and time, the frame annotated as ``settings`` ask (boxes and labels; blurred faces with ``blur``), its
    faces labelled and tracked (``track_id``, ``person_label``), and the people who raise an alert. Nothing is
    written or shown. ``detector``: one loaded already (default: the one ``settings.detector`` describes)."""
    from maskdetect.video.loop import alert_rule, frame_results
    from maskdetect.video.sources import FrameReader
    from maskdetect.video.tracking import FaceTracker

    settings = settings or VideoSettings(display=False)
    detector = detector or _load_detector(settings.detector)
    _, alert_classes = alert_rule(detector.class_names, settings)
    with contextlib.closing(FrameReader(source, settings.open_timeout)) as reader:
        tracker = FaceTracker(reader.fps or ASSUMED_FPS, settings.alert_frames)
        with contextlib.closing(frame_results(detector, reader, settings, tracker, alert_classes, threading.Event())) as results:
            yield from results
