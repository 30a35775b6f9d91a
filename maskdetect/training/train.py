"""Training the mask classifier in two stages on cached features of augmented face views.

MobileNetV2 is cut below its top blocks. Everything below the cut stays frozen,
so each augmented view's feature maps at the cut are computed once. Stage 1
trains the new head on the pooled output of the frozen top; stage 2 fine-tunes
the top blocks and the head together at a low learning rate. Epochs cycle
through the views. The result is one ordinary Keras model holding base and head.
"""

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.judging import NOT_A_FACE, SIZE_BANDS, face_probabilities
from maskdetect.classify.keras_backend import compiled
from maskdetect.detect.align import classifier_crop
from maskdetect.detect.detectors import load_face_detector
from maskdetect.errors import InputError
from maskdetect.io.atomic import atomic_outputs
from maskdetect.io.outputs import check_distinct, check_file_output, check_model_output
from maskdetect.io.prefetch import Prefetch
from maskdetect.quiet_tensorflow import keras, tf
from maskdetect.settings import EXPORT_FORMATS, WEIGHTINGS
from maskdetect.training.augment import augmented_face, degraded_copy
from maskdetect.training.calibration import (
    CALIBRATION_HEIGHTS,
    calibrate,
    calibration_faces,
    describe,
)
from maskdetect.training.dataset import find_classes, load_dataset
from maskdetect.training.duplicates import duplicate_groups, grouped_split
from maskdetect.training.export import check_export_outputs, write_exports
from maskdetect.training.metrics import evaluate, per_class_recall
from maskdetect.training.model import (
    build_classifier,
    model_suffix,
    run_batched,
    save_model,
    set_top_trainable,
)
from maskdetect.training.report import save_training_plot
from maskdetect.training.weighting import (
    INCORRECT_CLASS,
    cell_difficulty,
    cell_weights,
    weigh_incorrect_class,
    weights_table,
)

FEATURE_BATCH = 64
# Members beyond a few add time per face and little stability (docs/training.md, "Results that do not depend on luck").
MAX_MEMBERS = 8
# A class with fewer training images than this share of the largest class's is seen in RARE_CLASS_VIEWS times
# as many distinct views as the others: with every class given the same total weight, its few faces weigh many
# times more each, and two views of them are learned by heart.
RARE_CLASS_SHARE = 0.25
RARE_CLASS_VIEWS = 8
# The share of real validation faces (shrunk to each size band) the not-a-face threshold may drop: face recall
# may fall by at most half a point.
NOT_A_FACE_LOSS = 0.003
# Boxes shorter than this are never dropped as no face: a blurred blob of a face and a hand look alike there.
NOT_A_FACE_MIN_SIZE = 24
# Validation faces on which each export must give the Keras model's probabilities.
EXPORT_CHECK_FACES = 64


def check_config(config):
    """Fail early, before any slow step, on settings and outputs that cannot work; returns the export paths,
    {format: path}."""
    numbers = {
        "learning rate": config.learning_rate,
        "fine-tuning learning rate": config.fine_tune_learning_rate,
        "validation split": config.val_split,
        "degraded share": config.degrade,
        "third class cost": config.third_class_cost,
        "judged accuracy": config.judged_accuracy,
    }
    for name, value in numbers.items():
        if not math.isfinite(value):
            raise InputError(f"the {name} must be a finite number, got {value}")
    if config.head_epochs < 1 or config.fine_tune_epochs < 0 or config.batch_size < 1 or config.views < 1:
        raise InputError("head epochs, batch size and views must each be at least 1, fine-tuning epochs at least 0")
    if not 1 <= config.members <= MAX_MEMBERS:
        raise InputError(f"the number of members must be 1 to {MAX_MEMBERS}, got {config.members}")
    if not 0.0 <= config.third_class_cost < 0.5:
        raise InputError(f"the third class cost must be at least 0 and under 0.5, got {config.third_class_cost}")
    if not 0.5 <= config.judged_accuracy < 1.0:
        raise InputError(f"the judged accuracy must be at least 0.5 and under 1, got {config.judged_accuracy}")
    if not 0.0 < config.val_split < 0.5:
        raise InputError(f"the validation split must be between 0 and 0.5, got {config.val_split}")
    if config.learning_rate <= 0 or config.fine_tune_learning_rate <= 0:
        raise InputError("learning rates must be positive")
    if not 0.0 <= config.degrade <= 1.0:
        raise InputError(f"the degraded share must be between 0 and 1, got {config.degrade}")
    if config.weighting not in WEIGHTINGS:
        raise InputError(f"the weighting must be one of {', '.join(WEIGHTINGS)}, got {config.weighting!r}")
    unknown = set(config.exports) - set(EXPORT_FORMATS)
    if unknown:
        raise InputError(f"unknown export format {', '.join(sorted(unknown))}; choose from {', '.join(EXPORT_FORMATS)}")
    check_model_output(config.model, inputs=config.datasets)
    check_file_output(config.plot, inputs=config.datasets, kind="png")
    check_file_output(config.report, inputs=config.datasets, kind="json")
    exports = check_export_outputs(config.model, config.exports, inputs=config.datasets)
    check_distinct([config.model, config.plot, config.report, *exports.values()])
    if not 0 <= config.top_blocks <= 3:
        raise InputError(f"the top blocks to fine-tune must be 0 to 3, got {config.top_blocks}")
    weights = str(config.weights)
    if weights.lower() not in ("imagenet", "none"):
        if not Path(weights).is_file():
            raise InputError(f"weights file not found: {weights}")
        with open(weights, "rb") as handle:
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                raise InputError(f"{weights} is not a Keras weights file (.h5): MobileNetV2's ImageNet weights are")
    return exports


