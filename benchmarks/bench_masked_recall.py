#!/usr/bin/env python3
"""Which search finds the masked faces? Face recall per class and size band, false faces and time per photo.

YuNet searches each annotated photo enlarged by a factor (1 is today's search at the photo's own size)
at a score threshold; a found face matches an annotated one at IoU 0.3. Both benchmarks, each setting
timed on every photo after a warm-up, median ms per photo and the ratio to 1x at 0.4 in the same run.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.judging import BAND_NAMES, band_name
from maskdetect.detect.detectors import YuNetFaceDetector
from maskdetect.evaluation.scenes import DEFAULT_IOU, match_faces
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--benchmarks", nargs="+", default=["scenes", "scenes_web"], help="annotated photo folders in data/")
    parser.add_argument("--upscales", type=float, nargs="+", default=[1.0, 1.25, 1.5, 2.0])
    parser.add_argument("--confidences", type=float, nargs="+", default=[0.3, 0.4])
    parser.add_argument("--min-height", type=int, default=24, help="recall is counted on annotated faces this tall or more")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    photos = {
        name: [(read_image(i), read_annotation(x)) for i, x in annotated_images(ROOT / "data" / name / "images")]
        for name in args.benchmarks
    }
    results = {}
    for name, pairs in photos.items():
        baseline = None
        for upscale in args.upscales:
            for confidence in args.confidences:
                detector = YuNetFaceDetector(confidence=confidence, threads=2, upscale=upscale)
                found_per_photo, times = [], []
                for image, _ in pairs[:3]:
                    detector.detect(image)
                for image, _ in pairs:
                    start = time.perf_counter()
                    found_per_photo.append(detector.detect(image))
                    times.append(time.perf_counter() - start)
                total, hit, false = {}, {}, 0
                for (_, truth), found in zip(pairs, found_per_photo):
                    matched = dict(match_faces(truth, found, DEFAULT_IOU))
                    false += len(found) - len(matched)
                    for index, face in enumerate(truth):
                        key = (face.label, band_name(face.height))
                        total[key] = total.get(key, 0) + 1
                        hit[key] = hit.get(key, 0) + (index in matched)
                ms = statistics.median(times) * 1000
                baseline = ms if (upscale, confidence) == (1.0, 0.4) else baseline
                cell = {"ms_per_photo": round(ms, 2), "false_faces_per_photo": round(false / len(pairs), 3)}
                for label in sorted({label for label, _ in total}):
                    tall = [b for b in BAND_NAMES[1:]] if args.min_height == 24 else BAND_NAMES
                    faces = sum(total.get((label, b), 0) for b in tall)
                    cell[label] = {
                        "recall_24px_and_more": round(sum(hit.get((label, b), 0) for b in tall) / faces, 4) if faces else None,
                        "by_band": {
                            b: round(hit.get((label, b), 0) / total[(label, b)], 4) for b in BAND_NAMES if total.get((label, b))
                        },
                    }
                results[f"{name}, x{upscale}, score {confidence}"] = cell
                print(
                    f"{name} x{upscale} score {confidence}: "
                    + ", ".join(
                        f"{label} {cell[label]['recall_24px_and_more']}" for label in cell if isinstance(cell[label], dict)
                    )
                    + f"; false {cell['false_faces_per_photo']}/photo; {ms:.1f} ms",
                    flush=True,
                )
        for key, cell in results.items():
            if key.startswith(f"{name},") and baseline:
                cell["time_ratio"] = round(cell["ms_per_photo"] / baseline, 2)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
