#!/usr/bin/env python3
"""One 640x480 photo with three real faces: warm time per photo, and the cold start of the shell command.

Warm: read, find faces, classify, annotate, with models loaded, per classifier
backend and face detector (medians over --repeats). Cold: `detect_mask_image.py`
on the photo as a user runs it, wall time and peak memory (the child's maxrss),
against `python -c "import tensorflow"` alone, alternating in one run (medians
over --cold-repeats).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencv_yunet import OpenCvYuNet

from maskdetect.classify.backends import BACKENDS, load_classifier
from maskdetect.detect.detectors import DETECTORS, load_face_detector
from maskdetect.draw import class_colours, draw_faces
from maskdetect.io.images import read_image
from maskdetect.pipeline import MaskDetector
from maskdetect.shipped_files import EXAMPLES, SHIPPED_MODEL

TIME = "/usr/bin/time"


def three_face_photo(path):
    """A 640x480 photo made of three real example photos side by side."""
    tiles = [cv2.imread(str(EXAMPLES / name)) for name in ("fmd_4d175c5964.jpg", "fmd_2c7408b330.jpg", "fmd_3fd9477f16.jpg")]
    tiles = [cv2.resize(tile, (213, 213), interpolation=cv2.INTER_AREA) for tile in tiles]
    canvas = np.full((480, 640, 3), 235, np.uint8)
    for index, tile in enumerate(tiles):
        canvas[133:346, index * 213 : index * 213 + 213] = tile
    cv2.imwrite(str(path), canvas)


def warm_times(classifier, face_detector, photo, repeats):
    detector = MaskDetector(classifier, face_detector)
    colours = class_colours(classifier.class_names)
    times, faces = [], []
    for _ in range(repeats + 3):
        started = time.perf_counter()
        image = read_image(photo)
        found = detector.detect(image)
        draw_faces(image, found, colours)
        times.append(time.perf_counter() - started)
        faces.append(len(found))
    times = times[3:]
    return {
        "median_ms": round(1000 * statistics.median(times), 1),
        "p90_ms": round(1000 * float(np.percentile(times, 90)), 1),
        "faces_found": statistics.mode(faces),
    }


def run_measured(command, folder):
    """(wall seconds, peak resident MB) of a command run to its end.

    GNU time reports the peak: a child forked from this (large) process would inherit its high-water mark.
    """
    report = Path(folder) / "time.txt"
    started = time.perf_counter()
    subprocess.run([TIME, "-f", "%M", "-o", str(report), *command], check=True, capture_output=True)
    return time.perf_counter() - started, int(report.read_text().split()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--cold-repeats", type=int, default=5)
    args = parser.parse_args()
    results = {"warm": {}, "cold": {}}
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "three_faces.jpg"
        three_face_photo(photo)
        for backend in BACKENDS:
            classifier = load_classifier(args.model, backend)
            for name in DETECTORS:
                results["warm"][f"{backend}_{name}"] = warm_times(classifier, load_face_detector(name), photo, args.repeats)
            results["warm"][f"{backend}_yunet_320"] = warm_times(
                classifier, load_face_detector("yunet", max_side=320), photo, args.repeats
            )
            results["warm"][f"{backend}_yunet_run_by_opencv"] = warm_times(classifier, OpenCvYuNet(), photo, args.repeats)
        commands = {
            "import_tensorflow": [sys.executable, "-c", "import tensorflow"],
            "detect_one_photo": [
                sys.executable,
                str(ROOT / "detect_mask_image.py"),
                "-i",
                str(photo),
                "-o",
                str(Path(folder) / "out.jpg"),
            ],
        }
        runs = {name: [] for name in commands}
        for _ in range(args.cold_repeats):
            for name, command in commands.items():
                runs[name].append(run_measured(command, folder))
    for name, measured in runs.items():
        results["cold"][name] = {
            "median_s": round(statistics.median(wall for wall, _ in measured), 3),
            "peak_mb_median": round(statistics.median(peak for _, peak in measured), 1),
        }
    results["cold"]["photo_vs_import_tensorflow"] = round(
        results["cold"]["detect_one_photo"]["median_s"] / results["cold"]["import_tensorflow"]["median_s"], 3
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
