"""Training labels to look at again: the faces a cross-validated model contradicts with high confidence.

Run it as ``python -m maskdetect label-review DATASET [DATASET ...] --csv suspects.csv``.
Every face is framed and aligned as in training; MobileNetV2's ImageNet features
of each face are classified by a logistic regression trained on the other folds
(near-duplicates stay in one fold), so no face is judged by a model that saw it.
The faces whose own label gets a probability under ``max_probability`` are
listed, most contradicted first, for a person to review: the tool changes no label.
Record each correction made in the dataset's ``corrections.csv``.
"""

import numpy as np

FOLDS = 5
DEFAULT_MAX_PROBABILITY = 0.1


def suspects(roots, max_probability=DEFAULT_MAX_PROBABILITY, folds=FOLDS, seed=0, verbose=False):
    """Rows (path, label, predicted, probability of its label) of the faces whose label is contradicted."""
    from sklearn.linear_model import LogisticRegression

    from maskdetect.classify.batch import IMAGE_SIZE
    from maskdetect.classify.keras_backend import compiled
    from maskdetect.detect.align import aligned_face
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.quiet_tensorflow import tf
    from maskdetect.training.dataset import load_dataset
    from maskdetect.training.duplicates import duplicate_groups
    from maskdetect.training.model import build_classifier, run_batched
    from maskdetect.training.train import crop_batches, cut_features

    dataset = load_dataset(roots, load_face_detector("yunet"), verbose=verbose)
    labels = np.asarray(dataset.labels)
    parts = build_classifier(dataset.class_names, lower_face=False)
    crops = [aligned_face(image, box, IMAGE_SIZE) for image, box in zip(dataset.images, dataset.boxes)]
    cut = cut_features(compiled(parts.lower, tf.uint8), crop_batches(crops), len(crops), verbose, "Features")
    pooled = run_batched(compiled(parts.members[0].top, tf.float32), cut)
    groups = duplicate_groups(np.asarray(dataset.hashes))
    fold_of_group = np.random.default_rng(seed).integers(0, folds, size=groups.max() + 1)
    fold = fold_of_group[groups]
    own = np.zeros(len(labels))
    predicted = np.zeros(len(labels), int)
    for k in range(folds):
        held = fold == k
        model = LogisticRegression(max_iter=2000, C=0.5, class_weight="balanced")
        model.fit(pooled[~held], labels[~held])
        probabilities = model.predict_proba(pooled[held])
        own[held] = probabilities[np.arange(held.sum()), labels[held]]
        predicted[held] = probabilities.argmax(axis=1)
    order = np.argsort(own)
    names = dataset.class_names
    return [
        (str(dataset.paths[i]), names[labels[i]], names[predicted[i]], round(float(own[i]), 4))
        for i in order
        if own[i] < max_probability
    ]
