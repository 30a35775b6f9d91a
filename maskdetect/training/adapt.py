"""Adapting a trained classifier to one place: its faces collected, labelled, learned in minutes, and measured.

``train_mask_detector.py --adapt-from MODEL --dataset dataset --dataset DIR`` reads the datasets as training
does; the collections among them (``--collect DIR``, labelled with ``python -m maskdetect label DIR``) are the
site's faces. A share of the site's people (all the faces of one person together) is held out. The model's
top blocks and heads are fine-tuned on one augmented view of a sample of the datasets' training faces (what
it knew) and several views of the site's other faces (what it meets here), the site carrying ``site_weight``
of the weight. It is measured before and after on the held-out people and on the datasets' validation faces
(split as training splits them, so for the data a model was trained on, faces it never saw), and refused when
it loses more than ``accept_loss`` points there. The judging rule is calibrated again as training does.
"""

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.judging import BAND_NAMES, NOT_A_FACE
from maskdetect.classify.keras_backend import compiled
from maskdetect.detect.align import classifier_crop
from maskdetect.detect.detectors import load_face_detector
from maskdetect.errors import InputError
from maskdetect.io import collection
from maskdetect.quiet_tensorflow import keras, tf
from maskdetect.training.calibration import describe
from maskdetect.training.dataset import find_classes, load_dataset
from maskdetect.training.metrics import per_class_recall
from maskdetect.training.model import load_parts, run_batched, set_top_trainable
from maskdetect.training.train import (
    EXPORT_CHECK_FACES,
    augmented_batches,
    calibrate_rule,
    check_config,
    crop_batches,
    cut_features,
    fit_epochs,
    validation_split,
    write_outputs,
)

# Training faces of the datasets seen while adapting (one augmented view each): enough to keep what the model
# knew, few enough to adapt in minutes.
KNOWN_FACES = 3000
# Augmented views of each site face the adaptation cycles through.
SITE_VIEWS = 4
# --accept-loss at this (points) takes any adapted model, even one that judges no face of a size band the old
# model judged.
ACCEPT_ANY_LOSS = 100
# A collected face weighs at most this many faces of the datasets of its class.
MAX_SITE_FACE_WEIGHT = 10.0


@dataclass
class _Faces:
    """Faces to measure on: their cut features and true labels."""

    features: np.ndarray
    labels: np.ndarray


def adapt(config):
    """Adapt ``config.adapt_from`` to the collections among ``config.datasets``; returns the report also written
    as JSON. Raises InputError (nothing written) when the adapted model loses more than ``config.accept_loss``
    points on the datasets' validation faces, or no longer judges a size band the old model judged."""
    started, timings = time.perf_counter(), {}
    exports = check_config(config)
    sites, known_roots = _check_inputs(config)
    parts, class_names, old_rule = load_parts(config.adapt_from)
    find_classes(known_roots, classes=class_names)
    site_classes = _check_sites(sites, class_names, config)
    keras.utils.set_random_seed(config.seed)
    data = _load(config, known_roots, sites, class_names, site_classes, timings)
    features = _cut(parts, data, config, timings)

    before = _measure(parts, features.validation, features.held, class_names)
    mark = time.perf_counter()
    history = _fine_tune(parts, features.views, features.labels, features.weights, features.validation, config)
    timings["fine_tune_s"] = time.perf_counter() - mark
    after = _measure(parts, features.validation, features.held, class_names)
    _log(config, _comparison(before, after))
    lost = _check_accuracy(before, after, config)

    mark = time.perf_counter()
    judging_rule, judged = _calibrate(parts, data, features, class_names, config)
    timings["calibration_s"] = time.perf_counter() - mark
    _log(config, f"Judging rule: {describe(judged)}")
    _check_bands(old_rule, judging_rule, config)
    timings["wall_time_s"] = time.perf_counter() - started
    report = {
        "adapted_from": str(config.adapt_from),
        "class_names": class_names,
        "site": _site_report(data, sites, config),
        "datasets": {
            "roots": [str(root) for root in known_roots],
            "trained_on": len(data.sample),
            "validation": len(data.val_idx),
        },
        "before": before,
        "after": after,
        "validation_points_lost": round(lost, 2),
        "accept_loss": config.accept_loss,
        "settings": {"adapt_epochs": config.adapt_epochs, "learning_rate": config.adapt_learning_rate, "seed": config.seed},
        "judging": {**judging_rule.as_dict(), "target_accuracy": config.judged_accuracy, "validation_by_size": judged},
        "history": history,
        "timings": {key: round(value, 2) for key, value in timings.items()},
        "wall_time_s": round(timings["wall_time_s"], 2),
        "exports": {name: str(path) for name, path in exports.items()},
    }
    plotted = replace(config, head_epochs=config.adapt_epochs, fine_tune_epochs=0)
    probes = features.validation_crops[:EXPORT_CHECK_FACES]
    write_outputs(parts.model, judging_rule, history, report, plotted, exports, probes)
    _log(config, f"Wrote {config.model} and {config.report} in {time.perf_counter() - started:.0f} s")
    return report


