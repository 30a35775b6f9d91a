"""Training the mask classifier's head on cached features of augmented face views.

The MobileNetV2 base is frozen, so the features of one augmented view of an
image never change while the head learns. Each image gets ``views`` augmented
views whose pooled base features are computed once; epoch ``e`` trains the head
on view ``e % views`` of every image. The result is one ordinary Keras model
holding base and head.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from maskdetect.augment import augmented_face
from maskdetect.dataset import find_classes, load_dataset
from maskdetect.duplicates import duplicate_groups, grouped_split
from maskdetect.errors import InputError
from maskdetect.evaluation import evaluate
from maskdetect.faces import crop_face, load_face_detector
from maskdetect.model import DEFAULT_WEIGHTS, IMAGE_SIZE, build_classifier, save_classifier
from maskdetect.reporting import write_json, write_training_plot

FEATURE_BATCH = 64


@dataclass
class TrainingConfig:
    """Everything a training run can be told; the defaults are the shipped model's."""

    dataset: str = "dataset"
    model: str = "mask_detector.model"
    plot: str = "plot.png"
    report: str = "training_report.json"
    weights: str = str(DEFAULT_WEIGHTS)
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-4
    val_split: float = 0.2
    seed: int = 42
    views: int = 5
    framing_detector: str = "yunet"
    verbose: bool = True


def check_config(config):
    """Fail early, before any slow step, on settings and outputs that cannot work."""
    if config.epochs < 1 or config.batch_size < 1 or config.views < 1:
        raise InputError("epochs, batch size and views must each be at least 1")
    if not 0.0 < config.val_split < 0.5:
        raise InputError(f"--val-split must be between 0 and 0.5, got {config.val_split}")
    if config.learning_rate <= 0:
        raise InputError(f"--learning-rate must be positive, got {config.learning_rate}")
    for output in (config.model, config.plot, config.report):
        folder = Path(output).resolve().parent
        if not folder.is_dir():
            raise InputError(f"cannot write {output}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise InputError(f"cannot write {output}: folder {folder} is not writable")
        if Path(output).is_dir() and output != config.model:
            raise InputError(f"cannot write {output}: it is a folder")


def _log(config, message):
    if config.verbose:
        print(message, flush=True)


def train(config):
    """Run a whole training: returns the report that is also written as JSON."""
    started = time.perf_counter()
    timings = {}
    check_config(config)
    find_classes(config.dataset)
    keras.utils.set_random_seed(config.seed)

    _log(config, f"Loading images from {config.dataset} ...")
    mark = time.perf_counter()
    detector = load_face_detector(config.framing_detector)
    dataset = load_dataset(config.dataset, detector, verbose=config.verbose)
    timings["load_images_s"] = time.perf_counter() - mark

    model, features, head = build_classifier(dataset.class_names, config.weights)
    labels = np.asarray(dataset.labels)
    groups = duplicate_groups(np.asarray(dataset.hashes))
    train_idx, val_idx = _split(labels, groups, config)
    _log(
        config,
        f"{len(labels)} images in {len(dataset.class_names)} classes, {len(np.unique(groups))} duplicate-free groups: "
        f"{len(train_idx)} for training, {len(val_idx)} for validation",
    )

    mark = time.perf_counter()
    extract = _feature_extractor(features)
    rng = np.random.default_rng(config.seed)
    _log(config, f"Computing base features of {config.views} augmented view(s) per training image ...")
    train_views = [
        _features(extract, _augmented_batches(dataset, train_idx, rng), len(train_idx), config.verbose)
        for _ in range(config.views)
    ]
    _log(config, "Computing base features of the validation images ...")
    val_features = _features(extract, _plain_batches(dataset, val_idx), len(val_idx), config.verbose)
    timings["features_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    history = _fit_head(head, train_views, labels[train_idx], val_features, labels[val_idx], config)
    timings["train_head_s"] = time.perf_counter() - mark

    probabilities = head.predict(val_features, batch_size=256, verbose=0)
    metrics = evaluate(labels[val_idx], probabilities, dataset.class_names, [dataset.sources[i] for i in val_idx])
    if config.verbose:
        print(metrics.pop("text"))
    else:
        metrics.pop("text")

    save_classifier(model, config.model)
    write_training_plot(history, config.plot)
    timings["wall_time_s"] = time.perf_counter() - started
    report = {
        "class_names": dataset.class_names,
        "images": len(labels),
        "skipped_images": [str(path) for path, _ in dataset.skipped],
        "duplicate_groups": int(len(np.unique(groups))),
        "split": {
            "train": int(len(train_idx)),
            "validation": int(len(val_idx)),
            "train_per_class": _per_class(labels[train_idx], dataset.class_names),
            "validation_per_class": _per_class(labels[val_idx], dataset.class_names),
        },
        "settings": {k: v for k, v in asdict(config).items() if k != "verbose"},
        "weights": config.weights if config.weights in ("imagenet", "none") else Path(config.weights).name,
        **metrics,
        "history": history,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "wall_time_s": round(timings["wall_time_s"], 2),
    }
    write_json(report, config.report)
    _log(config, f"Wrote {config.model}, {config.plot} and {config.report} in {timings['wall_time_s']:.0f} s")
    return report


def _split(labels, groups, config):
    folds = int(round(1.0 / config.val_split))
    for label in np.unique(labels):
        if len(np.unique(groups[labels == label])) < folds:
            raise InputError(
                f"too few distinct images in a class to hold out {config.val_split:.0%} for validation "
                f"(each class needs at least {folds})"
            )
    train_idx, val_idx = grouped_split(labels, groups, config.val_split, config.seed)
    missing = set(np.unique(labels)) - set(np.unique(labels[val_idx]))
    if missing:
        raise InputError("the validation split lacks a class; add images or change --val-split")
    return train_idx, val_idx


def _per_class(labels, class_names):
    counts = np.bincount(labels, minlength=len(class_names))
    return {name: int(count) for name, count in zip(class_names, counts)}


def _feature_extractor(features):
    signature = [tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 3), tf.uint8)]

    @tf.function(input_signature=signature)
    def extract(images_rgb):
        return features(tf.cast(images_rgb, tf.float32), training=False)

    return extract


def _to_rgb(crop):
    return crop[:, :, ::-1]


def _augmented_batches(dataset, indices, rng):
    for start in range(0, len(indices), FEATURE_BATCH):
        batch = indices[start : start + FEATURE_BATCH]
        # One child generator per batch keeps the views reproducible whatever the threading.
        batch_rng = np.random.default_rng(rng.integers(2**63))
        yield [
            _to_rgb(augmented_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE, batch_rng)) for i in batch
        ]


def _plain_batches(dataset, indices):
    for start in range(0, len(indices), FEATURE_BATCH):
        yield [_to_rgb(crop_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE)) for i in indices[start : start + FEATURE_BATCH]]


def _features(extract, batches, total, verbose):
    """Base features of every batch; the next batch is prepared while the network runs."""
    progress = keras.utils.Progbar(total, unit_name="image") if verbose else None
    outputs = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, batches, None)
        while (crops := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            outputs.append(extract(tf.constant(np.stack(crops))).numpy())
            if progress is not None:
                progress.add(len(crops))
    return np.concatenate(outputs)


def _fit_head(head, train_views, train_labels, val_features, val_labels, config):
    head.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for epoch in range(config.epochs):
        result = head.fit(
            train_views[epoch % len(train_views)],
            train_labels,
            batch_size=config.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            validation_data=(val_features, val_labels),
            shuffle=True,
            verbose=1 if config.verbose else 0,
        )
        for key in history:
            history[key].append(float(result.history[key][-1]))
    return history
