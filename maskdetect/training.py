"""Training the mask classifier in two stages on cached features of augmented face views.

MobileNetV2 is cut below its top blocks. Everything below the cut stays frozen,
so each augmented view's feature maps at the cut are computed once. Stage 1
trains the new head on the pooled output of the frozen top; stage 2 fine-tunes
the top blocks and the head together at a low learning rate. Epochs cycle
through the views. The result is one ordinary Keras model holding base and head.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskdetect.atomic import atomic_outputs
from maskdetect.augment import augmented_face, degraded_copy
from maskdetect.bundled import TRAINED_MODEL
from maskdetect.dataset import find_classes, load_dataset
from maskdetect.duplicates import duplicate_groups, grouped_split
from maskdetect.errors import InputError
from maskdetect.evaluation import evaluate, per_class_recall
from maskdetect.export import FORMATS as EXPORT_FORMATS
from maskdetect.export import check_export_outputs, write_exports
from maskdetect.faces import aligned_face, load_face_detector
from maskdetect.judging import DEFAULT_TARGET, calibrate, calibration_faces, describe
from maskdetect.model import (
    DEFAULT_WEIGHTS,
    IMAGE_SIZE,
    build_classifier,
    compiled,
    model_suffix,
    save_model,
    set_top_trainable,
)
from maskdetect.outputs import check_distinct, check_file_output, check_model_output
from maskdetect.quiet_tensorflow import keras, tf
from maskdetect.reporting import save_training_plot

FEATURE_BATCH = 64
WEIGHTINGS = ("measured", "count", "none")
# Measured weighting: a source's weight grows with its loss after stage 1, within these bounds.
DIFFICULTY_RANGE = (0.5, 3.0)
# A mask worn incorrectly looks much like one worn right: its weight in the decision is lowered until the
# other classes' validation recall is within this of what it is when the class is never chosen.
INCORRECT_CLASS = "mask_weared_incorrect"
DEFAULT_THIRD_CLASS_COST = 0.005
# Members beyond a few add time per face and little stability (README, "Results that do not depend on luck").
MAX_MEMBERS = 8
# A class with fewer training images than this share of the largest class's is seen in RARE_CLASS_VIEWS times
# as many distinct views as the others: with every class given the same total weight, its few faces weigh many
# times more each, and two views of them are learned by heart.
RARE_CLASS_SHARE = 0.25
RARE_CLASS_VIEWS = 8
# Validation faces on which each export must give the Keras model's probabilities.
EXPORT_CHECK_FACES = 64


@dataclass
class TrainingConfig:
    """Everything a training run can be told; the defaults are the shipped model's."""

    datasets: list = field(default_factory=lambda: ["dataset"])
    model: str = TRAINED_MODEL
    plot: str = "plot.png"
    report: str = "training_report.json"
    weights: str = str(DEFAULT_WEIGHTS)
    head_epochs: int = 12
    fine_tune_epochs: int = 5
    top_blocks: int = 2
    members: int = 3
    batch_size: int = 64
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 2e-5
    val_split: float = 0.2
    seed: int = 42
    views: int = 2
    degrade: float = 0.7
    weighting: str = "measured"
    classes: list | None = None
    judged_accuracy: float = DEFAULT_TARGET
    third_class_cost: float = DEFAULT_THIRD_CLASS_COST
    exports: list = field(default_factory=lambda: list(EXPORT_FORMATS))
    framing_detector: str = "yunet"
    verbose: bool = True


def check_config(config):
    """Fail early, before any slow step, on settings and outputs that cannot work; returns the export paths,
    {format: path}."""
    if config.head_epochs < 1 or config.fine_tune_epochs < 0 or config.batch_size < 1 or config.views < 1:
        raise InputError("head epochs, batch size and views must each be at least 1, fine-tuning epochs at least 0")
    if not 1 <= config.members <= MAX_MEMBERS:
        raise InputError(f"--members must be 1 to {MAX_MEMBERS}, got {config.members}")
    if not 0.0 <= config.third_class_cost < 0.5:
        raise InputError(f"--third-class-cost must be at least 0 and under 0.5, got {config.third_class_cost}")
    if not 0.5 <= config.judged_accuracy < 1.0:
        raise InputError(f"--judged-accuracy must be at least 0.5 and under 1, got {config.judged_accuracy}")
    if not 0.0 < config.val_split < 0.5:
        raise InputError(f"--val-split must be between 0 and 0.5, got {config.val_split}")
    if config.learning_rate <= 0 or config.fine_tune_learning_rate <= 0:
        raise InputError("learning rates must be positive")
    if not 0.0 <= config.degrade <= 1.0:
        raise InputError(f"--degrade must be between 0 and 1, got {config.degrade}")
    if config.weighting not in WEIGHTINGS:
        raise InputError(f"--weighting must be one of {', '.join(WEIGHTINGS)}, got {config.weighting!r}")
    unknown = set(config.exports) - set(EXPORT_FORMATS)
    if unknown:
        raise InputError(f"unknown export format {', '.join(sorted(unknown))}; choose from {', '.join(EXPORT_FORMATS)}")
    check_model_output(config.model, inputs=config.datasets)
    check_file_output(config.plot, inputs=config.datasets, kind="png")
    check_file_output(config.report, inputs=config.datasets, kind="json")
    exports = check_export_outputs(config.model, config.exports, inputs=config.datasets)
    check_distinct([config.model, config.plot, config.report, *exports.values()])
    weights = str(config.weights)
    if weights.lower() not in ("imagenet", "none") and not Path(weights).is_file():
        raise InputError(f"weights file not found: {weights}")
    return exports


