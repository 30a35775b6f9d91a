#!/usr/bin/env python3
"""How much a training depends on its seed, single models against averaged members, two classes against three.

One process frames the dataset once and computes, for each seed, the features
of that seed's augmented views; it then trains the recipe's members on them
(3-class, and 2-class on the same views without the incorrectly worn masks),
and scores member 1 alone (the single-model recipe) and the members averaged
on data none of them saw: the duplicate-free validation split (per source) and
its degraded copies, validation photos rotated by 30, 60 and 90 degrees (found
and aligned as detection does), the faces YuNet finds in both benchmarks
(data/scenes/, data/scenes_web/: per class and size band, judged share) and the hard
cases. The split is the default one (seed 42) for every seed, so that the
numbers compare; the seed draws the views, the heads and the batches.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.judging import BAND_NAMES, band_name
from maskdetect.classify.keras_backend import compiled
from maskdetect.detect.align import aligned_face
from maskdetect.detect.detectors import load_face_detector
from maskdetect.evaluation.face_check import kinds_of
from maskdetect.evaluation.scenes import DEFAULT_IOU, match_faces
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image
from maskdetect.quiet_tensorflow import tf
from maskdetect.settings import TrainingSettings
from maskdetect.training import train as training
from maskdetect.training.augment import degraded_copy
from maskdetect.training.calibration import (
    CALIBRATION_HEIGHTS,
    calibrate,
    calibration_faces,
)
from maskdetect.training.dataset import load_dataset, mask_classes
from maskdetect.training.model import build_classifier

INCORRECT = "mask_weared_incorrect"
ANGLES = (30, 60, 90)


def rotated(image, angle):
    """``image`` turned by ``angle`` degrees counter-clockwise on a canvas that holds all of it."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_width / 2 - width / 2
    matrix[1, 2] += new_height / 2 - height / 2
    return cv2.warpAffine(image, matrix, (new_width, new_height), borderMode=cv2.BORDER_REPLICATE)


def benchmark_faces(folder, names, detector):
    """Every annotated face of a VOC benchmark: its class, band, whether found, the aligned crop and roll."""
    faces = []
    for image_path, xml_path in annotated_images(folder / "images"):
        truth, image = read_annotation(xml_path), read_image(image_path)
        found = detector.detect(image)
        matched = dict(match_faces(truth, found, DEFAULT_IOU))
        for index, face in enumerate(truth):
            box = found[matched[index]] if index in matched else None
            faces.append(
                {
                    "truth": names.index(face.label) if face.label in names else -1,
                    "band": band_name(face.height),
                    "crop": None if box is None else aligned_face(image, box, IMAGE_SIZE),
                    "roll": None if box is None else box.roll,
                    "height": box.height if box is not None else face.height,
                }
            )
    return faces


def rotated_validation(dataset, val_idx, detector):
    """Validation faces turned by each of ANGLES, found again and aligned: {angle: (crops, indices into val)}."""
    sets = {}
    for angle in ANGLES:
        crops, kept = [], []
        for position, index in enumerate(val_idx):
            image = dataset.images[index]
            scale = max(1.0, 160 / max(image.shape[:2]))
            turned = rotated(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), angle)
            found = detector.detect(turned)
            if found:
                crops.append(aligned_face(turned, found[0], IMAGE_SIZE))
                kept.append(position)
        sets[angle] = (crops, np.array(kept, int))
    return sets