@dataclass
class _Data:
    """The datasets' faces and the site's, and how they are split: the datasets' training sample and validation,
    the site's training faces and its held-out people; the generator of the augmented views."""

    known: object
    site: object
    people: list
    sample: np.ndarray
    val_idx: np.ndarray
    site_train: np.ndarray
    site_held: np.ndarray
    rng: np.random.Generator


@dataclass
class _Cut:
    """What the adaptation trains and measures on: the views at the cut, their labels and weights, the validation
    faces (and their crops, for calibrating) and the held-out site faces."""

    views: list
    labels: np.ndarray
    weights: np.ndarray
    validation: _Faces
    validation_crops: list
    held: _Faces
    extract: object


def _check_inputs(config):
    """The site's collections and the other datasets, refused before anything loads when one is missing."""
    sites = [root for root in config.datasets if collection.is_collection(root)]
    known_roots = [root for root in config.datasets if not collection.is_collection(root)]
    if not sites or not known_roots:
        raise InputError(
            "--adapt-from needs the datasets the model knew (--dataset dataset) and the site's labelled collection "
            "(--dataset DIR, made with --collect DIR and 'python -m maskdetect label DIR')"
        )
    if not Path(config.adapt_from).exists():
        raise InputError(f"no model to adapt at {config.adapt_from}")
    if Path(config.model).resolve() == Path(config.adapt_from).resolve():
        raise InputError(
            f"refusing to write the adapted model over the model it adapts, {config.adapt_from}: give -m another path"
        )
    return sites, known_roots


def _load(config, known_roots, sites, class_names, site_classes, timings):
    """Read the datasets and the site's faces, and split them (the datasets as training splits them)."""
    mark = time.perf_counter()
    known = load_dataset(known_roots, load_face_detector(config.framing_detector), verbose=config.verbose, classes=class_names)
    site, people = _site_faces(sites, class_names, site_classes, config)
    timings["load_images_s"] = time.perf_counter() - mark
    labels = np.asarray(known.labels)
    train_idx, val_idx = validation_split(labels, np.asarray(known.hashes), config, class_names, np.asarray(known.checked))
    site_train, site_held = _held_out_people(people, config.site_holdout, config.seed)
    _log(
        config,
        f"Site: {len(site.labels)} faces of {len(set(people))} people, {len(site_held)} faces of "
        f"{len({people[i] for i in site_held})} people held out; datasets: {len(val_idx)} validation faces",
    )
    # One generator draws the sample and then every augmented view: the same seed, the same adaptation.
    rng = np.random.default_rng(config.seed)
    sample = _sample(train_idx, KNOWN_FACES, rng)
    return _Data(known, site, people, sample, val_idx, site_train, site_held, rng)


def _cut(parts, data, config, timings):
    """The features at the cut of one augmented view of the datasets' sample and SITE_VIEWS of the site's
    training faces, and of the faces measured on."""
    mark = time.perf_counter()
    extract = compiled(parts.lower, tf.uint8)
    rng = data.rng
    lower_face = parts.model.input_shape[1] != parts.model.input_shape[2]
    known, site = data.known, data.site
    batches = augmented_batches(known, data.sample, rng, config.degrade, lower_face)
    known_view = cut_features(extract, batches, len(data.sample), config.verbose, "Features, datasets")
    site_views = []
    for view in range(SITE_VIEWS):
        batches = augmented_batches(site, data.site_train, rng, config.degrade, lower_face)
        label = f"Features, site, view {view + 1} of {SITE_VIEWS}"
        site_views.append(cut_features(extract, batches, len(data.site_train), config.verbose, label))
    known_labels, site_labels = np.asarray(known.labels), np.asarray(site.labels)
    validation_crops = [classifier_crop(known.images[i], known.boxes[i], IMAGE_SIZE, lower_face) for i in data.val_idx]
    validation = _Faces(_features(extract, validation_crops, config, "Features, validation"), known_labels[data.val_idx])
    held_crops = [classifier_crop(site.images[i], site.boxes[i], IMAGE_SIZE, lower_face) for i in data.site_held]
    held = _Faces(_features(extract, held_crops, config, "Features, held-out site"), site_labels[data.site_held])
    labels = np.concatenate([known_labels[data.sample], site_labels[data.site_train]])
    weights = _weights(labels, np.arange(len(labels)) >= len(data.sample), config.site_weight)
    views = [np.concatenate([known_view, site_view]) for site_view in site_views]
    timings["features_s"] = time.perf_counter() - mark
    return _Cut(views, labels, weights, validation, validation_crops, held, extract)


