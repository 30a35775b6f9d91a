"""Validation metrics: overall, per class and per image source."""

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix


def evaluate(labels, probabilities, class_names, sources):
    """Metrics as a JSON-ready dict, with the printable report under 'text'."""
    labels = np.asarray(labels)
    predicted = np.argmax(probabilities, axis=1)
    sources = np.asarray(sources)
    every_label = list(range(len(class_names)))
    result = _metrics(labels, predicted, class_names, every_label)
    text = [_text("Validation", labels, predicted, class_names, every_label)]
    result["per_source"] = {}
    for source in sorted(set(sources.tolist())):
        chosen = sources == source
        result["per_source"][source] = {
            "images": int(chosen.sum()),
            **_metrics(labels[chosen], predicted[chosen], class_names, every_label),
        }
        text.append(_text(f"Validation, source '{source}'", labels[chosen], predicted[chosen], class_names, every_label))
    result["text"] = "\n".join(text)
    return result


def _metrics(labels, predicted, class_names, every_label):
    report = classification_report(
        labels, predicted, labels=every_label, target_names=class_names, output_dict=True, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "per_class": {
            name: {
                "precision": float(report[name]["precision"]),
                "recall": float(report[name]["recall"]),
                "f1": float(report[name]["f1-score"]),
                "support": int(report[name]["support"]),
            }
            for name in class_names
        },
        "confusion_matrix": confusion_matrix(labels, predicted, labels=every_label).tolist(),
    }


def _text(title, labels, predicted, class_names, every_label):
    report = classification_report(labels, predicted, labels=every_label, target_names=class_names, digits=4, zero_division=0)
    matrix = confusion_matrix(labels, predicted, labels=every_label)
    width = max(len(name) for name in class_names) + 2
    rows = [" " * width + "".join(f"{name:>{width}}" for name in class_names) + "   (rows: true, columns: predicted)"]
    rows += [f"{name:<{width}}" + "".join(f"{count:>{width}}" for count in row) for name, row in zip(class_names, matrix)]
    return f"\n== {title}: {len(labels)} images ==\n{report}\nConfusion matrix:\n" + "\n".join(rows) + "\n"


def per_class_recall(labels, probabilities, class_names):
    """The share of each class's images labelled as that class."""
    labels, predicted = np.asarray(labels), np.argmax(probabilities, axis=1)
    return {
        name: round(float(np.mean(predicted[labels == index] == index)), 4)
        for index, name in enumerate(class_names)
        if np.any(labels == index)
    }