def check_trained(probabilities, history, accuracy, class_count):
    """Refuse to save a model that diverged: its validation probabilities or losses are not finite, or it is
    right on fewer validation faces than chance. The previous model, if any, stays in place."""
    losses = [value for name in ("loss", "val_loss") for value in history.get(name, [])]
    if not np.all(np.isfinite(probabilities)) or not all(math.isfinite(value) for value in losses):
        raise InputError(
            "training diverged (its losses or probabilities are not finite): nothing was written; try a lower learning rate"
        )
    if accuracy < 1.0 / class_count:
        raise InputError(
            f"training failed: validation accuracy {accuracy:.3f} is below chance ({1 / class_count:.3f}); nothing was written"
        )


def _log(config, message):
    if config.verbose:
        print(message, flush=True)


@dataclass
class _Split:
    """The dataset and how it is split: indices, labels and sources of each side."""

    dataset: object
    train_idx: np.ndarray
    val_idx: np.ndarray
    groups: int

    @property
    def labels(self):
        return np.asarray(self.dataset.labels)

    @property
    def sources(self):
        return np.asarray(self.dataset.sources)


@dataclass
class _Features:
    """The cached features the two stages train on, the validation crops and their features (plain and degraded)."""

    extract: object
    train_views: list
    val_crops: list
    val_features: np.ndarray
    degraded_features: np.ndarray


def train(config):
    """Run a whole training: returns the report that is also written as JSON."""
    started = time.perf_counter()
    timings = {}
    exports = check_config(config)
    find_classes(config.datasets, classes=config.classes)
    keras.utils.set_random_seed(config.seed)
    split = _load_and_split(config, timings)
    parts = build_classifier(
        split.dataset.class_names, config.weights, config.top_blocks, config.members, lower_face=config.lower_face
    )
    features = _features(parts, split, config, timings)
    train_labels, val_labels = split.labels[split.train_idx], split.labels[split.val_idx]
    cells = list(zip(split.sources[split.train_idx], train_labels))
    history, weights, difficulty = train_members(
        parts, features.train_views, train_labels, cells, (features.val_features, val_labels), config, timings
    )
    measured = _measure(parts, split, features, history, config)
    mark = time.perf_counter()
    judging_rule, judged = calibrate_rule(
        lambda crops: run_batched(measured["upper"], cut_features(features.extract, crop_batches(crops), len(crops), False, "")),
        features.val_crops,
        val_labels,
        split.sources[split.val_idx],
        split.dataset.class_names,
        bool(measured["third_class"]),
        config,
        np.asarray(split.dataset.checked)[split.val_idx],
    )
    timings["calibration_s"] = time.perf_counter() - mark
    _log(config, f"Judging rule (validation faces shrunk to each size band, every class and large source): {describe(judged)}")
    timings["wall_time_s"] = time.perf_counter() - started
    report = _report(
        split,
        config,
        measured,
        judging_rule,
        judged,
        history,
        timings,
        weights_table(cells, weights, difficulty, split.dataset.class_names),
    )
    report["exports"] = {name: str(path) for name, path in exports.items()}
    write_outputs(parts.model, judging_rule, history, report, config, exports, features.val_crops[:EXPORT_CHECK_FACES])
    written = [config.model, *report["exports"].values(), config.plot, config.report]
    _log(config, f"Wrote {', '.join(map(str, written))} in {time.perf_counter() - started:.0f} s")
    return report


