#!/usr/bin/env python3
"""What finding small faces costs: YuNet's face recall per face size on annotated photos, when each photo
is enlarged before detection, against the time per photo.

Every factor is measured in the same run over the same photos; times are medians over photos.
"""

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.judging import BAND_NAMES, band_name
from maskdetect.detect.detectors import YUNET_MAX_SIDE, load_face_detector
from maskdetect.evaluation.scenes import DEFAULT_IOU, match_faces
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image


def measure(photos, factor, confidence):
    detector = load_face_detector("yunet", confidence=confidence)
    found, total, false_faces, seconds = Counter(), Counter(), 0, []
    for image, truth in photos:
        started = time.perf_counter()
        enlarged = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR) if factor != 1 else image
        boxes = detector.detect(enlarged)
        seconds.append(time.perf_counter() - started)
        boxes = [type(b)(*(round(v / factor) for v in b.box), score=b.score) for b in boxes]
        matched = match_faces(truth, boxes, DEFAULT_IOU)
        false_faces += len(boxes) - len(matched)
        hit = {ti for ti, _ in matched}
        for index, face in enumerate(truth):
            key = (face.label, band_name(face.height))
            total[key] += 1
            found[key] += index in hit
    return found, total, false_faces, statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("images", nargs="?", default=str(ROOT / "data" / "scenes" / "images"), help="folder of annotated photos")
    parser.add_argument("--factors", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0], help="enlargement factors")
    parser.add_argument("--confidence", type=float, default=0.4, help="YuNet score threshold")
    args = parser.parse_args()
    photos = [(read_image(image), read_annotation(xml)) for image, xml in annotated_images(args.images)]
    print(f"{len(photos)} photos; YuNet searches at most {YUNET_MAX_SIDE} px on the long side; IoU >= {DEFAULT_IOU}")
    baseline = None
    for factor in args.factors:
        found, total, false_faces, median_s = measure(photos, factor, args.confidence)
        baseline = baseline or median_s
        print(
            f"\nx{factor:g}: {median_s * 1000:.1f} ms per photo (median, {median_s / baseline:.2f}x of x{args.factors[0]:g}), "
            f"{false_faces} false faces"
        )
        for label in sorted({key[0] for key in total}):
            cells = [f"{size} {found[(label, size)]}/{total[(label, size)]}" for size in BAND_NAMES if total[(label, size)]]
            overall = sum(found[(label, s)] for s in BAND_NAMES) / sum(total[(label, s)] for s in BAND_NAMES)
            print(f"  {label:<22} recall {overall:.3f}   " + "   ".join(cells))


if __name__ == "__main__":
    main()
