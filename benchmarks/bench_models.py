#!/usr/bin/env python3
"""Models side by side on data none of them trained on: both benchmarks end to end, the hard cases, and the
faces that are hard for a reason (dark masks, faces turned away).

For each model (a Keras model folder with its ONNX export beside it), as the photo script runs it:
- `data/scenes_web/` and `data/scenes/`: face recall; per class and size band, the share judged and the label accuracy
  of those judged; end to end; the boxes checked by eye as no face (`unmatched_checks.csv` beside each
  benchmark) that are still reported as faces;
- faces in dark masks (the annotated box's lower middle has a median grey under DARK_GREY) and faces turned
  about 45 degrees or more (the nose tip outside the eyes, by the detector's landmarks), per class;
- the hard cases (`face-check data/hard_cases`), and the default recipe's validation faces (1.4.0's split), each
  labelled as detection labels it (a face dropped as no face is wrong).

    python benchmarks/bench_models.py NAME=MODEL [NAME=MODEL ...] [--json results.json]
"""

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect import api
from maskdetect.classify.judging import (
    NOT_A_FACE,
    REASONS,
    band_name,
)
from maskdetect.detect.align import classifier_crop
from maskdetect.detect.detectors import load_face_detector
from maskdetect.evaluation.face_check import check_faces, labels_as_detected
from maskdetect.evaluation.scenes import (
    CHECKED_BOX_IOU,
    CHECKS_FILE,
    DEFAULT_IOU,
    iou,
    match_faces,
    no_face_boxes,
)
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image

BENCHMARKS = {"scenes_web": ROOT / "data" / "scenes_web", "scenes": ROOT / "data" / "scenes"}
DARK_GREY = 70
CLASSES = ("with_mask", "without_mask", "mask_weared_incorrect")


def is_turned(face):
    """The nose tip outside the span of the eyes (in the face's own level frame): turned about 45 degrees or more."""
    if face is None or face.landmarks is None:
        return False
    (rx, ry), (lx, ly), (nx, ny) = face.landmarks[:3]
    across = np.array([lx - rx, ly - ry])
    position = float(np.dot([nx - rx, ny - ry], across) / max(np.dot(across, across), 1e-9))
    return position < 0.0 or position > 1.0


def is_dark_mask(image, truth):
    """The annotated face's lower middle (mask or mouth) is dark."""
    x1, x2 = truth.x1 + truth.width // 4, truth.x2 - truth.width // 4
    y1, y2 = truth.y1 + int(truth.height * 0.6), truth.y2
    region = image[max(0, y1) : y2, max(0, x1) : x2]
    return region.size > 0 and float(np.median(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY))) < DARK_GREY


def benchmark_records(detector, folder):
    """One record per annotated face, and the count of checked no-face boxes still reported."""
    no_faces = no_face_boxes(folder / CHECKS_FILE)
    records, still_reported = [], 0
    for image_path, xml_path in annotated_images(folder / "images", folder / "annotations"):
        truth = read_annotation(xml_path)
        image = read_image(image_path)
        found = detector.detect(image)
        matched = dict(match_faces(truth, found, DEFAULT_IOU))
        still_reported += sum(
            1 for box in no_faces.get(image_path.name, []) if any(iou(box, face) >= CHECKED_BOX_IOU for face in found)
        )
        for index, face in enumerate(truth):
            hit = found[matched[index]] if index in matched else None
            records.append(
                {
                    "truth": face.label,
                    "band": band_name(face.height),
                    "predicted": None if hit is None else hit.verdict,
                    "dark_mask": face.label != "without_mask" and is_dark_mask(image, face),
                    "turned": is_turned(hit),
                }
            )
    return records, still_reported, sum(map(len, no_faces.values()))


def cell(records, truth):
    found = [r for r in records if r["predicted"] is not None]
    judged = [r for r in found if r["predicted"] not in REASONS]
    right = sum(1 for r in judged if r["predicted"] == truth)
    return {
        "faces": len(records),
        "found": len(found),
        "judged": len(judged),
        "judged_share": round(len(judged) / len(found), 4) if found else None,
        "label_accuracy": round(right / len(judged), 4) if judged else None,
        "end_to_end": round(right / len(records), 4) if records else None,
    }


