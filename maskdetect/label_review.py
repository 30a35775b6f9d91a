"""Training labels to look at again: the faces a cross-validated model contradicts with high confidence.

Run it as ``python -m maskdetect.label_review DATASET [DATASET ...] --csv suspects.csv``.
Every face is framed and aligned as in training; MobileNetV2's ImageNet features
of each face are classified by a logistic regression trained on the other folds
(near-duplicates stay in one fold), so no face is judged by a model that saw it.
The faces whose own label gets a probability under ``--max-probability`` are
listed, most contradicted first, for a person to review: the tool changes no label.
Record each correction made in the dataset's ``corrections.csv``.
"""

import csv
import io
import sys

import numpy as np

from maskdetect.atomic import atomic_output
from maskdetect.cli import EXIT_OK, apply_verbosity, new_parser, run_main
from maskdetect.errors import InputError
from maskdetect.outputs import check_file_output

FOLDS = 5
DEFAULT_MAX_PROBABILITY = 0.1


def suspects(roots, max_probability=DEFAULT_MAX_PROBABILITY, folds=FOLDS, seed=0, verbose=False):
    """Rows (path, label, predicted, probability of its label) of the faces whose label is contradicted."""
    from sklearn.linear_model import LogisticRegression

    from maskdetect.dataset import load_dataset
    from maskdetect.duplicates import duplicate_groups
    from maskdetect.faces import IMAGE_SIZE, aligned_face, load_face_detector
    from maskdetect.model import build_classifier, compiled
    from maskdetect.quiet_tensorflow import tf
    from maskdetect.training import crop_batches, cut_features, run_batched

    dataset = load_dataset(roots, load_face_detector("yunet"), verbose=verbose)
    labels = np.asarray(dataset.labels)
    parts = build_classifier(dataset.class_names)
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
        for i in order if own[i] < max_probability
    ]


def main(argv=None):
    parser = new_parser(
        "python -m maskdetect.label_review", __doc__.splitlines()[0],
        """
        python -m maskdetect.label_review dataset --csv suspects.csv
        python -m maskdetect.label_review dataset extra --max-probability 0.05 --csv -
        """,
    )
    parser.add_argument("datasets", nargs="+", help="dataset folders (one subfolder of images per class)")
    parser.add_argument(
        "--max-probability", type=float, default=DEFAULT_MAX_PROBABILITY,
        help="list the faces whose own label gets a probability under this",
    )
    parser.add_argument("--csv", default="-", metavar="PATH", help="where to write the list ('-': stdout)")
    args = parser.parse_args(argv)
    apply_verbosity(args)
    if not 0.0 < args.max_probability < 1.0:
        raise InputError(f"--max-probability must be between 0 and 1, got {args.max_probability}")
    if args.csv != "-":
        check_file_output(args.csv, inputs=args.datasets, kind="text")
    rows = suspects(args.datasets, args.max_probability, verbose=not args.quiet)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["file", "label", "predicted", "probability_of_label"])
    writer.writerows(rows)
    if args.csv == "-":
        sys.stdout.write(text.getvalue())
    else:
        with atomic_output(args.csv, ".csv") as temporary:
            temporary.write_text(text.getvalue(), encoding="utf-8")
        print(f"{len(rows)} faces to review: {args.csv}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
