"""Face-mask detection toolkit: train a mask classifier, find faces, label them."""

import os

# TensorFlow's C++ start-up chatter hides our own messages; keep warnings and errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from maskdetect.errors import InputError  # noqa: E402

__all__ = ["InputError"]
__version__ = "1.0.0"