def summary(records, still_reported, checked):
    result = {
        "face_recall": round(sum(r["predicted"] is not None for r in records) / len(records), 4),
        "no_face_still_reported": still_reported,
        "no_face_checked": checked,
    }
    masked_unmasked = [r for r in records if r["truth"] != "mask_weared_incorrect"]
    judged = [r for r in masked_unmasked if r["predicted"] not in (None, *REASONS)]
    result["end_to_end_masked_unmasked"] = round(sum(r["predicted"] == r["truth"] for r in judged) / len(masked_unmasked), 4)
    result["end_to_end_all"] = round(sum(r["predicted"] == r["truth"] for r in records if r["predicted"]) / len(records), 4)
    for truth in CLASSES:
        of_class = [r for r in records if r["truth"] == truth]
        if not of_class:
            continue
        result[truth] = {"all": cell(of_class, truth)}
        for band in ("<24", "24-40", "40-80", ">=80"):
            result[truth][band] = cell([r for r in of_class if r["band"] == band], truth)
        result[truth][">=40"] = cell([r for r in of_class if r["band"] in ("40-80", ">=80")], truth)
        result[truth]["dark_mask"] = cell([r for r in of_class if r["dark_mask"]], truth)
        result[truth]["turned"] = cell([r for r in of_class if r["turned"]], truth)
    return result


def validation_faces():
    """The default recipe's validation faces (the split of every model here: 1.4.0's faces, and the checked
    boxes apart), as (crops for a one-view and a two-view classifier, true class names, heights, sources)."""
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.dataset import load_dataset
    from maskdetect.training.train import validation_split

    config = TrainingSettings(verbose=False)
    dataset = load_dataset(config.datasets, load_face_detector("yunet"), verbose=False)
    labels = np.asarray(dataset.labels)
    _, chosen = validation_split(labels, np.asarray(dataset.hashes), config, dataset.class_names, np.asarray(dataset.checked))
    chosen = [i for i in chosen if not dataset.checked[i] and dataset.class_names[labels[i]] in CLASSES]
    crops = {lower: [classifier_crop(dataset.images[i], dataset.boxes[i], 128, lower) for i in chosen] for lower in (False, True)}
    truths = [dataset.class_names[labels[i]] for i in chosen]
    return crops, truths, [dataset.boxes[i].height for i in chosen], [dataset.sources[i] for i in chosen]


def validation_scores(classifier, validation):
    """Accuracy on the validation faces, labelled as detection labels them, per class and per source of 100+."""
    crops, truths, heights, sources = validation
    predicted = labels_as_detected(classifier, crops[classifier.lower_face], heights)
    right = np.array([p == t for p, t in zip(predicted, truths)])
    truths, sources = np.array(truths), np.array(sources)
    scores = {name: round(float(right[truths == name].mean()), 4) for name in np.unique(truths)}
    scores["all"] = round(float(right.mean()), 4)
    scores["dropped_as_no_face"] = int(sum(p == NOT_A_FACE for p in predicted))
    scores["per_source"] = {
        name: round(float(right[sources == name].mean()), 4) for name in np.unique(sources) if (sources == name).sum() >= 100
    }
    return scores


def measure(model, validation):
    detector = api.load_detector(model)
    results = {"validation_as_detected": validation_scores(detector.classifier, validation)}
    for name, folder in BENCHMARKS.items():
        results[name] = summary(*benchmark_records(detector, folder))
    hard = check_faces(detector.classifier, ROOT / "data" / "hard_cases", load_face_detector("yunet"))
    results["hard_cases"] = {
        kind: {cls: round(score["accuracy"], 4) for cls, score in classes.items()} for kind, classes in hard.items()
    }
    report = Path(model).parent / "training_report.json"
    if report.is_file():
        data = json.loads(report.read_text())
        results["training_s"] = data.get("wall_time_s")
        results["judging"] = data.get("judging", {}).get("min_probability")
        results["not_a_face_threshold"] = data.get("judging", {}).get("not_a_face_min_probability")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="NAME=MODEL")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    results = {}
    validation = validation_faces()
    for item in args.models:
        name, model = item.split("=", 1)
        results[name] = measure(model, validation)
        web, streets = results[name]["scenes_web"], results[name]["scenes"]
        print(
            f"{name}: validation {results[name]['validation_as_detected']['all']}, "
            f"web masked {web['with_mask']['all']['label_accuracy']} unmasked "
            f"{web['without_mask']['all']['label_accuracy']} (>=40 {web['without_mask']['>=40']['label_accuracy']}) "
            f"incorrect e2e {web['mask_weared_incorrect']['all']['end_to_end']} e2e {web['end_to_end_masked_unmasked']} / "
            f"{web['end_to_end_all']}, recall {web['face_recall']}, no-face {web['no_face_still_reported']}/"
            f"{web['no_face_checked']}; streets recall {streets['face_recall']}, no-face "
            f"{streets['no_face_still_reported']}/{streets['no_face_checked']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
