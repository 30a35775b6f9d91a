#!/usr/bin/env python3
"""Face-detector recall on the bundled dataset, per class and source, at several thresholds.

Every dataset image holds a face, so the share of images where a detector finds
one is its recall. Boxes beyond the first in an image are counted as a proxy
for false detections (a few images do hold several people). Also reports the
median detection time per image.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.detect.detectors import DETECTORS, load_face_detector
from maskdetect.io.images import read_image
from maskdetect.training.dataset import find_classes, source_of


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default=str(ROOT / "dataset"))
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    args = parser.parse_args()
    files = [(name, path) for name, paths in find_classes(args.dataset).items() for path in paths]
    lowest = min(args.thresholds)
    results = {}
    for detector_name in DETECTORS:
        detector = load_face_detector(detector_name, confidence=lowest)
        scores, times = [], []
        for _, path in files:
            image = read_image(path)
            started = time.perf_counter()
            boxes = detector.detect(image)
            times.append(time.perf_counter() - started)
            scores.append([box.score for box in boxes])
        table = {}
        for threshold in args.thresholds:
            found = np.array([bool(s) and s[0] >= threshold for s in scores])
            extra = np.array([max(0, sum(c >= threshold for c in s) - 1) for s in scores])
            row = {"recall": round(float(found.mean()), 4), "extra_boxes_per_image": round(float(extra.mean()), 4)}
            for class_name in sorted({name for name, _ in files}):
                for source in sorted({source_of(path) for _, path in files}):
                    chosen = np.array([n == class_name and source_of(p) == source for n, p in files])
                    if chosen.any():
                        row[f"recall_{class_name}_{source}"] = round(float(found[chosen].mean()), 4)
            table[str(threshold)] = row
        results[detector_name] = {"median_ms_per_image": round(1000 * statistics.median(times), 2), "by_threshold": table}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
