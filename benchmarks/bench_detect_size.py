#!/usr/bin/env python3
"""At what size should YuNet search a video frame? Face recall and time when a 640 px frame is shrunk
before detection (``--detect-size``), on annotated street photos and on dataset faces.

Street photos (``data/scenes/``, about 400 px) are enlarged to 640 px on the long side, like a camera frame, and
recall is counted per face height in that frame. Dataset images are enlarged to 480 px high, like a webcam
close-up, and counted as found when YuNet finds a face there. Every size is measured in the same run;
times are medians per frame.
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
from maskdetect.detect.detectors import load_face_detector
from maskdetect.evaluation.scenes import DEFAULT_IOU, match_faces
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.face import Face
from maskdetect.io.images import read_image

FRAME_SIDE = 640


def scene_frames(folder):
    """(frame, [(label, box)]) with each photo enlarged to FRAME_SIDE px on its long side."""
    for image_path, xml_path in annotated_images(folder):
        image = read_image(image_path)
        factor = FRAME_SIDE / max(image.shape[:2])
        frame = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        faces = [(face.label, Face(*(round(v * factor) for v in face.box))) for face in read_annotation(xml_path)]
        yield frame, faces


def close_ups(dataset, sources, per_source):
    """(source, frame): dataset images enlarged to 480 px high."""
    for source in sources:
        files = sorted(Path(dataset).glob(f"*/{source}_*"))[:per_source]
        for path in files:
            image = read_image(path)
            factor = 480 / image.shape[0]
            yield source, cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scenes", default=str(ROOT / "data" / "scenes" / "images"), help="folder of annotated photos")
    parser.add_argument("--dataset", default=str(ROOT / "dataset"), help="dataset folder")
    parser.add_argument("--sources", nargs="+", default=["wchm", "wcmd", "fmd", "amvd", "utk"], help="dataset sources")
    parser.add_argument("--per-source", type=int, default=150, help="images per dataset source")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 480, 320, 240], help="detection sizes (long side)")
    args = parser.parse_args()
    scenes = list(scene_frames(args.scenes))
    faces = list(close_ups(args.dataset, args.sources, args.per_source))
    print(
        f"{len(scenes)} street photos as {FRAME_SIDE} px frames; {len(faces)} dataset close-ups at 480 px high; "
        f"IoU >= {DEFAULT_IOU}"
    )
    baseline = None
    for size in args.sizes:
        detector = load_face_detector("yunet", max_side=size)
        found, total, seconds = Counter(), Counter(), []
        for frame, truth in scenes:
            started = time.perf_counter()
            boxes = detector.detect(frame)
            seconds.append(time.perf_counter() - started)
            hit = {index for index, _ in match_faces([box for _, box in truth], boxes, DEFAULT_IOU)}
            for index, (label, box) in enumerate(truth):
                total[(label, band_name(box.height))] += 1
                found[(label, band_name(box.height))] += index in hit
        close_found, close_total = Counter(), Counter()
        for source, frame in faces:
            close_total[source] += 1
            close_found[source] += bool(detector.detect(frame))
        median_ms = statistics.median(seconds) * 1000
        baseline = baseline or median_ms
        print(f"\ndetect size {size}: {median_ms:.1f} ms per frame (median; {median_ms / baseline:.2f}x of {args.sizes[0]})")
        for label in sorted({key[0] for key in total}):
            cells = [f"{name} {found[(label, name)]}/{total[(label, name)]}" for name in BAND_NAMES if total[(label, name)]]
            share = sum(found[(label, n)] for n in BAND_NAMES) / sum(total[(label, n)] for n in BAND_NAMES)
            print(f"  scenes {label}: recall {share:.3f} ({', '.join(cells)})")
        print("  close-ups found: " + ", ".join(f"{s} {close_found[s]}/{close_total[s]}" for s in args.sources))


if __name__ == "__main__":
    main()
