#!/usr/bin/env python3
"""Training images from detector boxes a person checked: "not a face" boxes, and real faces nobody annotated.

    python tools/make_checked_boxes.py DATASET PHOTOS PHOTO_MANIFEST REVIEW [REVIEW ...]

Each REVIEW folder is what tools/unmatched_detections.py wrote (unmatched.csv), with the verdicts a person
recorded for every box (verdicts*.csv: id, verdict face or no_face, what) and, optionally, the mask class
of the faces among them (labels*.csv: id, label: a class name, or unsure). Writes, in DATASET:
- not_a_face/nf_*.jpg: each no-face box; <class>/ilcx_*.jpg: each face whose class was told (the hard,
  unannotated faces: background, blurred, turned); each a square twice its box, at most 256 px;
- <class>/boxes.csv: the box and the detector's landmarks in each of these crops, which frame it in
  training (no face search);
- not_a_face_checks.csv: every box checked, face or not, with its class where told (an unannotated real
  face is never a negative);
- their rows of dataset_manifest.csv, replaced.
"""

import argparse
import csv
import hashlib
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from maskdetect.classify.judging import NOT_A_FACE
from maskdetect.detect.align import crop_face
from maskdetect.detect.detectors import PHOTO_UPSCALE, YUNET_MAX_SIDE, load_face_detector
from maskdetect.io.images import read_image
from maskdetect.training.dataset import BOXES_FILE

MAX_SIDE = 256
MANIFEST = "dataset_manifest.csv"
CHECKS = "not_a_face_checks.csv"
# Low enough to find again every box a review listed (NMS never drops a box for a weaker one).
SEARCH_CONFIDENCE = 0.2
# The names this tool gives; a rerun replaces exactly these files and rows.
PREFIXES = {NOT_A_FACE: "nf", "face": "ilcx"}


def read_rows(folder, pattern, key):
    rows = {}
    for path in sorted(Path(folder).glob(pattern)):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows[int(row["id"])] = {name: (value or "").strip() for name, value in row.items()} | {key: path.name}
    return rows


def cut(image, face, out_path):
    """Write the box's square twice its size; return its box and landmarks in the written crop."""
    side = max(face.width, face.height) * 2
    size = int(min(MAX_SIDE, round(side)))
    cv2.imwrite(str(out_path), crop_face(image, face, size, scale=2.0), [cv2.IMWRITE_JPEG_QUALITY, 90])
    zoom = size / side
    origin_x, origin_y = (face.x1 + face.x2) / 2 - side / 2, (face.y1 + face.y2) / 2 - side / 2

    def inside(x, y):
        return (x - origin_x) * zoom, (y - origin_y) * zoom

    (x1, y1), (x2, y2) = inside(face.x1, face.y1), inside(face.x2, face.y2)
    points = [value for point in face.landmarks for value in inside(*point)] if face.landmarks else []
    return {
        "x1": round(x1),
        "y1": round(y1),
        "x2": round(x2),
        "y2": round(y2),
        "landmarks": " ".join(f"{value:.1f}" for value in points),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("photos")
    parser.add_argument("photo_manifest")
    parser.add_argument("reviews", nargs="+")
    args = parser.parse_args()
    dataset, photos = Path(args.dataset), Path(args.photos)
    with open(args.photo_manifest, newline="", encoding="utf-8") as handle:
        sources = {Path(row["file"]).name: row for row in csv.DictReader(handle)}
    classes = sorted(p.name for p in dataset.iterdir() if p.is_dir() and p.name != NOT_A_FACE)
    for folder in (dataset / name for name in [NOT_A_FACE, *classes]):
        folder.mkdir(exist_ok=True)
        for old in [*folder.glob("nf_*.jpg"), *folder.glob("ilcx_*.jpg"), folder / BOXES_FILE]:
            old.unlink(missing_ok=True)
    detector = load_face_detector("yunet", confidence=SEARCH_CONFIDENCE, max_side=YUNET_MAX_SIDE, upscale=PHOTO_UPSCALE)
    detections, checks, framing, manifest_rows = {}, [], {}, []
    for review in map(Path, args.reviews):
        with open(review / "unmatched.csv", newline="", encoding="utf-8") as handle:
            boxes = list(csv.DictReader(handle))
        verdicts, labels = read_rows(review, "verdicts*.csv", "file"), read_rows(review, "labels*.csv", "file")
        missing = [row["id"] for row in boxes if int(row["id"]) not in verdicts]
        if missing:
            sys.exit(f"{review}: no verdict for {len(missing)} boxes, e.g. {missing[:5]}")
        for row in boxes:
            number = int(row["id"])
            verdict, what = verdicts[number]["verdict"], verdicts[number].get("what", "")
            label = NOT_A_FACE if verdict == "no_face" else labels.get(number, {}).get("label", "")
            box = tuple(int(row[key]) for key in ("x1", "y1", "x2", "y2"))
            checks.append(
                {
                    "review": review.name,
                    "photo": row["photo"],
                    "x1": box[0],
                    "y1": box[1],
                    "x2": box[2],
                    "y2": box[3],
                    "score": row["score"],
                    "verdict": verdict,
                    "what": what,
                    "class": label if label in (NOT_A_FACE, *classes) else "",
                }
            )
            if label not in (NOT_A_FACE, *classes):
                continue
            if row["photo"] not in detections:
                image = read_image(photos / row["photo"])
                detections[row["photo"]] = (image, detector.detect(image))
            image, found = detections[row["photo"]]
            face = next(f for f in found if tuple(f.box) == box)
            prefix = PREFIXES[NOT_A_FACE if label == NOT_A_FACE else "face"]
            name = f"{prefix}_{Path(row['photo']).stem.removeprefix('ilc_')}_{review.name}_{number}.jpg"
            framing.setdefault(label, []).append({"file": name, **cut(image, face, dataset / label / name)})
            source = sources[row["photo"]]
            kind = f"no face ({what})" if label == NOT_A_FACE else f"an unannotated {label} face"
            manifest_rows.append(
                {
                    "file": f"{label}/{name}",
                    "label": label,
                    "source_repository": source["source_repository"],
                    "source_commit": source["source_commit"],
                    "source_path": source["source_path"],
                    "source_sha1": source["source_sha1"],
                    "license": source["license"],
                    "note": f"YuNet box ({','.join(map(str, box))}) score {row['score']} in {row['photo']} matching no "
                    f"annotated face, checked by eye: {kind}; twice the box, at most {MAX_SIDE} px, JPEG 90; "
                    f"crop sha1 {hashlib.sha1((dataset / label / name).read_bytes()).hexdigest()[:12]}",
                }
            )
    for label, rows in framing.items():
        with open(dataset / label / BOXES_FILE, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, ["file", "x1", "y1", "x2", "y2", "landmarks"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    with open(dataset / CHECKS, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(checks[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(checks)
    with open(dataset / MANIFEST, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        kept = [row for row in reader if not Path(row["file"]).name.startswith(tuple(f"{p}_" for p in PREFIXES.values()))]
    with open(dataset / MANIFEST, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields)  # the manifest keeps its CRLF line ends
        writer.writeheader()
        writer.writerows(kept + manifest_rows)
    print(f"{len(checks)} boxes checked: " + ", ".join(f"{len(rows)} {label}" for label, rows in sorted(framing.items())))


if __name__ == "__main__":
    main()
