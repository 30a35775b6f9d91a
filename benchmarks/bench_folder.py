#!/usr/bin/env python3
"""Throughput on a folder of 640 px photos: images per second, writing annotated copies, as
detect_mask_image.py does (models loaded first).

The folder (made here): the 272 street photos of data/scenes/ and dataset close-ups of several sources,
all enlarged to 640 px on the long side. Ours: detect_photos (reading and face finding on worker
threads, faces of several images classified together, writes on the workers), per classifier
backend. Baseline: the loop the toolkit had before, one image at a time: read, detect, classify,
annotate, write (each model on every core). Also ours with YuNet searching at 480 px, and ours with
YuNet run by OpenCV's FaceDetectorYN, as the toolkit did before.
All in one run; each variant runs --repeats times, medians reported.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencv_yunet import OpenCvYuNet

from maskdetect.classify.backends import load_classifier
from maskdetect.detect.detectors import YUNET_MAX_SIDE, load_face_detector
from maskdetect.draw import class_colours, draw_faces
from maskdetect.io.images import (
    list_images,
    read_image,
    write_image,
)
from maskdetect.photos import detect_photos
from maskdetect.pipeline import FACE_FINDING_THREADS, MaskDetector
from maskdetect.shipped_files import SHIPPED_MODEL

SIDE = 640


def make_folder(folder, scenes, dataset, sources, per_source):
    paths = list_images(scenes) + [p for s in sources for p in sorted(Path(dataset).glob(f"*/{s}_*"))[:per_source]]
    for index, path in enumerate(paths):
        image = read_image(path)
        factor = SIDE / max(image.shape[:2])
        cv2.imwrite(str(Path(folder) / f"{index:04d}.jpg"), cv2.resize(image, None, fx=factor, fy=factor))
    return list_images(folder)


def one_at_a_time(detector, paths, out):
    colours = class_colours(detector.class_names)
    for path in paths:
        image = read_image(path)
        write_image(draw_faces(image, detector.detect(image), colours), Path(out) / Path(path).name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--scenes", default=str(ROOT / "data" / "scenes" / "images"))
    parser.add_argument("--dataset", default=str(ROOT / "dataset"))
    parser.add_argument("--sources", nargs="+", default=["fmd", "amvd", "utk", "fexp", "wchm"])
    parser.add_argument("--per-source", type=int, default=70)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        photos = Path(folder) / "photos"
        photos.mkdir()
        paths = make_folder(photos, args.scenes, args.dataset, args.sources, args.per_source)
        results["photos"] = len(paths)
        variants = {
            "one_at_a_time_onnx": ("onnx", None, YUNET_MAX_SIDE),
            "ours_onnx": ("onnx", 2, YUNET_MAX_SIDE),
            "ours_litert": ("litert", 2, YUNET_MAX_SIDE),
            "ours_onnx_detect_size_480": ("onnx", 2, 480),
            "ours_onnx_yunet_run_by_opencv": ("onnx", 2, "opencv"),
        }
        timings = {name: [] for name in variants}
        faces = {}
        for repeat in range(args.repeats):
            for name, (backend, workers, detect_size) in variants.items():
                threads = None if workers is None else FACE_FINDING_THREADS
                face_detector = (
                    OpenCvYuNet()
                    if detect_size == "opencv"
                    else load_face_detector("yunet", max_side=detect_size, threads=threads)
                )
                detector = MaskDetector(load_classifier(args.model, backend), face_detector)
                out = Path(folder) / f"{name}-{repeat}"
                out.mkdir()
                started = time.perf_counter()
                if workers is None:
                    one_at_a_time(detector, paths, out)
                else:
                    checked, failures = detect_photos(detector, paths, [out / p.name for p in paths], workers=workers)
                    assert not failures
                    faces[name] = sum(len(result.faces) for result in checked)
                timings[name].append(time.perf_counter() - started)
        close_ups = paths[len(list_images(args.scenes)) :]
        detector = MaskDetector(load_classifier(args.model, "onnx"), load_face_detector("yunet", threads=FACE_FINDING_THREADS))
        close_up_seconds = []
        for repeat in range(args.repeats):
            out = Path(folder) / f"close-ups-{repeat}"
            out.mkdir()
            started = time.perf_counter()
            detect_photos(detector, close_ups, [out / p.name for p in close_ups], workers=2)
            close_up_seconds.append(time.perf_counter() - started)
    baseline = len(paths) / statistics.median(timings["one_at_a_time_onnx"])
    for name, seconds in timings.items():
        rate = len(paths) / statistics.median(seconds)
        results[name] = {"images_per_s": round(rate, 1), "vs_one_at_a_time": round(rate / baseline, 2), "faces": faces.get(name)}
    results["ours_onnx_dataset_close_ups_only"] = {
        "photos": len(close_ups),
        "images_per_s": round(len(close_ups) / statistics.median(close_up_seconds), 1),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
