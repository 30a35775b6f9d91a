"""``python -m maskdetect face-check``: accuracy on a check set of face photos, per kind of hard case and class,
and on degraded copies."""

import sys

from maskdetect.cli.common import apply_verbosity, new_parser, print_report, run_main
from maskdetect.cli.options import add_options
from maskdetect.cli.status import EXIT_OK
from maskdetect.evaluation.face_check import check_faces, kinds_of, report_text
from maskdetect.io.outputs import check_file_output, is_stdout
from maskdetect.settings import DetectorSettings


def parse_args(argv=None):
    parser = new_parser(
        "python -m maskdetect face-check",
        "Accuracy on a check set of face photos, per kind of hard case and class, and on degraded copies "
        "(60 px, 40% light, blue cast, JPEG quality 30).",
        """
        python -m maskdetect face-check                             the bundled data/hard_cases/
        python -m maskdetect face-check my_faces --json check.json  my_faces/<kind>/<class>/*.jpg
        """,
    )
    parser.add_argument("folder", nargs="?", default="data/hard_cases", help="folder of <kind>/<class>/ face photos")
    add_options(parser, DetectorSettings(), only=("model", "backend"))
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH, or '-' for stdout")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    from maskdetect.classify.backends import load_classifier
    from maskdetect.detect.detectors import load_face_detector

    kinds_of(args.folder)
    if args.json and not is_stdout(args.json):
        check_file_output(args.json, inputs=[args.folder], kind="json")
    results = check_faces(load_classifier(args.model, args.backend), args.folder, load_face_detector("yunet"))
    print_report(report_text(results), results, args.json)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