def accuracy(truths, predicted, label=None):
    chosen = np.ones(len(truths), bool) if label is None else truths == label
    return round(float(np.mean(predicted[chosen] == truths[chosen])), 4) if chosen.any() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--two-class-seeds", type=int, nargs="*", default=[1, 2, 3], help="seeds also trained with two classes")
    parser.add_argument("--members", type=int, default=TrainingSettings.members)
    parser.add_argument("--dataset", default=str(ROOT / "dataset"))
    parser.add_argument("--benchmarks", nargs="+", default=["scenes", "scenes_web"], help="annotated photo folders in data/")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "seeds.json"), help="results")
    args = parser.parse_args()
    started = time.perf_counter()
    config = TrainingSettings(datasets=[args.dataset], verbose=False)
    detector = load_face_detector("yunet")
    dataset = load_dataset(config.datasets, detector, verbose=False, classes=mask_classes(config.datasets))
    names = dataset.class_names
    labels, sources = np.asarray(dataset.labels), np.asarray(dataset.sources)
    train_idx, val_idx = training.validation_split(labels, np.asarray(dataset.hashes), config)
    print(
        f"{len(labels)} images, {len(train_idx)} training, {len(val_idx)} validation: {time.perf_counter() - started:.0f} s",
        flush=True,
    )

    lower = build_classifier(names, config.weights, config.top_blocks, lower_face=False).lower
    extract = compiled(lower, tf.uint8)

    def features(crops):
        return training.cut_features(extract, training.crop_batches(crops), len(crops), False, "")

    val_crops = [aligned_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE) for i in val_idx]
    val_labels = labels[val_idx]
    checks = {"validation": val_crops, "degraded": [degraded_copy(crop) for crop in val_crops]}
    for angle, (crops, _) in (rotations := rotated_validation(dataset, val_idx, detector)).items():
        checks[f"rotated_{angle}"] = crops
    benchmarks = {name: benchmark_faces(ROOT / "data" / name, names, detector) for name in args.benchmarks}
    for name, faces in benchmarks.items():
        checks[name] = [face["crop"] for face in faces if face["crop"] is not None]
    hard_crops, hard_truths, hard_kinds = [], [], []
    for kind, folder in kinds_of(ROOT / "data" / "hard_cases").items():
        hard = load_dataset([folder], detector, verbose=False, min_classes=1)
        for image, box, label in zip(hard.images, hard.boxes, hard.labels):
            hard_crops.append(aligned_face(image, box, IMAGE_SIZE))
            hard_truths.append(names.index(hard.class_names[label]))
            hard_kinds.append(kind)
    checks["hard"] = hard_crops
    hard_truths, hard_kinds = np.array(hard_truths), np.array(hard_kinds)
    check_features = {key: features(crops) for key, crops in checks.items()}
    shrunk = {
        height: features(calibration_faces(val_crops, height, config.seed))
        for heights in CALIBRATION_HEIGHTS
        for height in heights
    }
    print(f"check faces: {sum(map(len, checks.values()))}, {time.perf_counter() - started:.0f} s", flush=True)

    def score(upper, class_names, name):
        """Everything measured of one classifier (``upper``: cut features to probabilities)."""
        keep = [names.index(c) for c in class_names]
        to_local = {g: i for i, g in enumerate(keep)}

        def local(truths):
            return np.array([to_local.get(int(t), -1) for t in truths])

        probabilities = {key: training.run_batched(upper, value) for key, value in check_features.items()}
        predicted = {key: p.argmax(axis=1) for key, p in probabilities.items()}
        val_truth = local(val_labels)
        in_val = val_truth >= 0
        # As training does: a weighed-down third class is left out of the calibration.
        held = in_val & (val_labels != names.index(INCORRECT)) if INCORRECT in class_names else in_val
        rule, judged = calibrate(
            lambda height: training.run_batched(upper, shrunk[height][held]), val_truth[held], sources=sources[val_idx][held]
        )
        result = {"model": name, "classes": class_names, "judging": judged}
        result["validation"] = {
            "accuracy": accuracy(val_truth[in_val], predicted["validation"][in_val]),
            "recall": {c: accuracy(val_truth, predicted["validation"], i) for i, c in enumerate(class_names)},
            "by_source": {
                s: accuracy(
                    val_truth[in_val & (sources[val_idx] == s)], predicted["validation"][in_val & (sources[val_idx] == s)]
                )
                for s in sorted(set(sources[val_idx]))
                if np.count_nonzero(in_val & (sources[val_idx] == s)) >= 100
            },
            "degraded_recall": {c: accuracy(val_truth, predicted["degraded"], i) for i, c in enumerate(class_names)},
        }
        for angle, (_, kept) in rotations.items():
            truths = val_truth[kept]
            ok = truths >= 0
            result["validation"][f"rotated_{angle}"] = {
                "found": round(len(kept) / len(val_truth), 4),
                "accuracy_found": accuracy(truths[ok], predicted[f"rotated_{angle}"][ok]),
            }
        for bench, faces in benchmarks.items():
            found = [f for f in faces if f["crop"] is not None]
            truths = local([f["truth"] for f in found])
            bands = np.array([f["band"] for f in found])
            heights = np.array([f["height"] for f in found])
            probs = probabilities[bench]
            reasons = np.array([rule.reason(h, p.max()) for h, p in zip(heights, probs)])
            judged_mask = reasons == None  # noqa: E711 - an array of objects
            right = predicted[bench] == truths
            rolled = np.array([abs(f["roll"]) >= 15 for f in found])
            cells = {}
            for i, c in enumerate(class_names):
                of_class = truths == i
                total = sum(1 for f in faces if f["truth"] >= 0 and local([f["truth"]])[0] == i)
                cells[c] = {
                    "faces": total,
                    "found": int(of_class.sum()),
                    "accuracy_all_found": accuracy(truths[of_class], predicted[bench][of_class]),
                    "judged_share": round(float(judged_mask[of_class].mean()), 4) if of_class.any() else None,
                    "accuracy_judged": accuracy(truths[of_class & judged_mask], predicted[bench][of_class & judged_mask]),
                    "end_to_end": round(float((right & judged_mask & of_class).sum() / total), 4) if total else None,
                    "by_band": {
                        b: {
                            "found": int((of_class & (bands == b)).sum()),
                            "judged_share": round(float(judged_mask[of_class & (bands == b)].mean()), 4)
                            if (of_class & (bands == b)).any()
                            else None,
                            "accuracy_all_found": accuracy(
                                truths[of_class & (bands == b)], predicted[bench][of_class & (bands == b)]
                            ),
                            "accuracy_judged": accuracy(
                                truths[of_class & (bands == b) & judged_mask],
                                predicted[bench][of_class & (bands == b) & judged_mask],
                            ),
                        }
                        for b in BAND_NAMES
                    },
                    "rotated_faces": {
                        "found": int((of_class & rolled).sum()),
                        "accuracy": accuracy(truths[of_class & rolled], predicted[bench][of_class & rolled]),
                    },
                }
            annotated = sum(1 for f in faces if f["truth"] >= 0 and local([f["truth"]])[0] >= 0)
            cells["end_to_end"] = round(float((right & judged_mask & (truths >= 0)).sum() / annotated), 4)
            result[bench] = cells
        result["hard_cases"] = {
            f"{kind}/{c}": accuracy(local(hard_truths)[hard_kinds == kind], predicted["hard"][hard_kinds == kind], i)
            for kind in sorted(set(hard_kinds))
            for i, c in enumerate(class_names)
            if np.any((hard_kinds == kind) & (local(hard_truths) == i))
        }
        result["judging_rule"] = rule.as_dict()
        dump = Path(args.json).with_suffix("") / (name.replace(" ", "_").replace(",", "") + ".npz")
        dump.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            dump,
            **{key: value for key, value in probabilities.items()},
            val_truth=val_truth,
            **{f"{b}_truth": local([f["truth"] for f in faces if f["crop"] is not None]) for b, faces in benchmarks.items()},
            **{f"{b}_band": np.array([f["band"] for f in faces if f["crop"] is not None]) for b, faces in benchmarks.items()},
            **{f"{b}_height": np.array([f["height"] for f in faces if f["crop"] is not None]) for b, faces in benchmarks.items()},
            **{f"{b}_annotated": np.array([len(faces)]) for b, faces in benchmarks.items()},
        )
        result["probabilities"] = str(dump)
        return result

    results = []
    train_labels = labels[train_idx]
    cells = list(zip(sources[train_idx], train_labels))
    for seed in args.seeds:
        mark = time.perf_counter()
        rng = np.random.default_rng(seed)
        views = [
            training.cut_features(
                extract, training.augmented_batches(dataset, train_idx, rng, config.degrade), len(train_idx), False, ""
            )
            for _ in range(config.views)
        ]
        views = training.with_rare_class_views(views, dataset, train_idx, rng, config, extract)
        print(f"seed {seed}: views {time.perf_counter() - mark:.0f} s", flush=True)
        variants = [(names, np.ones(len(train_idx), bool))]
        if seed in args.two_class_seeds and INCORRECT in names:
            variants.append(([c for c in names if c != INCORRECT], train_labels != names.index(INCORRECT)))
        for class_names, chosen in variants:
            mark = time.perf_counter()
            remap = {names.index(c): i for i, c in enumerate(class_names)}
            member_labels = np.array([remap[int(t)] for t in train_labels[chosen]])
            member_cells = [(s, remap[int(t)]) for (s, t), keep in zip(cells, chosen) if keep]
            val_keep = np.isin(val_labels, list(remap))
            validation = (check_features["validation"][val_keep], np.array([remap[int(t)] for t in val_labels[val_keep]]))
            seeded = TrainingSettings(datasets=[args.dataset], seed=seed, members=args.members, verbose=False)
            parts = build_classifier(class_names, config.weights, config.top_blocks, args.members, lower_face=False)
            training.train_members(parts, [v[chosen] for v in views], member_labels, member_cells, validation, seeded)
            # The single model of the recipe gets the same decision weight for the third class, chosen on its own.
            single = build_classifier(class_names, config.weights, config.top_blocks, 1, lower_face=False)
            single.members[0].upper.set_weights(parts.members[0].upper.get_weights())
            third = {
                "single": training.weigh_incorrect_class(single, *validation, class_names, seeded.third_class_cost),
                "members": training.weigh_incorrect_class(parts, *validation, class_names, seeded.third_class_cost),
            }
            train_s = time.perf_counter() - mark
            tag = f"{len(class_names)}-class seed {seed}"
            for name, upper, kind in (
                (f"{tag}, member 1", single.upper, "single"),
                (f"{tag}, {args.members} members", parts.upper, "members"),
            ):
                result = score(compiled(upper, tf.float32), class_names, name)
                result["train_s"] = round(train_s, 1)
                result["seed"] = seed
                result["third_class"] = third[kind]
                results.append(result)
                web = result[args.benchmarks[-1]]
                print(
                    f"{name}: val {result['validation']['accuracy']}, web with {web['with_mask']['accuracy_judged']} "
                    f"without {web['without_mask']['accuracy_judged']} "
                    f"incorrect e2e {web.get(INCORRECT, {}).get('end_to_end')} e2e {web['end_to_end']}, {train_s:.0f} s",
                    flush=True,
                )
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