def _load_and_split(config, timings):
    """Stage 0: every image read and its face framed, then split into training and validation (near-duplicates
    on one side)."""
    _log(config, f"Loading images from {', '.join(map(str, config.datasets))} ...")
    mark = time.perf_counter()
    dataset = load_dataset(
        config.datasets, load_face_detector(config.framing_detector), verbose=config.verbose, classes=config.classes
    )
    timings["load_images_s"] = time.perf_counter() - mark
    labels = np.asarray(dataset.labels)
    groups = len(np.unique(duplicate_groups(np.asarray(dataset.hashes))))
    train_idx, val_idx = validation_split(
        labels, np.asarray(dataset.hashes), config, dataset.class_names, np.asarray(dataset.checked)
    )
    _log(
        config,
        f"{len(labels)} images in {len(dataset.class_names)} classes, {groups} duplicate-free groups: "
        f"{len(train_idx)} for training, {len(val_idx)} for validation ({len(val_idx) / len(labels):.1%})",
    )
    return _Split(dataset, train_idx, val_idx, groups)


def _features(parts, split, config, timings):
    """Stage 1's input: the features at the cut of each augmented training view, and of the validation faces."""
    mark = time.perf_counter()
    dataset, train_idx, val_idx = split.dataset, split.train_idx, split.val_idx
    extract = compiled(parts.lower, tf.uint8)
    rng = np.random.default_rng(config.seed)
    train_views = []
    for view in range(config.views):
        label = f"Features, view {view + 1} of {config.views}"
        batches = augmented_batches(dataset, train_idx, rng, config.degrade, config.lower_face)
        train_views.append(cut_features(extract, batches, len(train_idx), config.verbose, label))
    train_views = with_rare_class_views(train_views, dataset, train_idx, rng, config, extract)
    val_crops = [classifier_crop(dataset.images[i], dataset.boxes[i], IMAGE_SIZE, config.lower_face) for i in val_idx]
    val_features = cut_features(extract, crop_batches(val_crops), len(val_idx), config.verbose, "Features, validation")
    degraded_crops = [degraded_copy(crop) for crop in val_crops]
    degraded_features = cut_features(
        extract, crop_batches(degraded_crops), len(val_idx), config.verbose, "Features, degraded validation"
    )
    timings["features_s"] = time.perf_counter() - mark
    return _Features(extract, train_views, val_crops, val_features, degraded_features)


def _measure(parts, split, features, history, config):
    """After both stages: the third class weighed down, and the model measured on the validation faces (plain and
    degraded); a model that diverged is refused here."""
    class_names, val_labels = split.dataset.class_names, split.labels[split.val_idx]
    third_class = weigh_incorrect_class(parts, features.val_features, val_labels, class_names, config.third_class_cost)
    if third_class:
        _log(
            config,
            f"{INCORRECT_CLASS}: weight {third_class['weight']:.3f} in the decision, validation recall "
            + ", ".join(f"{name} {value:.3f}" for name, value in third_class["validation_recall"].items()),
        )
    upper = compiled(parts.upper, tf.float32)
    probabilities = run_batched(upper, features.val_features)
    metrics = evaluate(val_labels, np.nan_to_num(probabilities, nan=-1.0), class_names, split.sources[split.val_idx])
    check_trained(probabilities, history, metrics["accuracy"], len(class_names))
    text = metrics.pop("text")
    degraded = per_class_recall(val_labels, run_batched(upper, features.degraded_features), class_names)
    _log(
        config,
        text
        + "\nDegraded copies of the validation faces (60 px, 40% light, blue cast, JPEG 30), recall per class: "
        + ", ".join(f"{name} {value:.3f}" for name, value in degraded.items()),
    )
    return {"upper": upper, "probabilities": probabilities, "metrics": metrics, "degraded": degraded, "third_class": third_class}


