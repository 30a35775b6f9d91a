"""Face-mask detection toolkit: train a mask classifier, find faces, label them."""

import os

# TensorFlow's C++ start-up chatter hides our own messages; Python-side errors still raise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
# FFmpeg's own lines about a stream that fails (the toolkit says it in one line of its own).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
# OpenCV's own limit on the pixels it decodes, for the kinds whose size maskdetect.io.images cannot read first.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(400_000_000))

from maskdetect.errors import InputError

__all__ = ["InputError"]
__version__ = "1.7.0"
