"""The mask classifier: MobileNetV2 with a small trainable head, saved with its class names."""

from pathlib import Path

import cv2
import keras
import numpy as np
import tensorflow as tf

from maskdetect.atomic import atomic_output
from maskdetect.errors import InputError

IMAGE_SIZE = 224
DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "mobilenet_v2_1.0_224_no_top_imagenet.h5"


@keras.saving.register_keras_serializable(package="maskdetect")
class ClassNames(keras.layers.Layer):
    """Passes class probabilities through unchanged; carries the class names in the model."""

    def __init__(self, class_names, **kwargs):
        super().__init__(**kwargs)
        self.class_names = list(class_names)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "class_names": self.class_names}


def _imagenet_base(weights):
    """A frozen MobileNetV2 without its top. ``weights``: 'imagenet', 'none' or a .h5 path."""
    if str(weights).lower() == "none":
        source = None
    elif str(weights) == "imagenet":
        source = "imagenet"
    else:
        source = Path(weights)
        if not source.is_file():
            raise InputError(f"weights file not found: {source}")
    try:
        base = keras.applications.MobileNetV2(
            include_top=False, weights=None if source is None else str(source), input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3)
        )
    except (ValueError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"weights {weights} do not fit MobileNetV2 (alpha 1.0, no top): {first_line}") from None
    except Exception as error:  # noqa: BLE001 - Keras reports a failed download in many ways
        raise InputError(f"cannot get ImageNet weights ({weights}): {error}") from None
    base.trainable = False
    return base


def build_classifier(class_names, weights=DEFAULT_WEIGHTS, hidden_units=128, dropout=0.5):
    """Build the classifier and two views that share its layers.

    Returns (model, features, head): ``model`` maps RGB images (0-255, 224x224)
    to class probabilities; ``features`` maps the same images to the frozen
    base's pooled 1280 features; ``head`` maps those features to probabilities.
    """
    base = _imagenet_base(weights)
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenet_v2_preprocess")(images)
    pooled = keras.layers.GlobalAveragePooling2D(name="pooled_features")(base(scaled, training=False))
    head_layers = [
        keras.layers.Dense(hidden_units, activation="relu", name="head_dense"),
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(len(class_names), activation="softmax", name="head_softmax"),
        ClassNames(class_names, name="class_names"),
    ]

    def apply_head(tensor):
        for layer in head_layers:
            tensor = layer(tensor)
        return tensor

    model = keras.Model(images, apply_head(pooled), name="mask_detector")
    features = keras.Model(images, pooled, name="mask_detector_features")
    head_input = keras.Input((pooled.shape[-1],), name="features")
    head = keras.Model(head_input, apply_head(head_input), name="mask_detector_head")
    return model, features, head


def class_names_of(model):
    """The class names a saved classifier carries."""
    for layer in model.layers:
        if isinstance(layer, ClassNames):
            return list(layer.class_names)
    raise InputError("the model carries no class names; train it with train_mask_detector.py")


def save_classifier(model, path):
    """Save atomically: a zipped .keras file, or else a Keras folder (model.save(zipped=False))."""
    path = Path(path)
    zipped = path.suffix == ".keras"
    with atomic_output(path, ".keras" if zipped else "") as temporary:
        model.save(temporary, zipped=zipped)


def compiled_call(model):
    """The model as a traced TensorFlow function: no per-call overhead of model.predict."""
    signature = [tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE, 3), tf.float32)]
    return tf.function(lambda images: model(images, training=False), input_signature=signature)


class MaskClassifier:
    """A trained classifier, ready to label batches of face crops."""

    def __init__(self, model):
        self.model = model
        self.class_names = class_names_of(model)
        self._call = compiled_call(model)

    @classmethod
    def load(cls, path):
        path = Path(path)
        if not path.exists():
            raise InputError(f"model not found: {path}")
        try:
            model = keras.models.load_model(path, compile=False)
        except Exception as error:  # noqa: BLE001 - Keras raises many types for a bad file
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise InputError(f"cannot load model {path}: {reason}") from None
        return cls(model)

    def probabilities(self, faces_bgr):
        """Class probabilities for a list of 224x224 BGR face crops, in one call."""
        if not faces_bgr:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        batch = np.stack([cv2.cvtColor(face, cv2.COLOR_BGR2RGB) for face in faces_bgr]).astype(np.float32)
        return self._call(tf.constant(batch)).numpy()
