"""How much each training image and class counts: source-and-class cells, and the third class weighed down."""

import numpy as np

from maskdetect.classify.keras_backend import compiled
from maskdetect.quiet_tensorflow import tf
from maskdetect.training.model import run_batched

# Measured weighting: a source's weight grows with its loss after stage 1, within these bounds.
DIFFICULTY_RANGE = (0.5, 3.0)
INCORRECT_CLASS = "mask_weared_incorrect"


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


def weights_table(cells, weights, difficulty, class_names):
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
