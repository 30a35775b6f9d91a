"""Train the face-mask classifier: MobileNetV2 (ImageNet weights) with a new head, its top blocks fine-tuned."""

import argparse

from maskdetect.cli.common import apply_verbosity, new_parser, number, run_main
from maskdetect.errors import InputError

EXAMPLES_TEXT = """
    mask-train                                          dataset/ -> mask_detector.model, .onnx, .tflite
    mask-train --classes with_mask without_mask -m mask_detector_2class.model -p plot_2class.png -r report_2class.json
    mask-train -d dataset -d data/extra                 also the synthetic incorrectly worn masks of data/extra/
    mask-train -d my_faces --head-epochs 8 --fine-tune-epochs 0 --export onnx
"""


def _training():
    """The training module; a plain install (detection only) lacks TensorFlow and the other training packages."""
    try:
        from maskdetect.training import train as training
    except ModuleNotFoundError as missing:
        raise InputError(
            f"training needs TensorFlow and the other training packages ({missing.name} is not installed): "
            "pip install 'maskdetect[train]', or pip install -r requirements.txt in a clone"
        ) from None
    return training


def parse_args(argv=None):
    training = _training()
    defaults = training.TrainingConfig()
    parser = new_parser("mask-train", __doc__, EXAMPLES_TEXT)
    parser.add_argument(
        "-d", "--dataset", action="append",
        help="folder with one subfolder of images per class; repeat to merge folders (default: dataset)",
    )
    parser.add_argument("-m", "--model", default=defaults.model, help="where to write the trained model")
    parser.add_argument("-p", "--plot", default=defaults.plot, help="where to write the loss/accuracy plot")
    parser.add_argument("-r", "--report", default=defaults.report, help="where to write the JSON report")
    parser.add_argument(
        "-w", "--weights", default=defaults.weights,
        help="ImageNet weights for MobileNetV2: a .h5 file, 'imagenet' to download, or 'none'",
    )
    parser.add_argument("--head-epochs", type=int, default=defaults.head_epochs, help="stage 1: epochs of the head alone")
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=defaults.fine_tune_epochs,
        help="stage 2: epochs fine-tuning the top blocks with the head (0: no fine-tuning)",
    )
    parser.add_argument(
        "--classes", nargs="+", metavar="CLASS", default=defaults.classes,
        help="train on these class folders only (default: every class folder of the datasets)",
    )
    parser.add_argument("--top-blocks", type=int, default=defaults.top_blocks, help="MobileNetV2 blocks fine-tuned in stage 2 (0-3)")
    parser.add_argument(
        "--members", type=int, default=defaults.members,
        help="copies of the top blocks and head, trained apart on the shared frozen base and averaged in one graph: "
        "results that depend less on the seed",
    )
    parser.add_argument(
        "--third-class-cost", type=number(minimum=0.0, below=0.5), default=defaults.third_class_cost,
        help="with a mask_weared_incorrect class: how much validation recall each other class may lose to it "
        "(its weight in the decision is lowered until then)",
    )
    parser.add_argument(
        "--judged-accuracy", type=number(minimum=0.5, below=1.0), default=defaults.judged_accuracy,
        help="per face size, the probability under which a face gets no label ('uncertain', or 'too_small' where "
        "no face can be) is set on validation faces so that the judged ones of each class, and of each source of 100 "
        "or more, are right this often",
    )
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per training step")
    parser.add_argument("--learning-rate", type=number(above=0.0, maximum=10.0), default=defaults.learning_rate, help="stage 1 learning rate")
    parser.add_argument(
        "--fine-tune-learning-rate", type=number(above=0.0, maximum=10.0), default=defaults.fine_tune_learning_rate, help="stage 2 learning rate"
    )
    parser.add_argument("--val-split", type=number(above=0.0, below=0.5), default=defaults.val_split, help="share of images held out for validation")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the split, the views and the training")
    parser.add_argument(
        "--views", type=int, default=defaults.views,
        help="augmented views per training image whose features are computed (epochs cycle through them)",
    )
    parser.add_argument(
        "--lower-face", action=argparse.BooleanOptionalAction, default=defaults.lower_face,
        help="also judge a second, closer view of the lower face (under the eyes to the chin), stacked under the face",
    )
    parser.add_argument(
        "--degrade", type=number(minimum=0.0, maximum=1.0), default=defaults.degrade,
        help="share of views degraded like a poor webcam or a crowd photo (small, dark, colour cast, JPEG)",
    )
    parser.add_argument(
        "--weighting", choices=training.WEIGHTINGS, default=defaults.weighting,
        help="sample weights per source and class: by loss measured after stage 1, by image counts only, or none",
    )
    parser.add_argument(
        "--export", nargs="*", choices=training.EXPORT_FORMATS, default=defaults.exports, metavar="FORMAT",
        help="also write the model for inference without TensorFlow, beside it under the same name: "
        "onnx (.onnx, for ONNX Runtime) and/or litert (.tflite); none with an empty list",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    training = _training()
    training.train(
        training.TrainingConfig(
            datasets=args.dataset or ["dataset"], model=args.model, plot=args.plot, report=args.report,
            weights=args.weights, head_epochs=args.head_epochs, fine_tune_epochs=args.fine_tune_epochs,
            top_blocks=args.top_blocks, members=args.members, classes=args.classes,
            judged_accuracy=args.judged_accuracy, third_class_cost=args.third_class_cost, batch_size=args.batch_size, learning_rate=args.learning_rate,
            fine_tune_learning_rate=args.fine_tune_learning_rate, val_split=args.val_split, seed=args.seed,
            views=args.views, lower_face=args.lower_face, degrade=args.degrade, weighting=args.weighting, exports=args.export, verbose=not args.quiet,
        )
    )
    return 0


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
