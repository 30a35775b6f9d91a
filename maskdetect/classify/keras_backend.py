"""The Keras backend: a saved classifier run by TensorFlow itself (the only backend that imports it)."""

import json
import zipfile
from pathlib import Path

import numpy as np

from maskdetect.classify.batch import input_of, rgb_batch
from maskdetect.classify.judging import JudgingRule
from maskdetect.errors import InputError
from maskdetect.io.outputs import is_keras_model
from maskdetect.quiet_tensorflow import keras, tf

# The names of the model's probabilities layer and output, and of the layer holding the class names.
PROBABILITIES = "probabilities"
CLASS_NAMES = "class_names"
# The file beside a saved model's weights that holds its judging rule (maskdetect.classify.judging).
JUDGING_FILE = "judging.json"


def class_names_of(model):
    """The class names a saved classifier carries."""
    try:
        return [str(name) for name in model.get_layer(CLASS_NAMES).get_vocabulary()]
    except (ValueError, AttributeError):
        raise InputError("the model carries no class names; train it with train_mask_detector.py") from None


def probabilities_model(model):
    """The classifier without its label output: images in, class probabilities out (what exports hold)."""
    return keras.Model(model.inputs[0], model.get_layer(PROBABILITIES).output, name="mask_detector_probabilities")


def saved_judging_rule(path):
    """The JudgingRule saved with a Keras model, or None."""
    path = Path(path)
    try:
        if path.is_dir():
            text = (path / JUDGING_FILE).read_text(encoding="utf-8")
        else:
            with zipfile.ZipFile(path) as archive:
                text = archive.read(JUDGING_FILE).decode()
        return JudgingRule.from_dict(json.loads(text))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def compiled(model, dtype=tf.float32):
    """``model`` as a traced TensorFlow function taking batches of ``dtype``: no per-call overhead of model.predict."""
    signature = [tf.TensorSpec((None, *model.input.shape[1:]), dtype)]

    @tf.function(input_signature=signature)
    def call(inputs):
        return model(tf.cast(inputs, tf.float32), training=False)

    return call


class KerasClassifier:
    """A saved Keras classifier run by TensorFlow, ready to label batches of face crops (slow to start)."""

    def __init__(self, model, judging_rule=None):
        self.model = model
        self.judging_rule = judging_rule
        self.class_names = class_names_of(model)
        self.input_size, self.lower_face = input_of(model.input.shape)
        # Only the probabilities: the label output's string lookup has no place in the per-face path.
        self._call = compiled(probabilities_model(model))

    @classmethod
    def load(cls, path):
        path = Path(path)
        if not path.exists():
            raise InputError(f"model not found: {path}")
        if not is_keras_model(path):
            raise InputError(f"not a mask detector model: {path}")
        try:
            model = keras.models.load_model(path, compile=False)
        except Exception:  # noqa: BLE001 - Keras raises many types for a bad file
            raise InputError(f"not a mask detector model: {path}") from None
        try:
            return cls(model, saved_judging_rule(path))
        except InputError:
            raise InputError(f"not a mask detector model: {path} (it carries no class names)") from None

    def probabilities(self, faces_bgr):
        """Class probabilities for a list of square BGR face crops of the model's input size, in one call."""
        if not faces_bgr:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        return self._call(tf.constant(rgb_batch(faces_bgr))).numpy()
