"""``python -m maskdetect evaluate``: evaluate face detection and mask labels end to end on photos with PASCAL VOC annotations."""

import sys
from pathlib import Path

from maskdetect.cli.common import apply_verbosity, new_parser, print_report, run_main
from maskdetect.cli.options import add_options, read_options
from maskdetect.cli.status import EXIT_OK
from maskdetect.errors import InputError
from maskdetect.evaluation.scenes import CHECKS_FILE, DEFAULT_IOU, collect, no_face_boxes, report_text, summarise
from maskdetect.evaluation.voc import annotated_images
from maskdetect.io.outputs import check_file_output, is_stdout
from maskdetect.pipeline import load_detector
from maskdetect.settings import DetectorSettings, number


def parse_args(argv=None):
    parser = new_parser(
        "python -m maskdetect evaluate",
        "Evaluate face detection and mask labels end to end on photos with PASCAL VOC annotations.",
        """
        python -m maskdetect evaluate data/scenes/images            annotations/ beside images/
        python -m maskdetect evaluate photos --annotations xml --iou 0.5 --json report.json
        """,
    )
    parser.add_argument("images", help="folder of annotated photos")
    parser.add_argument(
        "-a",
        "--annotations",
        help="folder of VOC xml files named like the photos (default: 'annotations' beside IMAGES, else IMAGES)",
    )
    add_options(parser, DetectorSettings())
    parser.add_argument(
        "--iou",
        type=number(above=0.0, maximum=1.0),
        default=DEFAULT_IOU,
        help="box overlap (IoU) at which a found face matches an annotated one",
    )
    parser.add_argument(
        "--checks",
        metavar="CSV",
        help=f"boxes checked by eye as face or no face (default: {CHECKS_FILE} "
        "beside IMAGES, if there); the report counts those recorded as no face that are still reported",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH, or '-' for stdout")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    if not 0.0 < args.iou <= 1.0:
        raise InputError(f"--iou must be in (0, 1], got {args.iou}")
    pairs = annotated_images(args.images, args.annotations)
    if args.json and not is_stdout(args.json):
        check_file_output(args.json, inputs=[args.images], kind="json")
    detector = load_detector(read_options(DetectorSettings(), args))
    checks = Path(args.checks) if args.checks else Path(args.images).parent / CHECKS_FILE
    no_faces = no_face_boxes(checks)
    records, false_faces, no_face_reported = collect(detector, pairs, args.iou, no_faces)
    report = summarise(records, false_faces, detector.class_names, args.iou, sum(map(len, no_faces.values())), no_face_reported)
    report["faces"] = records
    print_report(report_text(report), report, args.json)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