def _log(config, message):
    if config.verbose:
        print(message, flush=True)


def train(config):
    """Run a whole training: returns the report that is also written as JSON."""
    started = time.perf_counter()
    timings = {}
    exports = check_config(config)
    find_classes(config.datasets, classes=config.classes)
    keras.utils.set_random_seed(config.seed)

    _log(config, f"Loading images from {', '.join(map(str, config.datasets))} ...")
    mark = time.perf_counter()
    dataset = load_dataset(config.datasets, load_face_detector(config.framing_detector), verbose=config.verbose,
                           classes=config.classes)
    timings["load_images_s"] = time.perf_counter() - mark

    parts = build_classifier(dataset.class_names, config.weights, config.top_blocks, config.members)
    labels = np.asarray(dataset.labels)
    sources = np.asarray(dataset.sources)
    groups = duplicate_groups(np.asarray(dataset.hashes))
    train_idx, val_idx = validation_split(labels, groups, config)
    _log(
        config,
        f"{len(labels)} images in {len(dataset.class_names)} classes, {len(np.unique(groups))} duplicate-free groups: "
        f"{len(train_idx)} for training, {len(val_idx)} for validation ({len(val_idx) / len(labels):.1%})",
    )

    mark = time.perf_counter()
    extract = compiled(parts.lower, tf.uint8)
    rng = np.random.default_rng(config.seed)
    train_views = []
    for view in range(config.views):
        label = f"Features, view {view + 1} of {config.views}"
        batches = augmented_batches(dataset, train_idx, rng, config.degrade)
        train_views.append(cut_features(extract, batches, len(train_idx), config.verbose, label))
    train_views = with_rare_class_views(train_views, dataset, train_idx, rng, config, extract)
    val_crops = [aligned_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE) for i in val_idx]
    val_features = cut_features(extract, crop_batches(val_crops), len(val_idx), config.verbose, "Features, validation")
    degraded_crops = [degraded_copy(crop) for crop in val_crops]
    degraded_features = cut_features(extract, crop_batches(degraded_crops), len(val_idx), config.verbose, "Features, degraded validation")
    timings["features_s"] = time.perf_counter() - mark

    train_labels, val_labels = labels[train_idx], labels[val_idx]
    cells = list(zip(sources[train_idx], train_labels))
    history, weights, difficulty = train_members(parts, train_views, train_labels, cells, (val_features, val_labels), config, timings)

    third_class = weigh_incorrect_class(parts, val_features, val_labels, dataset.class_names, config.third_class_cost)
    if third_class:
        _log(config, f"{INCORRECT_CLASS}: weight {third_class['weight']:.3f} in the decision, validation recall "
                     + ", ".join(f"{name} {value:.3f}" for name, value in third_class["validation_recall"].items()))
    upper = compiled(parts.upper, tf.float32)
    probabilities = run_batched(upper, val_features)
    metrics = evaluate(val_labels, probabilities, dataset.class_names, sources[val_idx])
    text = metrics.pop("text")
    degraded = per_class_recall(val_labels, run_batched(upper, degraded_features), dataset.class_names)
    _log(config, text + "\nDegraded copies of the validation faces (60 px, 40% light, blue cast, JPEG 30), recall per class: "
         + ", ".join(f"{name} {value:.3f}" for name, value in degraded.items()))

    mark = time.perf_counter()
    # A weighed-down third class is chosen rarely on purpose: no threshold makes its faces right 97 % of the
    # time, so the rule is calibrated on the other classes' faces.
    held = np.flatnonzero(val_labels != dataset.class_names.index(INCORRECT_CLASS)) if third_class else np.arange(len(val_idx))
    held_crops = [val_crops[i] for i in held]

    def probabilities_at(height):
        crops = calibration_faces(held_crops, height, config.seed)
        return run_batched(upper, cut_features(extract, crop_batches(crops), len(crops), False, ""))

    judging_rule, judged = calibrate(probabilities_at, val_labels[held], config.judged_accuracy, sources[val_idx][held])
    timings["calibration_s"] = time.perf_counter() - mark
    _log(config, f"Judging rule (validation faces shrunk to each size band, every class and large source): {describe(judged)}")

    timings["wall_time_s"] = time.perf_counter() - started
    report = {
        "class_names": dataset.class_names,
        "images": len(labels),
        "skipped_images": [str(path) for path, _ in dataset.skipped],
        "faces_not_detected": len(dataset.undetected),
        "duplicate_groups": int(len(np.unique(groups))),
        "split": {
            "train": int(len(train_idx)),
            "validation": int(len(val_idx)),
            "validation_share": round(len(val_idx) / len(labels), 4),
            "train_per_class": _per_class(train_labels, dataset.class_names),
            "validation_per_class": _per_class(val_labels, dataset.class_names),
        },
        "settings": {k: v for k, v in asdict(config).items() if k != "verbose"},
        "weights": config.weights if config.weights in ("imagenet", "none") else Path(config.weights).name,
        "source_weights": _weights_table(cells, weights, difficulty, dataset.class_names),
        **metrics,
        "degraded_validation_recall": degraded,
        "third_class": third_class,
        "judging": {**judging_rule.as_dict(), "target_accuracy": config.judged_accuracy, "validation_by_size": judged},
        "history": history,
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "wall_time_s": round(timings["wall_time_s"], 2),
    }
    report["exports"] = {name: str(path) for name, path in exports.items()}
    _write_outputs(parts.model, judging_rule, history, report, config, exports, val_crops[:EXPORT_CHECK_FACES])
    written = [config.model, *report["exports"].values(), config.plot, config.report]
    _log(config, f"Wrote {', '.join(map(str, written))} in {time.perf_counter() - started:.0f} s")
    return report


