"""Accuracy on a check set of face photos, per kind of hard case and per class, and on degraded copies.

Run it as ``python -m maskdetect face-check FOLDER``. FOLDER holds one subfolder
per kind of hard case (``beard/``, ``webcam/``, ...), each with one subfolder of
face photos per class, like a training dataset; a FOLDER with class subfolders
directly is one kind. Faces are framed by the face detector as in training.
"""

from pathlib import Path

from maskdetect.classify.judging import NOT_A_FACE, JudgingRule, face_probabilities
from maskdetect.detect.align import classifier_crop
from maskdetect.errors import InputError
from maskdetect.training.augment import degraded_copy

DEGRADED = "degraded copies"


def kinds_of(folder):
    """{kind: dataset folder}: the subfolders that hold class folders, or the folder itself."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"check folder not found: {folder}")
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    nested = {p.name: p for p in subfolders if any(q.is_dir() for q in p.iterdir())}
    return nested or {folder.name: folder}


def check_faces(classifier, folder, face_detector):
    """{kind: {class: {"faces", "accuracy", "predicted"}}}, plus DEGRADED over every face of every kind."""
    from maskdetect.training.dataset import load_dataset

    results, all_crops, all_truths = {}, [], []
    for kind, path in kinds_of(folder).items():
        dataset = load_dataset([path], face_detector, verbose=False, min_classes=1)
        crops = [
            classifier_crop(image, box, classifier.input_size, classifier.lower_face)
            for image, box in zip(dataset.images, dataset.boxes)
        ]
        truths = [dataset.class_names[label] for label in dataset.labels]
        heights = [box.height for box in dataset.boxes]
        results[kind] = _scores(truths, labels_as_detected(classifier, crops, heights))
        all_crops += crops
        all_truths += truths
    # A degraded copy is seen at 60 px (augment.degraded_copy).
    degraded = labels_as_detected(classifier, [degraded_copy(crop) for crop in all_crops], [60] * len(all_crops))
    results[DEGRADED] = _scores(all_truths, degraded)
    return results


def labels_as_detected(classifier, crops, heights, batch=64):
    """Each crop's label as detection gives it: NOT_A_FACE where the classifier's rule drops a box of that
    height as no face, else the most likely face class."""
    rule = getattr(classifier, "judging_rule", None) or JudgingRule.fixed_size(0)
    names = [name for name in classifier.class_names if name != NOT_A_FACE]
    labels = []
    for start in range(0, len(crops), batch):
        faces, no_face = face_probabilities(classifier.probabilities(crops[start : start + batch]), classifier.class_names)
        for row, probability, height in zip(faces, no_face, heights[start : start + batch]):
            labels.append(names[int(row.argmax())] if rule.is_face(height, float(probability)) else NOT_A_FACE)
    return labels


def _scores(truths, predicted):
    scores = {}
    for name in sorted(set(truths)):
        chosen = [p for t, p in zip(truths, predicted) if t == name]
        scores[name] = {
            "faces": len(chosen),
            "accuracy": round(sum(p == name for p in chosen) / len(chosen), 4),
            "predicted": {label: chosen.count(label) for label in sorted(set(chosen))},
        }
    return scores


def report_text(results):
    lines = [f"{'kind':<20}{'class':<16}{'faces':>6}{'accuracy':>10}"]
    for kind, classes in results.items():
        for name, score in classes.items():
            lines.append(f"{kind:<20}{name:<16}{score['faces']:>6}{score['accuracy']:>10.3f}")
    return "\n".join(lines)