def _report(split, config, measured, judging_rule, judged, history, timings, source_weights):
    """The training report (JSON): data, split, settings, validation figures, judging rule, history, timings."""
    dataset, labels = split.dataset, split.labels
    train_labels, val_labels = labels[split.train_idx], labels[split.val_idx]
    return {
        "class_names": dataset.class_names,
        "images": len(labels),
        "skipped_images": [str(path) for path, _ in dataset.skipped],
        "faces_not_detected": len(dataset.undetected),
        "duplicate_groups": int(split.groups),
        "split": {
            "train": int(len(split.train_idx)),
            "validation": int(len(split.val_idx)),
            "validation_share": round(len(split.val_idx) / len(labels), 4),
            "train_per_class": _per_class(train_labels, dataset.class_names),
            "validation_per_class": _per_class(val_labels, dataset.class_names),
        },
        "settings": {k: v for k, v in asdict(config).items() if k != "verbose"},
        "weights": config.weights if config.weights in ("imagenet", "none") else Path(config.weights).name,
        "source_weights": source_weights,
        **measured["metrics"],
        "degraded_validation_recall": measured["degraded"],
        "third_class": measured["third_class"],
        "validation_as_detected": as_detected(
            measured["probabilities"],
            val_labels,
            dataset.class_names,
            judging_rule,
            [dataset.boxes[i].height for i in split.val_idx],
        ),
        "judging": {**judging_rule.as_dict(), "target_accuracy": config.judged_accuracy, "validation_by_size": judged},
        "history": history,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "wall_time_s": round(timings["wall_time_s"], 2),
    }


def calibrate_rule(probabilities_of, crops, labels, sources, class_names, third_class, config, checked=None):
    """The judging rule, from the validation faces shrunk to each size band: ``probabilities_of(crops)`` gives
    the classifier's probabilities. The faces framed by a checked box (``checked``: hard, unannotated faces,
    often a blur of a few pixels) are left out, so that the rule is set on the faces of the default split, as
    before they were added. Returns it and what it judges per band (``calibrate``'s)."""
    # A weighed-down third class is chosen rarely on purpose: no threshold makes its faces right 97 % of the
    # time, so the rule is calibrated on the other classes' faces. Boxes that hold no face are never labelled.
    left_out = [class_names.index(name) for name in (NOT_A_FACE, INCORRECT_CLASS if third_class else None) if name in class_names]
    held = np.flatnonzero(~np.isin(labels, left_out) & ~(np.zeros(len(labels), bool) if checked is None else checked))
    held_crops = [crops[i] for i in held]
    face_labels = labels[held]
    if NOT_A_FACE in class_names:
        face_labels = face_labels - (face_labels > class_names.index(NOT_A_FACE))
    not_a_face = {}

    def probabilities_at(height):
        faces, no_face = face_probabilities(probabilities_of(calibration_faces(held_crops, height, config.seed)), class_names)
        not_a_face[height] = no_face
        return faces

    rule, judged = calibrate(probabilities_at, face_labels, config.judged_accuracy, sources[held])
    if NOT_A_FACE in class_names:
        # In each size band, real faces are dropped as no face at most NOT_A_FACE_LOSS of the time; boxes under
        # NOT_A_FACE_MIN_SIZE are never dropped.
        thresholds = []
        for (_, high), heights in zip(SIZE_BANDS, CALIBRATION_HEIGHTS):
            values = np.concatenate([not_a_face[height] for height in heights])
            threshold = round(min(max(0.5, float(np.quantile(values, 1 - NOT_A_FACE_LOSS))), 0.999), 4)
            thresholds.append(None if high is not None and high <= NOT_A_FACE_MIN_SIZE else threshold)
        rule = replace(rule, not_a_face=tuple(thresholds))
    return rule, judged


def as_detected(probabilities, labels, class_names, rule, heights):
    """Recall of each face class on the validation faces as detection labels them: a face the rule drops as no
    face is wrong, the others get the most likely face class; and how many boxes of each class are dropped."""
    faces, no_face = face_probabilities(probabilities, class_names)
    names = [name for name in class_names if name != NOT_A_FACE]
    kept = np.array([rule.is_face(height, float(value)) for height, value in zip(heights, no_face)])
    predicted = np.array([names[int(index)] for index in faces.argmax(axis=1)])
    truths = np.array([class_names[label] for label in labels])
    result = {}
    for name in class_names:
        of_class = truths == name
        if of_class.any():
            right = (predicted[of_class] == name) & kept[of_class] if name != NOT_A_FACE else ~kept[of_class]
            result[name] = {"recall": round(float(right.mean()), 4), "dropped_as_no_face": int((~kept[of_class]).sum())}
    return result