def weigh_incorrect_class(parts, features, labels, class_names, cost):
    """Lower INCORRECT_CLASS's weight in every member's decision (a shift of its last bias, so the saved
    graph and its exports carry it) until each other class's recall on the validation ``features`` is within
    ``cost`` of its recall when INCORRECT_CLASS is never chosen. Returns what was set and measured, or None
    for a model without that class."""
    if INCORRECT_CLASS not in class_names or len(class_names) < 3:
        return None
    third = class_names.index(INCORRECT_CLASS)
    others = [index for index in range(len(class_names)) if index != third]
    members = [run_batched(compiled(member.upper, tf.float32), features) for member in parts.members]

    def recalls(weight):
        scale = np.ones(len(class_names))
        scale[third] = weight
        weighted = [p * scale / (p * scale).sum(axis=1, keepdims=True) for p in members]
        predicted = np.mean(weighted, axis=0).argmax(axis=1)
        return {index: float(np.mean(predicted[labels == index] == index)) for index in range(len(class_names))}

    reference = recalls(0.0)
    candidates = np.geomspace(1.0, 1e-3, 31)
    weight = next(
        (float(w) for w in candidates if all(recalls(w)[index] >= reference[index] - cost for index in others)),
        float(candidates[-1]),
    )
    for member in parts.members:
        layer = member.head.get_layer("head_probabilities")
        shift = np.zeros(len(class_names), np.float32)
        shift[third] = np.log(weight)
        layer.bias.assign(layer.bias.numpy() + shift)
    final = recalls(weight)
    return {
        "weight": round(weight, 4),
        "validation_recall": {class_names[i]: round(v, 4) for i, v in final.items()},
        "validation_recall_never_choosing_it": {class_names[i]: round(v, 4) for i, v in reference.items()},
        "cost": cost,
    }


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
        batches = augmented_batches(dataset, train_idx[rare], rng, config.degrade)
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
        member_views = views[index % len(views):] + views[: index % len(views)]
        mark = time.perf_counter()
        weights = cell_weights(cells, labels, None if config.weighting == "none" else {})
        _log(config, f"{prefix}stage 1, the head, {config.head_epochs} epochs ...")
        pooled = compiled(member.top, tf.float32)
        train_pooled = [run_batched(pooled, view) for view in member_views]
        history = fit_epochs(
            member.head, train_pooled, labels, weights, (run_batched(pooled, validation[0]), validation[1]),
            config.head_epochs, config.learning_rate, config,
        )
        difficulty = {}
        if config.weighting == "measured":
            difficulty = cell_difficulty(member.head, train_pooled[0], labels, cells)
            weights = cell_weights(cells, labels, difficulty)
        timings["train_head_s"] += time.perf_counter() - mark
        mark = time.perf_counter()
        if config.fine_tune_epochs:
            _log(config, f"{prefix}stage 2, fine-tuning the top {config.top_blocks} block(s) and the head, "
                         f"{config.fine_tune_epochs} epochs ...")
            set_top_trainable(member, True)
            stage_two = fit_epochs(
                member.upper, member_views, labels, weights, validation,
                config.fine_tune_epochs, config.fine_tune_learning_rate, config, first_epoch=config.head_epochs,
            )
            set_top_trainable(member, False)
            for key in history:
                history[key] += stage_two[key]
        timings["fine_tune_s"] += time.perf_counter() - mark
        histories.append(history)
        if index == 0:
            report_weights, report_difficulty = weights, difficulty
    mean_history = {key: [float(np.mean(values)) for values in zip(*(h[key] for h in histories))] for key in histories[0]}
    return mean_history, report_weights, report_difficulty


