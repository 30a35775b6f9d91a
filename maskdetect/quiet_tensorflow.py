"""TensorFlow and Keras, imported without their start-up chatter.

TensorFlow's native code prints lines such as "Could not find cuda drivers" on a CPU machine
before its log level applies; they are dropped here. A failing import still raises.
"""

from maskdetect.io.native_output import native_stderr_silenced

with native_stderr_silenced():
    import keras
    import tensorflow as tf

__all__ = ["keras", "tf"]

# Training traces a small function per member and per check set; TensorFlow's warning that it retraces is noise here.
tf.get_logger().setLevel("ERROR")