def with_rare_class_views(views, dataset, train_idx, rng, config, extract):
    """``views``, RARE_CLASS_VIEWS times as many when a class is rare: in each, the rare classes' faces get a
    view of their own, the others repeat the given views."""
    labels = np.asarray(dataset.labels)[train_idx]
    counts = np.bincount(labels, minlength=len(dataset.class_names))
    rare = np.flatnonzero(np.isin(labels, np.flatnonzero((counts > 0) & (counts < RARE_CLASS_SHARE * counts.max()))))
    if not len(rare):
        return views
    extended = list(views)
    for view in range(len(views), len(views) * RARE_CLASS_VIEWS):
        features = views[view % len(views)].copy()
        batches = augmented_batches(dataset, train_idx[rare], rng, config.degrade, config.lower_face)
        features[rare] = cut_features(extract, batches, len(rare), config.verbose, f"Features, rare classes, view {view + 1}")
        extended.append(features)
    return extended


def train_members(parts, views, labels, cells, validation, config, timings=None):
    """Train every member of ``parts`` on the cut features of the training ``views``: its head, then its top
    blocks with the head. Member k starts on view k and draws its own initial head, batches and dropout.

    Returns the history (mean over members), the sample weights and the measured difficulty of member 0's
    cells (each member weights by its own).
    """
    timings = {} if timings is None else timings
    timings.setdefault("train_head_s", 0.0)
    timings.setdefault("fine_tune_s", 0.0)
    histories, report_weights, report_difficulty = [], None, {}
    for index, member in enumerate(parts.members):
        prefix = f"Member {index + 1} of {len(parts.members)}: " if len(parts.members) > 1 else ""
        keras.utils.set_random_seed(config.seed + 1000 * index)
        member_views = views[index % len(views) :] + views[: index % len(views)]
        mark = time.perf_counter()
        history, weights, difficulty = _train_head(member, member_views, labels, cells, validation, config, prefix)
        timings["train_head_s"] += time.perf_counter() - mark
        mark = time.perf_counter()
        if config.fine_tune_epochs:
            stage_two = _fine_tune(member, member_views, labels, weights, validation, config, prefix)
            for key in history:
                history[key] += stage_two[key]
        timings["fine_tune_s"] += time.perf_counter() - mark
        histories.append(history)
        if index == 0:
            report_weights, report_difficulty = weights, difficulty
    mean_history = {key: [float(np.mean(values)) for values in zip(*(h[key] for h in histories))] for key in histories[0]}
    return mean_history, report_weights, report_difficulty


def _train_head(member, views, labels, cells, validation, config, prefix):
    """Stage 1 of one member: its head on the pooled features of its views. Returns the history, and the sample
    weights and difficulty measured after it (by counts alone, or none, as ``config.weighting`` says)."""
    weights = cell_weights(cells, labels, None if config.weighting == "none" else {})
    _log(config, f"{prefix}stage 1, the head, {config.head_epochs} epochs ...")
    pooled = compiled(member.top, tf.float32)
    train_pooled = [run_batched(pooled, view) for view in views]
    history = fit_epochs(
        member.head,
        train_pooled,
        labels,
        weights,
        (run_batched(pooled, validation[0]), validation[1]),
        config.head_epochs,
        config.learning_rate,
        config,
    )
    difficulty = {}
    if config.weighting == "measured":
        difficulty = cell_difficulty(member.head, train_pooled[0], labels, cells)
        weights = cell_weights(cells, labels, difficulty)
    return history, weights, difficulty


def _fine_tune(member, views, labels, weights, validation, config, prefix):
    """Stage 2 of one member: its top blocks with its head, at a low learning rate. Returns the history."""
    _log(
        config,
        f"{prefix}stage 2, fine-tuning the top {config.top_blocks} block(s) and the head, {config.fine_tune_epochs} epochs ...",
    )
    set_top_trainable(member, True)
    history = fit_epochs(
        member.upper,
        views,
        labels,
        weights,
        validation,
        config.fine_tune_epochs,
        config.fine_tune_learning_rate,
        config,
        first_epoch=config.head_epochs,
    )
    set_top_trainable(member, False)
    return history


def write_outputs(model, judging_rule, history, report, config, exports, probe_faces):
    """Model, its ``exports`` ({format: path}, checked against it on ``probe_faces``), plot and report: all
    written, or none replaced."""
    targets = [(config.model, model_suffix(config.model)), (config.plot, ".png"), (config.report, ".json")]
    targets += [(path, path.suffix) for path in exports.values()]
    try:
        with atomic_outputs(*targets) as (model_path, plot_path, report_path, *export_paths):
            save_model(model, model_path, judging_rule)
            write_exports(model, dict(zip(exports, export_paths)), probe_faces, judging_rule)
            save_training_plot(history, plot_path, stage_boundary=config.head_epochs if config.fine_tune_epochs else None)
            report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write the outputs ({config.model}, {config.plot}, {config.report}, exports): {error}") from None


