#!/usr/bin/env python3
"""Train the face-mask classifier: MobileNetV2 (ImageNet weights) with a new head, its top blocks fine-tuned."""

import argparse
import sys

import maskdetect  # noqa: F401  (quiets TensorFlow before it loads)
from maskdetect.cli import run_main
from maskdetect.training import EXPORT_FORMATS, WEIGHTINGS, TrainingConfig

DEFAULTS = TrainingConfig()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        "-d", "--dataset", action="append",
        help="folder with one subfolder of images per class; repeat to merge folders (default: dataset)",
    )
    parser.add_argument("-m", "--model", default=DEFAULTS.model, help="where to write the trained model")
    parser.add_argument("-p", "--plot", default=DEFAULTS.plot, help="where to write the loss/accuracy plot")
    parser.add_argument("-r", "--report", default=DEFAULTS.report, help="where to write the JSON report")
    parser.add_argument(
        "-w", "--weights", default=DEFAULTS.weights,
        help="ImageNet weights for MobileNetV2: a .h5 file, 'imagenet' to download, or 'none'",
    )
    parser.add_argument("--head-epochs", type=int, default=DEFAULTS.head_epochs, help="stage 1: epochs of the head alone")
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=DEFAULTS.fine_tune_epochs,
        help="stage 2: epochs fine-tuning the top blocks with the head (0: no fine-tuning)",
    )
    parser.add_argument("--top-blocks", type=int, default=DEFAULTS.top_blocks, help="MobileNetV2 blocks fine-tuned in stage 2 (0-3)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate, help="stage 1 learning rate")
    parser.add_argument(
        "--fine-tune-learning-rate", type=float, default=DEFAULTS.fine_tune_learning_rate, help="stage 2 learning rate"
    )
    parser.add_argument("--val-split", type=float, default=DEFAULTS.val_split, help="share of images held out for validation")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument(
        "--views", type=int, default=DEFAULTS.views,
        help="augmented views per training image whose features are computed (epochs cycle through them)",
    )
    parser.add_argument(
        "--degrade", type=float, default=DEFAULTS.degrade,
        help="share of views degraded like a poor webcam or a crowd photo (small, dark, colour cast, JPEG)",
    )
    parser.add_argument(
        "--weighting", choices=WEIGHTINGS, default=DEFAULTS.weighting,
        help="sample weights per source and class: by loss measured after stage 1, by image counts only, or none",
    )
    parser.add_argument(
        "--export", nargs="*", choices=EXPORT_FORMATS, default=DEFAULTS.exports, metavar="FORMAT",
        help="also write the model for inference without TensorFlow, beside it under the same name: "
        "onnx (.onnx, for ONNX Runtime) and/or litert (.tflite); none with an empty list",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from maskdetect.training import train

    train(
        TrainingConfig(
            datasets=args.dataset or DEFAULTS.datasets, model=args.model, plot=args.plot, report=args.report,
            weights=args.weights, head_epochs=args.head_epochs, fine_tune_epochs=args.fine_tune_epochs,
            top_blocks=args.top_blocks, batch_size=args.batch_size, learning_rate=args.learning_rate,
            fine_tune_learning_rate=args.fine_tune_learning_rate, val_split=args.val_split, seed=args.seed,
            views=args.views, degrade=args.degrade, weighting=args.weighting, exports=args.export, verbose=not args.quiet,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
