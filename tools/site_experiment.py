"""The loop of docs/learn_your_door.md run as a site would, with data/scenes/ (street cameras) as the site.

The photos are split in two by photo. From one half the faces are collected (``--collect``) and labelled from
the annotations, as a person would label them on the page; the shipped model is adapted to them
(``--adapt-from``); both models are then measured end to end on the other half, per class and size band.
Everything is written under WORK (outside the repository: no shipped model reads these faces). Run from the
clone::

    python tools/site_experiment.py /tmp/site
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.judging import NOT_A_FACE
from maskdetect.evaluation.scenes import CHECKS_FILE, NO_FACE, iou
from maskdetect.evaluation.voc import read_annotation
from maskdetect.face import Face
from maskdetect.io import collection
from maskdetect.shipped_files import SHIPPED_MODEL

SCENES = ROOT / "data" / "scenes"
# A collected box is the annotated face it overlaps this much (the evaluation's own threshold).
MATCH_IOU = 0.3
# Classes a person sorts into; a mask worn wrong is left unsorted (the shipped model has no class for it).
SORTED = {"with_mask": "with_mask", "without_mask": "without_mask"}


def split_photos(seed):
    photos = sorted((SCENES / "images").glob("*.jpg"))
    order = np.random.default_rng(seed).permutation(len(photos))
    half = len(photos) // 2
    return [photos[i] for i in sorted(order[:half])], [photos[i] for i in sorted(order[half:])]


def link_half(photos, folder):
    """A folder of links to ``photos`` with their annotations and checked boxes, as ``evaluate`` reads them."""
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    for photo in photos:
        os.symlink(photo, folder / "images" / photo.name)
        os.symlink(SCENES / "annotations" / f"{photo.stem}.xml", folder / "annotations" / f"{photo.stem}.xml")
    names = {photo.name for photo in photos}
    with open(SCENES / CHECKS_FILE, newline="", encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    with open(folder / CHECKS_FILE, "w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if row["photo"] in names)


def checked_boxes():
    boxes = {}
    with open(SCENES / CHECKS_FILE, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            box = Face(*(int(row[key]) for key in ("x1", "y1", "x2", "y2")))
            boxes.setdefault(row["photo"], []).append((box, row["verdict"].strip()))
    return boxes


def label_from_annotations(folder):
    """Sort every collected face as the annotations say; returns how many went where."""
    checks, counts = checked_boxes(), {}
    for entry in collection.entries(folder):
        photo = Path(entry.record["source"]).name
        found = Face(*entry.record["source_box"])
        truth = read_annotation(SCENES / "annotations" / f"{Path(photo).stem}.xml")
        best = max(truth, key=lambda face: iou(face, found), default=None)
        if best is not None and iou(best, found) >= MATCH_IOU:
            label = SORTED.get(best.label)
            outcome = label or f"left unsorted ({best.label})"
        else:
            verdicts = [verdict for box, verdict in checks.get(photo, []) if iou(box, found) >= 0.5]
            label = NOT_A_FACE if NO_FACE in verdicts else None
            outcome = label or "left unsorted (unannotated, not checked as no face)"
        if label:
            collection.move_entry(folder, entry.id, label)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def table(before, after):
    """Markdown: per class and size band, end to end, the share judged and label accuracy, before -> after."""
    lines = [
        "| class | size | faces | end to end | uncertain | label accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("with_mask", "without_mask"):
        rows = {"all": (before["classes"][name]["overall"], after["classes"][name]["overall"])}
        bands = before["classes"][name]["by_size"]
        rows.update({band: (cell, after["classes"][name]["by_size"][band]) for band, cell in bands.items()})
        for band, (old, new) in rows.items():
            lines.append(
                f"| {name} | {band} | {old['faces']} | {old['end_to_end']:.3f} -> {new['end_to_end']:.3f} "
                f"| {old['uncertain']} -> {new['uncertain']} | {_rate(old['label_accuracy'])} -> {_rate(new['label_accuracy'])} |"
            )
    return "\n".join(lines) + "\n"


def _rate(value):
    return "-" if value is None else f"{value:.3f}"


def timed(step, command, timings):
    started = time.perf_counter()
    print(f"$ {' '.join(map(str, command))}", flush=True)
    subprocess.run([str(part) for part in command], cwd=ROOT, check=True)
    timings[step] = round(time.perf_counter() - started, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path, help="an empty or new folder outside the repository")
    parser.add_argument("--seed", type=int, default=0, help="how the photos are split")
    parser.add_argument("--adapt-args", default="", help="more options for the adaptation, as one string")
    args = parser.parse_args()
    work = args.work.resolve()
    if work.exists() and any(work.iterdir()):
        parser.error(f"{work} is not empty")
    site, measure = split_photos(args.seed)
    link_half(site, work / "site")
    link_half(measure, work / "measure")
    python, timings = sys.executable, {}
    collected = work / "collected"
    timed(
        "collect_s",
        [
            python,
            "detect_mask_image.py",
            "-q",
            "-i",
            work / "site" / "images",
            "-o",
            work / "site_annotated",
            "--collect",
            collected,
            "--collect-max",
            "100000",
        ],
        timings,
    )
    started = time.perf_counter()
    sorted_counts = label_from_annotations(collected)
    timings["label_s"] = round(time.perf_counter() - started, 1)
    model = work / "adapted.model"
    timed(
        "adapt_s",
        [
            python,
            "train_mask_detector.py",
            "--adapt-from",
            "-d",
            "dataset",
            "-d",
            collected,
            "-m",
            model,
            "-p",
            work / "adapt_plot.png",
            "-r",
            work / "adapt_report.json",
            *args.adapt_args.split(),
        ],
        timings,
    )
    for name, chosen in (("before", ["-m", SHIPPED_MODEL]), ("after", ["-m", model])):
        timed(
            f"evaluate_{name}_s",
            [python, "-m", "maskdetect", "evaluate", "-q", work / "measure" / "images", *chosen, "--json", work / f"{name}.json"],
            timings,
        )
    summary = {
        "seed": args.seed,
        "photos": {"site": len(site), "measured": len(measure)},
        "collected": len(collection.entries(collected)),
        "labelled": sorted_counts,
        "timings": timings,
        "before": json.loads((work / "before.json").read_text()),
        "after": json.loads((work / "after.json").read_text()),
        "adapt_report": json.loads((work / "adapt_report.json").read_text()),
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (work / "table.md").write_text(table(summary["before"], summary["after"]))
    print(table(summary["before"], summary["after"]))
    print(json.dumps({"labelled": sorted_counts, "timings": timings}, indent=1))


if __name__ == "__main__":
    main()
