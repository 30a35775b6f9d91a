#!/usr/bin/env python3
"""The face detector's boxes that match no annotated face, laid out on contact sheets for a person to check.

Most such boxes are real faces nobody annotated (in the background, blurred, turned away); the
rest are no face at all (a hand, a sign, a door frame). This lists them so that each can be looked
at and its verdict recorded (``face`` or ``no_face``) in a CSV: the negatives "not a face" is
trained on, and the false faces the benchmarks count.

    python tools/unmatched_detections.py PHOTOS ANNOTATIONS OUT [--min-side 24] [--confidence 0.4]

writes OUT/unmatched.csv (one row a box: its id, photo, box, detector score) and OUT/sheet_NN.png,
each box drawn in its surroundings and numbered by its id.
"""

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maskdetect.detect.detectors import DEFAULT_CONFIDENCE, PHOTO_UPSCALE, YUNET_MAX_SIDE, load_face_detector
from maskdetect.evaluation.scenes import DEFAULT_IOU, iou
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image

TILE = 200
COLUMNS = 6
ROWS = 5


def unmatched_boxes(photos, annotations, confidence, min_side, max_overlap, max_score=1.0):
    """(photo path, face) for every detection of ``min_side`` px or more, scoring under ``max_score``, overlapping
    no annotated face by more than ``max_overlap`` IoU."""
    detector = load_face_detector("yunet", confidence=confidence, max_side=YUNET_MAX_SIDE, upscale=PHOTO_UPSCALE)
    found = []
    for image_path, xml_path in annotated_images(photos, annotations):
        truth = read_annotation(xml_path)
        image = read_image(image_path)
        for face in detector.detect(image):
            if face.height < min_side or face.score >= max_score:
                continue
            if max((iou(face, annotated) for annotated in truth), default=0.0) < max_overlap:
                found.append((image_path, face, image))
    return found


def tile(image, face, number):
    """The box in its surroundings (twice its size), outlined and numbered."""
    side = max(face.width, face.height) * 2
    cx, cy = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
    x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x2, y2 = int(min(image.shape[1], cx + side / 2)), int(min(image.shape[0], cy + side / 2))
    patch = image[y1:y2, x1:x2].copy()
    cv2.rectangle(
        patch, (face.x1 - x1, face.y1 - y1), (face.x2 - x1 - 1, face.y2 - y1 - 1), (0, 255, 255), max(1, patch.shape[0] // 100)
    )
    scale = TILE / max(patch.shape[:2])
    patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    canvas = np.full((TILE, TILE, 3), 40, np.uint8)
    canvas[: patch.shape[0], : patch.shape[1]] = patch
    cv2.putText(canvas, str(number), (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4)
    cv2.putText(canvas, str(number), (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    return canvas


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos")
    parser.add_argument("annotations")
    parser.add_argument("out")
    parser.add_argument("--min-side", type=int, default=24, help="smallest box height listed (default: 24)")
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE, help="detector score threshold")
    parser.add_argument(
        "--max-score",
        type=float,
        default=1.0,
        help="list only boxes scoring under this (to check the boxes of a lower --confidence apart)",
    )
    parser.add_argument(
        "--max-overlap",
        type=float,
        default=DEFAULT_IOU,
        help="a box overlapping an annotated face by this IoU or more matches it (default: the evaluator's)",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    boxes = unmatched_boxes(args.photos, args.annotations, args.confidence, args.min_side, args.max_overlap, args.max_score)
    with open(out / "unmatched.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "photo", "x1", "y1", "x2", "y2", "score"])
        for number, (path, face, _) in enumerate(boxes):
            writer.writerow([number, Path(path).name, face.x1, face.y1, face.x2, face.y2, round(face.score, 3)])
    per_sheet = COLUMNS * ROWS
    for start in range(0, len(boxes), per_sheet):
        tiles = [tile(image, face, start + k) for k, (_, face, image) in enumerate(boxes[start : start + per_sheet])]
        tiles += [np.zeros_like(tiles[0])] * (per_sheet - len(tiles))
        rows = [np.hstack(tiles[r * COLUMNS : (r + 1) * COLUMNS]) for r in range(ROWS)]
        cv2.imwrite(str(out / f"sheet_{start // per_sheet:02d}.png"), np.vstack(rows))
    print(f"{len(boxes)} unmatched boxes, {-(-len(boxes) // per_sheet)} sheets in {out}")


if __name__ == "__main__":
    main()