def _check_accuracy(before, after, config):
    """The points of accuracy lost on the datasets' validation faces; refused beyond ``config.accept_loss``."""
    lost = 100 * (before["validation"]["accuracy"] - after["validation"]["accuracy"])
    if lost > config.accept_loss:
        raise InputError(
            f"the adapted model is {lost:.1f} points less accurate on the datasets' validation faces "
            f"({before['validation']['accuracy']:.4f} -> {after['validation']['accuracy']:.4f}), more than "
            f"--accept-loss {config.accept_loss:g}: nothing was written, {config.model} is as it was"
        )
    return lost


def _calibrate(parts, data, features, class_names, config):
    """The adapted model's judging rule, calibrated on the datasets' validation faces as training does."""
    upper = compiled(parts.upper, tf.float32)
    extract = features.extract
    return calibrate_rule(
        lambda crops: run_batched(upper, cut_features(extract, crop_batches(crops), len(crops), False, "")),
        features.validation_crops,
        features.validation.labels,
        np.asarray(data.known.sources)[data.val_idx],
        class_names,
        False,
        config,
        np.asarray(data.known.checked)[data.val_idx],
    )


def _site_report(data, sites, config):
    people, held = data.people, data.site_held
    return {
        "collections": [str(root) for root in sites],
        "faces": len(data.site.labels),
        "people": len(set(people)),
        "train_faces": len(data.site_train),
        "held_out_faces": len(held),
        "held_out_people": len({people[i] for i in held}),
        "weight": config.site_weight,
    }


def _check_bands(old_rule, new_rule, config):
    """Refuse an adapted model that no longer judges a size band the old one judged (none of its faces would get
    a label), unless ``--accept-loss`` accepts any loss (100)."""
    if old_rule is None or config.accept_loss >= ACCEPT_ANY_LOSS:
        return
    lost = [
        band for band, old, new in zip(BAND_NAMES, old_rule.thresholds, new_rule.thresholds) if old is not None and new is None
    ]
    if lost:
        raise InputError(
            f"the adapted model no longer reaches the judged accuracy ({config.judged_accuracy:g}) on the datasets' "
            f"validation faces of {', '.join(lost)} px, which the old one judged: nothing was written, {config.model} "
            f"is as it was (fewer --adapt-epochs or a lower --site-weight change less; --accept-loss {ACCEPT_ANY_LOSS} "
            "takes it anyway)"
        )


def _log(config, message):
    if config.verbose:
        print(message, flush=True)


def _check_sites(roots, class_names, config):
    """Refuse, before any image is read, collections that cannot adapt the model: no labelled face, a class the
    model cannot tell, fewer than two labelled people (one is held out). Boxes labelled as no face are left
    out, with a line, for a model without that class. Returns the classes to read."""
    found = find_classes(roots, min_classes=1)
    unknown = sorted(set(found) - set(class_names) - {NOT_A_FACE})
    if unknown:
        raise InputError(
            f"the collected faces are labelled {', '.join(unknown)}, which {config.adapt_from} cannot tell "
            f"(it knows {', '.join(class_names)})"
        )
    if NOT_A_FACE in set(found) - set(class_names):
        _log(config, f"{len(found[NOT_A_FACE])} collected boxes labelled {NOT_A_FACE} left out: the model has no such class")
    classes = [name for name in found if name in class_names]
    people = {entry.person for root in roots for entry, _ in collection.labelled(root) if entry.label in classes}
    if len(people) < 2:
        raise InputError(f"the site's collections hold {len(people)} labelled person: at least 2 are needed to hold one out")
    return classes