def _write_outputs(model, judging_rule, history, report, config, exports, probe_faces):
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


def validation_split(labels, groups, config):
    train_idx, val_idx = grouped_split(labels, groups, config.val_split, config.seed)
    missing = set(np.unique(labels)) - set(np.unique(labels[val_idx]))
    if missing or not len(train_idx):
        raise InputError(
            f"too few distinct images to hold out {config.val_split:.0%} for validation with every class on both sides"
        )
    return train_idx, val_idx


def _per_class(labels, class_names):
    counts = np.bincount(labels, minlength=len(class_names))
    return {name: int(count) for name, count in zip(class_names, counts)}


def run_batched(call, inputs, batch=256):
    return np.concatenate([call(tf.constant(inputs[i : i + batch], tf.float32)).numpy() for i in range(0, len(inputs), batch)])


def _to_rgb(crop):
    return crop[:, :, ::-1]


def augmented_batches(dataset, indices, rng, degrade):
    for start in range(0, len(indices), FEATURE_BATCH):
        batch = indices[start : start + FEATURE_BATCH]
        # One child generator per batch keeps the views reproducible whatever the threading.
        batch_rng = np.random.default_rng(rng.integers(2**63))
        yield [_to_rgb(augmented_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE, batch_rng, degrade)) for i in batch]


def crop_batches(crops):
    for start in range(0, len(crops), FEATURE_BATCH):
        yield [_to_rgb(crop) for crop in crops[start : start + FEATURE_BATCH]]


def cut_features(extract, batches, total, verbose, label):
    """Feature maps at the cut for every batch, kept as float16; the next batch is prepared while the network runs."""
    progress = tqdm(total=total, unit="image", desc=label, disable=None if verbose else True, leave=False)
    outputs = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, batches, None)
        while (crops := pending.result()) is not None:
            pending = pool.submit(next, batches, None)
            outputs.append(extract(tf.constant(np.stack(crops))).numpy().astype(np.float16))
            progress.update(len(crops))
    progress.close()
    return np.concatenate(outputs)


def cell_weights(cells, labels, difficulty):
    """A sample weight per training image from its (source, class) cell, or None for no weighting.

    Each cell's images share weight 1/sqrt(size) (a source ten times larger counts about
    three times more, not ten), times the cell's measured ``difficulty`` where given;
    then every class gets the same total weight.
    """
    if difficulty is None:
        return None
    keys, inverse, counts = np.unique(np.array([f"{s}\t{c}" for s, c in cells]), return_inverse=True, return_counts=True)
    per_cell = 1.0 / np.sqrt(counts)
    if difficulty:
        per_cell = per_cell * np.array([difficulty.get(key, 1.0) for key in keys])
    weights = per_cell[inverse]
    for label in np.unique(labels):
        chosen = labels == label
        weights[chosen] *= len(labels) / len(np.unique(labels)) / weights[chosen].sum()
    return weights.astype(np.float32)


def cell_difficulty(head, features, labels, cells):
    """Each (source, class) cell's mean loss relative to the overall mean, clipped to DIFFICULTY_RANGE."""
    probabilities = head.predict(features, batch_size=512, verbose=0)
    losses = -np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0))
    keys = np.array([f"{s}\t{c}" for s, c in cells])
    overall = losses.mean()
    return {key: float(np.clip(losses[keys == key].mean() / overall, *DIFFICULTY_RANGE)) for key in np.unique(keys)}


def _weights_table(cells, weights, difficulty, class_names):
    """Per source and class: images, the weight each gets, and the measured difficulty."""
    table = {}
    keys = np.array([f"{s}\t{c}" for s, c in cells])
    for key in np.unique(keys):
        source, label = key.split("\t")
        chosen = keys == key
        table[f"{source}/{class_names[int(label)]}"] = {
            "images": int(chosen.sum()),
            "weight": 1.0 if weights is None else round(float(weights[chosen][0]), 4),
            **({"difficulty": round(difficulty[key], 3)} if key in difficulty else {}),
        }
    return table


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
        self._bar = tqdm(total=self.params.get("steps"), unit="batch", desc=self._label, disable=None if self._verbose else True, leave=False)

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update()

    def on_epoch_end(self, epoch, logs=None):
        self._bar.close()
