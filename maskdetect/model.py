"""The mask classifier: MobileNetV2 with a small trainable head, saved with its class names.

A saved classifier is a plain Keras model: ``keras.models.load_model(path)`` loads it with no
import of ours. Its outputs are ``probabilities`` (per class) and ``label`` (the most likely
class name); ``model.get_layer("class_names").get_vocabulary()`` lists the classes.
"""

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskdetect.atomic import atomic_output
from maskdetect.bundled import IMAGENET_WEIGHTS
from maskdetect.errors import InputError
from maskdetect.faces import IMAGE_SIZE
from maskdetect.judging import JudgingRule
from maskdetect.outputs import is_keras_model
from maskdetect.quiet_tensorflow import keras, tf
from maskdetect.runtime import rgb_batch

DEFAULT_WEIGHTS = IMAGENET_WEIGHTS
# The names of the model's probabilities layer and output, and of the layer holding the class names.
PROBABILITIES = "probabilities"
CLASS_NAMES = "class_names"
# The file beside a saved model's weights that holds its judging rule (maskdetect.judging).
JUDGING_FILE = "judging.json"


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


# MobileNetV2's last inverted-residual block; blocks 14 to 16 work at 7x7 and can be fine-tuned cheaply.
LAST_BLOCK = 16
_BLOCK_LAYERS = ("expand", "expand_BN", "expand_relu", "depthwise", "depthwise_BN", "depthwise_relu", "project", "project_BN")
_FINAL_LAYERS = ("Conv_1", "Conv_1_bn", "out_relu")


@dataclass
class Member:
    """One of the classifier's members: its own copy of MobileNetV2's top blocks and its own head.

    ``upper`` maps the cut's feature maps to probabilities, ``top`` to the pooled features, and
    ``head`` maps pooled features to probabilities; ``top_layers`` are the layers fine-tuning trains.
    """

    base: keras.Model
    upper: keras.Model
    top: keras.Model
    head: keras.Model
    top_layers: list


@dataclass
class ClassifierParts:
    """The classifier and views of it that share its layers, for training in stages.

    ``model`` maps RGB images (0-255, IMAGE_SIZE square) to class probabilities: the mean of its
    ``members``' probabilities. MobileNetV2 below the cut (``lower``: images to the cut's feature
    maps) is frozen and shared by every member, so a member costs only its top blocks and head.
    """

    model: keras.Model
    lower: keras.Model
    members: list
    upper: keras.Model


def build_classifier(class_names, weights=DEFAULT_WEIGHTS, top_blocks=2, members=1, hidden_units=128, dropout=0.5):
    """Build the classifier: MobileNetV2 (frozen) below the cut, then ``members`` copies of its top blocks,
    each with its own pooling and dense head, averaged; see ClassifierParts."""
    if not 0 <= top_blocks <= 3:
        raise InputError(f"the top blocks to fine-tune must be 0 to 3, got {top_blocks}")
    if members < 1:
        raise InputError(f"a classifier needs at least one member, got {members}")
    bases = [_imagenet_base(weights) for _ in range(members)]
    first_block = LAST_BLOCK + 1 - top_blocks
    cut = bases[0].get_layer(_block_output(bases[0], first_block - 1))
    lower_net = keras.Model(bases[0].input, cut.output, name="mobilenet_v2_lower")
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenet_v2_preprocess")(images)
    features = lower_net(scaled)
    lower = keras.Model(images, features, name="mask_detector_lower")
    built = [_member(base, index, first_block, cut.output.shape[1:], len(class_names), hidden_units, dropout)
             for index, base in enumerate(bases)]
    outputs = [member.upper(features) for member in built]
    if members == 1:
        probabilities = keras.layers.Activation("linear", name=PROBABILITIES)(outputs[0])
    else:
        probabilities = keras.layers.Average(name=PROBABILITIES)(outputs)
    # A built-in layer carries the class names, so that plain keras.models.load_model reads them back.
    names = keras.layers.StringLookup(vocabulary=list(class_names), num_oov_indices=0, invert=True, name=CLASS_NAMES)
    label = names(keras.ops.argmax(probabilities, axis=-1))
    model = keras.Model(images, {PROBABILITIES: probabilities, "label": label}, name="mask_detector")
    cut_input = keras.Input(cut.output.shape[1:], name="cut_features")
    member_outputs = [member.upper(cut_input) for member in built]
    upper = keras.Model(cut_input, member_outputs[0] if members == 1 else keras.layers.Average()(member_outputs),
                        name="mask_detector_upper")
    return ClassifierParts(model, lower, built, upper)


