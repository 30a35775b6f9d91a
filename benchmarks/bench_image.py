#!/usr/bin/env python3
"""Time one 640x480 photo end to end (read, detect, classify, annotate), per face detector.

The photo holds three real faces from the bundled examples. Models are loaded
first; the model load time is reported separately. Medians over --repeats runs.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.annotate import class_colours, draw_faces  # noqa: E402
from maskdetect.faces import DETECTORS, load_face_detector  # noqa: E402
from maskdetect.images import read_image  # noqa: E402
from maskdetect.model import MaskClassifier  # noqa: E402
from maskdetect.pipeline import MaskDetector  # noqa: E402

EXAMPLES = ROOT / "examples"


def three_face_photo(path):
    """A 640x480 photo made of three real example photos side by side."""
    tiles = [cv2.imread(str(EXAMPLES / name)) for name in ("fmd_4d175c5964.jpg", "fmd_2c7408b330.jpg", "fmd_3fd9477f16.jpg")]
    tiles = [cv2.resize(tile, (213, 213), interpolation=cv2.INTER_AREA) for tile in tiles]
    canvas = np.full((480, 640, 3), 235, np.uint8)
    for index, tile in enumerate(tiles):
        canvas[133:346, index * 213 : index * 213 + 213] = tile
    cv2.imwrite(str(path), canvas)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "mask_detector.model"))
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    load_times = []
    for _ in range(3):
        started = time.perf_counter()
        classifier = MaskClassifier.load(args.model)
        load_times.append(time.perf_counter() - started)
    colours = class_colours(classifier.class_names)
    results = {"model_load_s_median": round(statistics.median(load_times), 3)}
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "three_faces.jpg"
        three_face_photo(photo)
        for name in DETECTORS:
            detector = MaskDetector(classifier, load_face_detector(name))
            times, faces = [], []
            for _ in range(args.repeats + 3):
                started = time.perf_counter()
                image = read_image(photo)
                found = detector.detect(image)
                draw_faces(image, found, colours)
                times.append(time.perf_counter() - started)
                faces.append(len(found))
            times = times[3:]
            results[name] = {
                "median_ms": round(1000 * statistics.median(times), 1),
                "p90_ms": round(1000 * float(np.percentile(times, 90)), 1),
                "faces_found": statistics.mode(faces),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