def _site_faces(roots, class_names, site_classes, config):
    """The labelled faces of the site's collections in ``site_classes``, and the person of each."""
    site = load_dataset(roots, None, verbose=config.verbose, min_classes=1, classes=site_classes)
    site.labels = [class_names.index(site.class_names[label]) for label in site.labels]
    site.class_names = list(class_names)
    person_of = {entry.context_image.resolve(): entry.person for root in roots for entry, _ in collection.labelled(root)}
    return site, [person_of[Path(path).resolve()] for path in site.paths]


def _held_out_people(people, share, seed):
    """Indices (training, held out) of the site's faces, whole people held out: ``share`` of them, at least one."""
    names = sorted(set(people))
    if len(names) < 2:
        raise InputError(f"the site's collections hold {len(names)} labelled person: at least 2 are needed to hold one out")
    order = np.random.default_rng(seed).permutation(len(names))
    count = min(len(names) - 1, max(1, math.ceil(share * len(names))))
    held = {names[i] for i in order[:count]}
    held_out = np.array([person in held for person in people])
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def _sample(indices, count, rng):
    """At most ``count`` of ``indices``, drawn at random (so each class in about its share)."""
    if len(indices) <= count:
        return np.sort(indices)
    return np.sort(rng.choice(indices, count, replace=False))


def _weights(labels, from_site, site_weight):
    """Sample weights averaging 1. Every class carries the same total weight, as in training; within a class
    the site's faces (``from_site``) carry ``site_weight`` of it (all of it where the datasets have none), but
    no site face weighs more than MAX_SITE_FACE_WEIGHT dataset faces: a few faces are not learned by heart."""
    weights = np.zeros(len(labels))
    for label in np.unique(labels):
        site = (labels == label) & from_site
        known = (labels == label) & ~from_site
        capped = MAX_SITE_FACE_WEIGHT * site.sum() / (MAX_SITE_FACE_WEIGHT * site.sum() + known.sum())
        share = min(site_weight, capped) if known.any() else 1.0
        if site.any():
            weights[site] = share / site.sum()
        if known.any():
            weights[known] = (1.0 - (share if site.any() else 0.0)) / known.sum()
    return weights * len(labels) / weights.sum()


def _features(extract, crops, config, label):
    return cut_features(extract, crop_batches(crops), len(crops), config.verbose, label)


def _fine_tune(parts, views, labels, weights, validation, config):
    """Each member's top blocks and head, trained on ``views``; returns the history (mean over members)."""
    settings = replace(config, head_epochs=0, fine_tune_epochs=config.adapt_epochs)
    histories = []
    for index, member in enumerate(parts.members):
        keras.utils.set_random_seed(config.seed + 1000 * index)
        _log(config, f"Adapting member {index + 1} of {len(parts.members)}, {config.adapt_epochs} epochs ...")
        set_top_trainable(member, True)
        member_views = views[index % len(views) :] + views[: index % len(views)]
        histories.append(
            fit_epochs(
                member.upper,
                member_views,
                labels,
                weights,
                (validation.features, validation.labels),
                config.adapt_epochs,
                config.adapt_learning_rate,
                settings,
            )
        )
        set_top_trainable(member, False)
    return {key: [float(np.mean(values)) for values in zip(*(h[key] for h in histories))] for key in histories[0]}


def _measure(parts, validation, held, class_names):
    """Accuracy and recall per class on the datasets' validation faces and on the held-out site people."""
    upper = compiled(parts.upper, tf.float32)
    measured = {}
    for name, faces in (("validation", validation), ("site_held_out", held)):
        probabilities = run_batched(upper, faces.features)
        measured[name] = {
            "faces": int(len(faces.labels)),
            "accuracy": round(float(np.mean(probabilities.argmax(axis=1) == faces.labels)), 4),
            "recall": per_class_recall(faces.labels, probabilities, class_names),
            "faces_per_class": {
                class_names[label]: int(count) for label, count in zip(*np.unique(faces.labels, return_counts=True))
            },
        }
    return measured


def _comparison(before, after):
    lines = []
    for name, title in (("validation", "datasets' validation faces"), ("site_held_out", "held-out site people")):
        recall = ", ".join(
            f"{label} {before[name]['recall'][label]:.3f} -> {value:.3f}" for label, value in after[name]["recall"].items()
        )
        lines.append(
            f"{title} ({after[name]['faces']}): accuracy {before[name]['accuracy']:.4f} -> {after[name]['accuracy']:.4f}"
            f"; recall {recall}"
        )
    return "\n".join(lines)