def validation_split(labels, hashes, config, class_names=(), checked=None):
    """Indices (train, validation), near-duplicates (by their ``hashes``) on one side. Boxes that hold no face,
    and the images framed by a box a person checked (``checked``), are grouped and split on their own, so that
    the other faces are split as they would be without them: a model trained with them is measured on the same
    faces as one trained without."""
    apart = np.zeros(len(labels), bool) if checked is None else np.asarray(checked, bool).copy()
    if NOT_A_FACE in class_names:
        apart |= labels == class_names.index(NOT_A_FACE)
    if apart.any():
        parts = [np.flatnonzero(~apart), np.flatnonzero(apart)]
        splits = [grouped_split(labels[part], duplicate_groups(hashes[part]), config.val_split, config.seed) for part in parts]
        train_idx = np.sort(np.concatenate([part[train] for part, (train, _) in zip(parts, splits)]))
        val_idx = np.sort(np.concatenate([part[val] for part, (_, val) in zip(parts, splits)]))
    else:
        train_idx, val_idx = grouped_split(labels, duplicate_groups(hashes), config.val_split, config.seed)
    missing = set(np.unique(labels)) - set(np.unique(labels[val_idx]))
    if missing or not len(train_idx):
        raise InputError(
            f"too few distinct images to hold out {config.val_split:.0%} for validation with every class on both sides"
        )
    return train_idx, val_idx


def _per_class(labels, class_names):
    counts = np.bincount(labels, minlength=len(class_names))
    return {name: int(count) for name, count in zip(class_names, counts)}


def _to_rgb(crop):
    return crop[:, :, ::-1]


def augmented_batches(dataset, indices, rng, degrade, lower_face=False):
    for start in range(0, len(indices), FEATURE_BATCH):
        batch = indices[start : start + FEATURE_BATCH]
        # One child generator per batch keeps the views reproducible whatever the threading.
        batch_rng = np.random.default_rng(rng.integers(2**63))
        yield [
            _to_rgb(augmented_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE, batch_rng, degrade, lower_face))
            for i in batch
        ]


def crop_batches(crops):
    for start in range(0, len(crops), FEATURE_BATCH):
        yield [_to_rgb(crop) for crop in crops[start : start + FEATURE_BATCH]]


def cut_features(extract, batches, total, verbose, label):
    """Feature maps at the cut for every batch, kept as float16; the next batch is prepared while the network runs."""
    progress = tqdm(total=total, unit="image", desc=label, disable=None if verbose else True, leave=False)
    outputs = []
    with Prefetch(batches) as prepared:
        for crops in prepared:
            outputs.append(extract(tf.constant(np.stack(crops))).numpy().astype(np.float16))
            progress.update(len(crops))
    progress.close()
    return np.concatenate(outputs)


def fit_epochs(model, views, labels, weights, validation, epochs, learning_rate, config, first_epoch=0):
    """Train ``model`` for ``epochs`` epochs, epoch e on view e mod len(views); returns the history."""
    # A wrapper sharing its layers is compiled, not ``model``: the saved classifier then holds no optimizer state.
    model = keras.Model(model.inputs, model.outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    total = config.head_epochs + config.fine_tune_epochs
    for epoch in range(first_epoch, first_epoch + epochs):
        result = model.fit(
            views[epoch % len(views)],
            labels,
            sample_weight=weights,
            batch_size=config.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            validation_data=validation,
            shuffle=True,
            verbose=0,
            callbacks=[_BatchProgress(f"Epoch {epoch + 1} of {total}", config.verbose)],
        )
        for key in history:
            history[key].append(float(result.history[key][-1]))
        _log(config, f"Epoch {epoch + 1} of {total}: " + ", ".join(f"{key} {history[key][-1]:.4f}" for key in history))
    return history


class _BatchProgress(keras.callbacks.Callback):
    """A tqdm bar over one epoch's batches."""

    def __init__(self, label, verbose):
        super().__init__()
        self._label, self._verbose, self._bar = label, verbose, None

    def on_epoch_begin(self, epoch, logs=None):
        self._bar = tqdm(
            total=self.params.get("steps"), unit="batch", desc=self._label, disable=None if self._verbose else True, leave=False
        )

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update()

    def on_epoch_end(self, epoch, logs=None):
        self._bar.close()
