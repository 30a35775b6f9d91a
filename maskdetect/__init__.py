"""Face-mask detection toolkit: train a mask classifier, find faces, label them."""

import os

# TensorFlow's C++ start-up chatter hides our own messages; Python-side errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

from maskdetect.errors import InputError  # noqa: E402

__all__ = ["InputError"]
__version__ = "1.5.0"
