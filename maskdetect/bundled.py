"""The files that come with the package: face detectors, the shipped classifier, ImageNet weights, example photos.

They live in ``maskdetect/models/`` and are installed with the package, so every command
finds them from any folder.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
MODELS = PACKAGE / "models"
EXAMPLES = PACKAGE / "examples"
FACE_DETECTOR_DIR = MODELS / "face_detector"
SHIPPED_MODEL = MODELS / "mask_detector.model"
IMAGENET_WEIGHTS = MODELS / "mobilenet_v2_1.0_224_no_top_imagenet.h5"
# What training writes by default, in the folder it runs in.
TRAINED_MODEL = "mask_detector.model"


def default_model():
    """``mask_detector.model`` in the current folder when training left one there, else the shipped model."""
    return Path(TRAINED_MODEL) if Path(TRAINED_MODEL).exists() else SHIPPED_MODEL
