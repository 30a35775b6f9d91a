#!/usr/bin/env python3
"""Video FPS: the toolkit's pipeline against the classic loop, on one real 640x480 video.

The video (an MJPG file made here from bundled photos, one face per frame) is
read from disk by all. Ours: run_video, the code behind detect_mask_video.py
run headless (capture thread, faces found on a second thread one frame ahead,
classifier, annotation), for each classifier backend, face detector and
detection size. Classic: per frame VideoCapture.read, blobFromImage, SSD
forward, crop, Keras model.predict. All in one run; FPS are medians per frame.
"""

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.backends import DEFAULT_BACKEND, load_classifier
from maskdetect.classify.keras_backend import KerasClassifier
from maskdetect.detect.detectors import (
    VIDEO_DETECT_SIZE,
    SsdFaceDetector,
    load_face_detector,
)
from maskdetect.pipeline import (
    FACE_FINDING_THREADS,
    VIDEO_CLASSIFIER_THREADS,
    MaskDetector,
)
from maskdetect.settings import VideoSettings
from maskdetect.shipped_files import EXAMPLES, SHIPPED_MODEL
from maskdetect.video.loop import run_video

PHOTOS = ["fmd_4d175c5964.jpg", "fmd_2c7408b330.jpg", "fmd_3fd9477f16.jpg", "fmd_4eef93dd7d.jpg"]


def make_frames(count):
    """640x480 frames, one real face photo each, drifting and changing every 30 frames."""
    faces = [cv2.resize(cv2.imread(str(EXAMPLES / name)), (260, 260)) for name in PHOTOS]
    frames = []
    for index in range(count):
        canvas = np.full((480, 640, 3), 100, np.uint8)
        x, y = 120 + (index % 40) * 5, 90 + (index % 20) * 3
        canvas[y : y + 260, x : x + 260] = faces[(index // 30) % len(faces)]
        frames.append(canvas)
    return frames


def write_video(frames, path):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    for frame in frames:
        writer.write(frame)
    writer.release()


def time_classic(path, process, limit):
    capture = cv2.VideoCapture(str(path))
    times = []
    while len(times) < limit:
        started = time.perf_counter()
        ok, frame = capture.read()
        if not ok:
            break
        process(frame)
        times.append(time.perf_counter() - started)
    return times[5:]


def classic_loop(model, class_names):
    """The classic tutorial's per-frame code, on the same models."""
    net = SsdFaceDetector()._net.get()
    input_height, input_width = model.input.shape[1:3]  # a two-view model takes the face with the lower face under it

    def process(frame):
        height, width = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, 1.0, (300, 300), (104.0, 177.0, 123.0))
        net.setInput(blob)
        detections = net.forward()
        faces, boxes = [], []
        for i in range(detections.shape[2]):
            if detections[0, 0, i, 2] > 0.5:
                box = (detections[0, 0, i, 3:7] * np.array([width, height, width, height])).astype(int)
                x1, y1 = max(0, box[0]), max(0, box[1])
                x2, y2 = min(width - 1, box[2]), min(height - 1, box[3])
                if x2 <= x1 or y2 <= y1:
                    continue
                face = cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_BGR2RGB)
                faces.append(cv2.resize(face, (input_width, input_height)).astype("float32"))
                boxes.append((x1, y1, x2, y2))
        for face, box in zip(faces, boxes):
            probabilities = model.predict(face[None], verbose=0)["probabilities"][0]
            label = class_names[int(np.argmax(probabilities))]
            colour = (0, 255, 0) if label == "with_mask" else (0, 0, 255)
            cv2.putText(frame, label, (box[0], box[1] - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 2)
            cv2.rectangle(frame, box[:2], box[2:], colour, 2)

    return process


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--classic-frames", type=int, default=100)
    args = parser.parse_args()
    logging.getLogger("maskdetect").setLevel(logging.ERROR)  # no alert lines among the results
    keras_classifier = KerasClassifier.load(args.model)
    runs = [
        (DEFAULT_BACKEND, "yunet", VIDEO_DETECT_SIZE),
        (DEFAULT_BACKEND, "yunet", 320),
        (DEFAULT_BACKEND, "yunet", 640),
        (DEFAULT_BACKEND, "ssd", VIDEO_DETECT_SIZE),
        ("litert", "yunet", VIDEO_DETECT_SIZE),
        ("keras", "yunet", VIDEO_DETECT_SIZE),
    ]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "faces.avi"
        write_video(make_frames(args.frames), video)
        classic = time_classic(video, classic_loop(keras_classifier.model, keras_classifier.class_names), args.classic_frames)
        results["classic_median_fps"] = round(1 / statistics.median(classic), 1)
        for backend, face_detector, size in runs:
            classifier = (
                keras_classifier if backend == "keras" else load_classifier(args.model, backend, VIDEO_CLASSIFIER_THREADS)
            )
            detector = MaskDetector(classifier, load_face_detector(face_detector, max_side=size, threads=FACE_FINDING_THREADS))
            summary = run_video(detector, video, VideoSettings(display=False))
            name = f"{backend}_{face_detector}_{size}"
            results[name] = {
                "median_fps": round(summary.median_fps, 1),
                "vs_classic": round(summary.median_fps / results["classic_median_fps"], 2),
                "faces": dict(summary.faces),
            }
    print(json.dumps(results, indent=2))
    print(
        "\n".join(
            f"{name}: {row['median_fps']} FPS, {row['vs_classic']}x classic"
            for name, row in results.items()
            if isinstance(row, dict)
        ),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
