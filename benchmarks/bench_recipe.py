#!/usr/bin/env python3
"""What each part of the training recipe is worth, on data the models never saw.

One process computes the features of the augmented training views once, then
trains several variants of the recipe on them: the head alone or also the
fine-tuned top blocks, with no sample weights, weights by image counts, or weights
by measured difficulty. Each variant is scored on the duplicate-free validation
split (per source), on degraded copies of it, on the faces YuNet finds in
annotated street photos (per class and face size) and on the hard-case set.
Run it once with ``--degrade 0`` to see what the degradation augmentation is worth.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import maskdetect  # noqa: F401
from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.judging import band_name
from maskdetect.classify.keras_backend import compiled
from maskdetect.detect.align import aligned_face, crop_face
from maskdetect.detect.detectors import load_face_detector
from maskdetect.evaluation.face_check import kinds_of
from maskdetect.evaluation.scenes import DEFAULT_IOU, match_faces
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image
from maskdetect.settings import TrainingSettings
from maskdetect.training import train as training
from maskdetect.training.augment import degraded_copy
from maskdetect.training.dataset import load_dataset, mask_classes
from maskdetect.training.model import build_classifier, set_top_trainable

VARIANTS = {
    "head, no weights": (False, "none"),
    "head, count weights": (False, "count"),
    "fine-tuned, count weights": (True, "count"),
    "fine-tuned, measured weights": (True, "measured"),
}


def scene_faces(class_names, detector):
    """Crops of the faces YuNet finds in the annotated photos, with their true class and size bin."""
    crops, truths, sizes = [], [], []
    for image_path, xml_path in annotated_images(ROOT / "data" / "scenes" / "images"):
        truth, image = read_annotation(xml_path), read_image(image_path)
        found = detector.detect(image)
        for ti, fi in match_faces(truth, found, DEFAULT_IOU):
            if truth[ti].label in class_names:
                crops.append(crop_face(image, found[fi], IMAGE_SIZE))
                truths.append(class_names.index(truth[ti].label))
                sizes.append(band_name(truth[ti].height))
    return crops, np.array(truths), np.array(sizes)


def hard_case_faces(class_names, detector):
    crops, truths, kinds = [], [], []
    for kind, folder in kinds_of(ROOT / "data" / "hard_cases").items():
        dataset = load_dataset([folder], detector, verbose=False, min_classes=1)
        for image, box, label in zip(dataset.images, dataset.boxes, dataset.labels):
            crops.append(crop_face(image, box, IMAGE_SIZE))
            truths.append(class_names.index(dataset.class_names[label]))
            kinds.append(kind)
    return crops, np.array(truths), np.array(kinds)


def recall(truths, predicted, chosen, label):
    mask = chosen & (truths == label)
    return round(float(np.mean(predicted[mask] == label)), 3) if mask.any() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--degrade", type=float, default=TrainingSettings.degrade, help="share of degraded views")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--dataset", default=str(ROOT / "dataset"), help="training dataset")
    parser.add_argument("--head-epochs", type=int, default=TrainingSettings.head_epochs)
    parser.add_argument("--fine-tune-epochs", type=int, default=TrainingSettings.fine_tune_epochs)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    config = TrainingSettings(
        datasets=[args.dataset],
        degrade=args.degrade,
        head_epochs=args.head_epochs,
        fine_tune_epochs=args.fine_tune_epochs,
        verbose=False,
    )
    started = time.perf_counter()
    detector = load_face_detector("yunet")
    dataset = load_dataset(config.datasets, detector, verbose=False, classes=mask_classes(config.datasets))
    names = dataset.class_names
    labels, sources = np.asarray(dataset.labels), np.asarray(dataset.sources)
    train_idx, val_idx = training.validation_split(labels, np.asarray(dataset.hashes), config)
    parts = build_classifier(names, config.weights, config.top_blocks, lower_face=False)
    extract = compiled(parts.lower, tf.uint8)
    rng = np.random.default_rng(config.seed)
    views = [
        training.cut_features(
            extract, training.augmented_batches(dataset, train_idx, rng, config.degrade), len(train_idx), False, ""
        )
        for _ in range(config.views)
    ]
    val_crops = [aligned_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE) for i in val_idx]
    scene_crops, scene_truths, scene_sizes = scene_faces(names, detector)
    hard_crops, hard_truths, hard_kinds = hard_case_faces(names, detector)
    sets = {
        "validation": val_crops,
        "degraded": [degraded_copy(crop) for crop in val_crops],
        "scenes": scene_crops,
        "hard": hard_crops,
    }
    features = {
        key: training.cut_features(extract, training.crop_batches(crops), len(crops), False, "") for key, crops in sets.items()
    }
    print(
        f"features of {config.views} views and {sum(map(len, sets.values()))} check faces: {time.perf_counter() - started:.0f} s"
    )

    train_labels, val_labels = labels[train_idx], labels[val_idx]
    cells = list(zip(sources[train_idx], train_labels))
    unmasked, masked = names.index("without_mask"), names.index("with_mask")
    results = {}
    for variant in args.variants:
        fine_tune, weighting = VARIANTS[variant]
        mark = time.perf_counter()
        parts = build_classifier(names, config.weights, config.top_blocks, lower_face=False)
        member = parts.members[0]
        pooled = compiled(member.top, tf.float32)
        weights = training.cell_weights(cells, train_labels, None if weighting == "none" else {})
        validation = (training.run_batched(pooled, features["validation"]), val_labels)
        training.fit_epochs(
            member.head,
            [training.run_batched(pooled, v) for v in views],
            train_labels,
            weights,
            validation,
            config.head_epochs,
            config.learning_rate,
            config,
        )
        if fine_tune:
            if weighting == "measured":
                difficulty = training.cell_difficulty(member.head, training.run_batched(pooled, views[0]), train_labels, cells)
                weights = training.cell_weights(cells, train_labels, difficulty)
            set_top_trainable(member, True)
            training.fit_epochs(
                member.upper,
                views,
                train_labels,
                weights,
                (features["validation"], val_labels),
                config.fine_tune_epochs,
                config.fine_tune_learning_rate,
                config,
                first_epoch=config.head_epochs,
            )
        upper = compiled(member.upper, tf.float32)
        predicted = {key: training.run_batched(upper, value).argmax(axis=1) for key, value in features.items()}
        val_right = predicted["validation"] == val_labels
        every = np.ones(len(scene_truths), bool)
        results[variant] = {
            "train_s": round(time.perf_counter() - mark, 1),
            "validation": round(float(val_right.mean()), 4),
            "validation_worst_source": min(
                (
                    (round(float(val_right[sources[val_idx] == s].mean()), 4), s)
                    for s in set(sources[val_idx])
                    if np.count_nonzero(sources[val_idx] == s) >= 100
                ),
                default=None,
            ),
            "degraded": {
                name: recall(val_labels, predicted["degraded"], np.ones(len(val_labels), bool), i) for i, name in enumerate(names)
            },
            "scenes": {
                name: {
                    size: recall(scene_truths, predicted["scenes"], scene_sizes == size, i) for size in sorted(set(scene_sizes))
                }
                | {"all": recall(scene_truths, predicted["scenes"], every, i)}
                for i, name in ((masked, "with_mask"), (unmasked, "without_mask"))
            },
            "hard_cases": {
                f"{kind}/{name}": recall(hard_truths, predicted["hard"], hard_kinds == kind, i)
                for kind in sorted(set(hard_kinds))
                for i, name in enumerate(names)
                if np.any((hard_kinds == kind) & (hard_truths == i))
            },
        }
        print(f"\n== {variant} (degrade {args.degrade}) ==\n{json.dumps(results[variant], indent=1)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"degrade": args.degrade, "results": results}, indent=2))


if __name__ == "__main__":
    main()
