#!/usr/bin/env python3
"""Train the face-mask classifier: MobileNetV2 (frozen, ImageNet) with a new head."""

import argparse
import sys

import maskdetect  # noqa: F401  (quiets TensorFlow before it loads)
from maskdetect.cli import run_main
from maskdetect.training import TrainingConfig

DEFAULTS = TrainingConfig()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-d", "--dataset", default=DEFAULTS.dataset, help="folder with one subfolder of images per class")
    parser.add_argument("-m", "--model", default=DEFAULTS.model, help="where to write the trained model")
    parser.add_argument("-p", "--plot", default=DEFAULTS.plot, help="where to write the loss/accuracy plot")
    parser.add_argument("-r", "--report", default=DEFAULTS.report, help="where to write the JSON report")
    parser.add_argument(
        "-w", "--weights", default=DEFAULTS.weights,
        help="ImageNet weights for MobileNetV2: a .h5 file (default: the bundled one), 'imagenet' to download, or 'none'",
    )
    parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    parser.add_argument("--val-split", type=float, default=DEFAULTS.val_split, help="share of images held out")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument(
        "--views", type=int, default=DEFAULTS.views,
        help="augmented views per training image whose base features are computed (epochs cycle through them)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from maskdetect.training import train

    train(
        TrainingConfig(
            dataset=args.dataset, model=args.model, plot=args.plot, report=args.report, weights=args.weights,
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
            val_split=args.val_split, seed=args.seed, views=args.views, verbose=not args.quiet,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
