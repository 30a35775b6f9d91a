"""``python -m maskdetect label-review``: list the training labels a cross-validated model contradicts, for a person to review."""

import csv
import io
import sys

from maskdetect.cli.common import apply_verbosity, new_parser, run_main
from maskdetect.cli.status import EXIT_OK
from maskdetect.errors import InputError
from maskdetect.io.atomic import atomic_output
from maskdetect.io.outputs import check_file_output, is_stdout
from maskdetect.settings import number
from maskdetect.training.label_review import DEFAULT_MAX_PROBABILITY, suspects


def main(argv=None):
    parser = new_parser(
        "python -m maskdetect label-review",
        "List the training labels a cross-validated model contradicts with high confidence, for a person to review.",
        """
        python -m maskdetect label-review dataset --csv suspects.csv
        python -m maskdetect label-review dataset data/extra --max-probability 0.05 --csv -
        """,
    )
    parser.add_argument("datasets", nargs="+", help="dataset folders (one subfolder of images per class)")
    parser.add_argument(
        "--max-probability",
        type=number(above=0.0, below=1.0),
        default=DEFAULT_MAX_PROBABILITY,
        help="list the faces whose own label gets a probability under this",
    )
    parser.add_argument("--csv", default="-", metavar="PATH", help="where to write the list ('-': stdout)")
    args = parser.parse_args(argv)
    apply_verbosity(args)
    if not 0.0 < args.max_probability < 1.0:
        raise InputError(f"--max-probability must be between 0 and 1, got {args.max_probability}")
    if not is_stdout(args.csv):
        check_file_output(args.csv, inputs=args.datasets, kind="review_csv")
    rows = suspects(args.datasets, args.max_probability, verbose=not args.quiet)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["file", "label", "predicted", "probability_of_label"])
    writer.writerows(rows)
    if is_stdout(args.csv):
        sys.stdout.write(text.getvalue())
    else:
        with atomic_output(args.csv, ".csv") as temporary:
            temporary.write_text(text.getvalue(), encoding="utf-8")
        print(f"{len(rows)} faces to review: {args.csv}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
