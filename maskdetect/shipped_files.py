"""The files that come with the toolkit: face detectors, the shipped classifier, ImageNet weights, example photos.

The face detectors are in ``face_detector/`` at the top of a clone, the one copy of them; an
installed package carries that folder as its package data ``maskdetect/face_detector``. The
classifier, the weights and the photos live in ``maskdetect/models/`` and ``maskdetect/examples/``.
Every command finds them from any folder.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
MODELS = PACKAGE / "models"
EXAMPLES = PACKAGE / "examples"
FACE_DETECTOR_DIR = next(
    (folder for folder in (PACKAGE / "face_detector", PACKAGE.parent / "face_detector") if folder.is_dir()),
    PACKAGE / "face_detector",
)
SHIPPED_MODEL = MODELS / "mask_detector.model"
IMAGENET_WEIGHTS = MODELS / "mobilenet_v2_1.0_224_no_top_imagenet.h5"
# What training writes by default, in the folder it runs in.
TRAINED_MODEL = "mask_detector.model"


def default_model():
    """``mask_detector.model`` in the current folder when training left one there, else the shipped model."""
    return Path(TRAINED_MODEL) if Path(TRAINED_MODEL).exists() else SHIPPED_MODEL
