#!/usr/bin/env python3
"""Is the judging as fair across skin tone, gender and age? UTKFace validation faces by group.

UTKFace's file names give each face's age, gender and race (the dataset's own labels: White,
Black, Asian, Indian, Others). Its faces in training's default validation split (all unmasked,
never trained on) are scored per group: accuracy, and the share each model's judging rule
judges, at their own size and shrunk to 30 and 56 px, clean and degraded like a poor webcam
(60 px, 40 % light, blue cast, JPEG 30). A baseline model (``--baselines``, with its own rule or,
if it has none, the fixed 24 px cut) is scored on the same faces; a baseline trained on another
split may have seen some of them, which flatters it, not us.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.backends import load_classifier
from maskdetect.classify.judging import JudgingRule
from maskdetect.detect.align import classifier_crop
from maskdetect.detect.detectors import load_face_detector
from maskdetect.pipeline import UNCALIBRATED_MIN_FACE_SIZE
from maskdetect.settings import TrainingSettings
from maskdetect.shipped_files import SHIPPED_MODEL
from maskdetect.training.augment import degraded_copy
from maskdetect.training.calibration import shrunk_like
from maskdetect.training.dataset import load_dataset
from maskdetect.training.train import validation_split

RACES = ("White", "Black", "Asian", "Indian", "Others")
AGE_BANDS = ((0, 18, "0-17"), (18, 40, "18-39"), (40, 60, "40-59"), (60, 200, "60+"))
VIEWS = (("own size", None, False), ("30 px", 30, False), ("56 px", 56, False), ("degraded", None, True))


def utk_groups():
    """{dataset file name: (race, gender, age band)} from the manifest's UTKFace source paths."""
    groups = {}
    with open(ROOT / "dataset" / "dataset_manifest.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = Path(row["file"]).name
            if not name.startswith("utk_"):
                continue
            age, gender, race = Path(row["source_path"]).name.split("_")[:3]
            band = next(label for low, high, label in AGE_BANDS if low <= int(age) < high)
            groups[name] = (RACES[int(race)], ("male", "female")[int(gender)], band)
    return groups


def score(classifier, crops, truth, heights):
    """Per view: (right, judged) per face under the classifier's own rule."""
    rule = getattr(classifier, "judging_rule", None) or JudgingRule.fixed_size(UNCALIBRATED_MIN_FACE_SIZE)
    truth_index = classifier.class_names.index(truth)
    results = {}
    for name, height, degraded in VIEWS:
        faces = [degraded_copy(crop) if degraded else shrunk_like(crop, height) for crop in crops]
        probabilities = classifier.probabilities(faces)
        seen = np.array([height or (60 if degraded else own) for own in heights])
        judged = np.array([rule.reason(h, float(p.max())) is None for h, p in zip(seen, probabilities)])
        results[name] = (probabilities.argmax(axis=1) == truth_index, judged)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--baselines", nargs="*", default=[], help="models to compare with (e.g. earlier releases' .onnx)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    config = TrainingSettings(verbose=False)
    dataset = load_dataset(config.datasets, load_face_detector("yunet"), verbose=False)
    labels = np.asarray(dataset.labels)
    _, val_idx = validation_split(labels, np.asarray(dataset.hashes), config, dataset.class_names)
    groups = utk_groups()
    chosen = [i for i in val_idx if Path(dataset.paths[i]).name in groups]
    crops = {
        lower_face: [classifier_crop(dataset.images[i], dataset.boxes[i], 128, lower_face) for i in chosen]
        for lower_face in (False, True)
    }
    heights = [dataset.boxes[i].height for i in chosen]
    faces_groups = [groups[Path(dataset.paths[i]).name] for i in chosen]
    truth = dataset.class_names[labels[chosen[0]]]
    models = {"model": args.model, **{f"baseline {n + 1}": path for n, path in enumerate(args.baselines)}}
    results = {"faces": len(chosen)}
    for key, path in models.items():
        classifier = load_classifier(path)
        scored = score(classifier, crops[classifier.lower_face], truth, heights)
        table = {}
        for axis, names in ((0, RACES), (1, ("male", "female")), (2, [label for _, _, label in AGE_BANDS])):
            for name in names:
                members = np.array([g[axis] == name for g in faces_groups])
                if members.sum() < 10:
                    continue
                table[name] = {"faces": int(members.sum())}
                for view, (right, judged) in scored.items():
                    table[name][view] = {
                        "accuracy": round(float(right[members].mean()), 4),
                        "judged_share": round(float(judged[members].mean()), 4),
                        "accuracy_judged": round(float(right[members & judged].mean()), 4) if (members & judged).any() else None,
                    }
        results[key] = {"path": path, "groups": table}
        print(f"{key} ({path}), {len(chosen)} UTKFace validation faces, unmasked:")
        print(f"  {'group':8s} {'faces':>5s}  " + "  ".join(f"{view:>22s}" for view, _, _ in VIEWS))
        for name, cell in table.items():
            print(
                f"  {name:8s} {cell['faces']:5d}  "
                + "  ".join(
                    f"{cell[view]['accuracy']:.3f} ({cell[view]['judged_share']:.0%} judged)".rjust(22) for view, _, _ in VIEWS
                )
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
