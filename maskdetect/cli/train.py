"""Train the face-mask classifier: MobileNetV2 (ImageNet weights) with a new head, its top blocks fine-tuned."""

import dataclasses

from maskdetect.cli.common import apply_verbosity, new_parser, run_main
from maskdetect.cli.options import add_options, read_options
from maskdetect.errors import InputError
from maskdetect.settings import TrainingSettings, options_of

EXAMPLES_TEXT = """
    mask-train                                          dataset/ -> mask_detector.model, .onnx, .tflite
    mask-train --classes with_mask without_mask -m mask_detector_2class.model -p plot_2class.png -r report_2class.json
    mask-train -d dataset -d data/extra                 also the synthetic incorrectly worn masks of data/extra/
    mask-train -d my_faces --head-epochs 8 --fine-tune-epochs 0 --export onnx
    mask-train --adapt-from -d dataset -d collected -m site.model   the shipped model adapted to collected/ (labelled)
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
    _training()
    parser = new_parser("mask-train", __doc__, EXAMPLES_TEXT)
    add_options(parser, TrainingSettings())
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    training = _training()
    settings = dataclasses.replace(read_options(TrainingSettings(), args), verbose=not args.quiet)
    if settings.adapt_from == "":
        raise InputError("--adapt-from needs a model's path, or none for the shipped model")
    _refuse_misplaced(settings)
    if settings.adapt_from:
        from maskdetect.training.adapt import adapt

        adapt(settings)
    else:
        training.train(settings)
    return 0


# The options of a training from ImageNet alone, and those of an adaptation alone.
TRAINING_ONLY = (
    "classes", "weights", "head_epochs", "fine_tune_epochs", "top_blocks", "members", "learning_rate",
    "fine_tune_learning_rate", "views", "weighting", "third_class_cost",
)  # fmt: skip
ADAPTING_ONLY = ("site_weight", "site_holdout", "adapt_epochs", "adapt_learning_rate", "accept_loss")


def _refuse_misplaced(settings):
    """Refuse options that the run would ignore: training's with --adapt-from, adapting's without it."""
    defaults = TrainingSettings()
    flags = {name: spec["flags"][-1] for name, spec, _ in options_of(defaults)}
    ignored = TRAINING_ONLY if settings.adapt_from else ADAPTING_ONLY
    given = [flags[name] for name in ignored if getattr(settings, name) != getattr(defaults, name)]
    if given and settings.adapt_from:
        raise InputError(f"--adapt-from does not use {', '.join(given)} (a training from ImageNet does)")
    if given:
        raise InputError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with --adapt-from only")


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
