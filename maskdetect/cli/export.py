"""``python -m maskdetect export``: export a trained Keras classifier to ONNX and LiteRT."""

import sys

from maskdetect.cli.common import apply_verbosity, new_parser, run_main
from maskdetect.cli.status import EXIT_OK
from maskdetect.training.export import FORMATS, export_model


def main(argv=None):
    parser = new_parser(
        "python -m maskdetect export",
        "Export a trained Keras classifier to ONNX and LiteRT (training exports its model itself).",
        """
        python -m maskdetect export mask_detector.model             writes mask_detector.onnx and .tflite
        python -m maskdetect export my.keras --formats onnx
        """,
    )
    parser.add_argument("model", help="a trained Keras model (mask_detector.model, or a .keras file)")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS), help="what to export")
    args = parser.parse_args(argv)
    apply_verbosity(args)
    for name, path in export_model(args.model, args.formats).items():
        print(f"wrote {path} ({name})")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(run_main(main))