def _member(base, index, first_block, cut_shape, classes, hidden_units, dropout):
    """Member ``index``: ``base``'s blocks from ``first_block`` up, pooling and a dense head."""
    pooling = keras.layers.GlobalAveragePooling2D(name="pooled_features")
    head_layers = [
        keras.layers.Dense(hidden_units, activation="relu", name="head_dense"),
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(classes, activation="softmax", name="head_probabilities"),
    ]

    def apply_head(tensor):
        for layer in head_layers:
            tensor = layer(tensor)
        return tensor

    cut_input = keras.Input(cut_shape, name="cut_features")
    top_layers = []
    tensor = cut_input
    for block in range(first_block, LAST_BLOCK + 1):
        block_input = tensor
        for suffix in _BLOCK_LAYERS:
            layer = base.get_layer(f"block_{block}_{suffix}")
            top_layers.append(layer)
            tensor = layer(tensor)
        if _has_layer(base, f"block_{block}_add"):
            tensor = base.get_layer(f"block_{block}_add")([block_input, tensor])
    for name in _FINAL_LAYERS:
        top_layers.append(base.get_layer(name))
        tensor = base.get_layer(name)(tensor)
    pooled = pooling(tensor)
    top = keras.Model(cut_input, pooled, name=f"member_{index}_top")
    upper = keras.Model(cut_input, apply_head(pooled), name=f"member_{index}")
    head_input = keras.Input((pooled.shape[-1],), name="features")
    head = keras.Model(head_input, apply_head(head_input), name=f"member_{index}_head")
    # Batch normalisation stays frozen: its statistics come from ImageNet, and the batches here are small.
    trainable = [layer for layer in top_layers if not isinstance(layer, keras.layers.BatchNormalization)]
    return Member(base, upper, top, head, trainable)


def set_top_trainable(member, trainable):
    """Let fine-tuning train a member's top blocks (their batch normalisation stays frozen), or freeze them."""
    member.base.trainable = trainable
    if trainable:
        top = set(id(layer) for layer in member.top_layers)
        for layer in member.base.layers:
            layer.trainable = id(layer) in top


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def _block_output(base, block):
    """The name of the layer that ends MobileNetV2 block ``block``."""
    return f"block_{block}_add" if _has_layer(base, f"block_{block}_add") else f"block_{block}_project_BN"


def class_names_of(model):
    """The class names a saved classifier carries."""
    try:
        return [str(name) for name in model.get_layer(CLASS_NAMES).get_vocabulary()]
    except (ValueError, AttributeError):
        raise InputError("the model carries no class names; train it with train_mask_detector.py") from None


def probabilities_model(model):
    """The classifier without its label output: images in, class probabilities out (what exports hold)."""
    return keras.Model(model.inputs[0], model.get_layer(PROBABILITIES).output, name="mask_detector_probabilities")


def model_suffix(path):
    """The temporary suffix a model written to ``path`` needs: '.keras' for a zipped file, '' for a folder."""
    return ".keras" if Path(path).suffix == ".keras" else ""


def save_model(model, path, judging_rule=None):
    """Save, not atomically: a zipped .keras file, or else a Keras folder (model.save(zipped=False)).

    ``judging_rule`` (a JudgingRule) is kept beside the weights as JUDGING_FILE, inside the folder or the zip.
    """
    model.save(path, zipped=bool(model_suffix(path)))
    if judging_rule is None:
        return
    if model_suffix(path):
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(JUDGING_FILE, judging_rule.to_json())
    else:
        (Path(path) / JUDGING_FILE).write_text(judging_rule.to_json() + "\n", encoding="utf-8")


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


def save_classifier(model, path, judging_rule=None):
    """Save atomically, as ``save_model`` does."""
    with atomic_output(path, model_suffix(path)) as temporary:
        save_model(model, temporary, judging_rule)


def compiled(model, dtype=tf.float32):
    """``model`` as a traced TensorFlow function taking batches of ``dtype``: no per-call overhead of model.predict."""
    signature = [tf.TensorSpec((None, *model.input.shape[1:]), dtype)]

    @tf.function(input_signature=signature)
    def call(inputs):
        return model(tf.cast(inputs, tf.float32), training=False)

    return call


class MaskClassifier:
    """A trained classifier, ready to label batches of face crops."""

    def __init__(self, model, judging_rule=None):
        self.model = model
        self.judging_rule = judging_rule
        self.class_names = class_names_of(model)
        self.input_size = int(model.input.shape[1])
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
