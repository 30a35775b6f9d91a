"""The mask classifier: MobileNetV2 with a small trainable head, saved with its class names.

A saved classifier is a plain Keras model: ``keras.models.load_model(path)`` loads it with no
import of ours. Its outputs are ``probabilities`` (per class) and ``label`` (the most likely
class name); ``model.get_layer("class_names").get_vocabulary()`` lists the classes.
maskdetect.classify.keras_backend runs it.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.keras_backend import CLASS_NAMES, JUDGING_FILE, PROBABILITIES
from maskdetect.detect.align import crop_shape
from maskdetect.errors import InputError
from maskdetect.io.atomic import atomic_output
from maskdetect.quiet_tensorflow import keras, tf
from maskdetect.shipped_files import IMAGENET_WEIGHTS

DEFAULT_WEIGHTS = IMAGENET_WEIGHTS


def _imagenet_base(weights):
    """A frozen MobileNetV2 without its top, for images of any size. ``weights``: 'imagenet', 'none' or a .h5 path."""
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
            include_top=False, weights=None if source is None else str(source), input_shape=(None, None, 3)
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


def build_classifier(
    class_names, weights=DEFAULT_WEIGHTS, top_blocks=2, members=1, hidden_units=128, dropout=0.5, lower_face=True
):
    """Build the classifier: MobileNetV2 (frozen) below the cut, then ``members`` copies of its top blocks,
    each with its own pooling and dense head, averaged; see ClassifierParts.

    With ``lower_face``, the input is the face view with the lower face stacked under it; each view goes
    through the same network on its own, and each member's head reads both views' pooled features.
    """
    if not 0 <= top_blocks <= 3:
        raise InputError(f"the top blocks to fine-tune must be 0 to 3, got {top_blocks}")
    if members < 1:
        raise InputError(f"a classifier needs at least one member, got {members}")
    bases = [_imagenet_base(weights) for _ in range(members)]
    first_block = LAST_BLOCK + 1 - top_blocks
    cut = bases[0].get_layer(_block_output(bases[0], first_block - 1))
    lower_net = keras.Model(bases[0].input, cut.output, name="mobilenet_v2_lower")
    height, width = crop_shape(IMAGE_SIZE, lower_face)
    images = keras.Input((height, width, 3), name="image")
    rescale = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenet_v2_preprocess")
    if lower_face:
        # Each view through the network on its own; their feature maps are stacked as the images are,
        # so that the cut's features stay one array (the members split them again).
        face = keras.layers.Cropping2D(((0, height - width), (0, 0)), name="face_view")(images)
        band = keras.layers.Cropping2D(((width, 0), (0, 0)), name="lower_face_view")(images)
        face_features, band_features = lower_net(rescale(face)), lower_net(rescale(band))
        split = face_features.shape[1]
        features = keras.layers.Concatenate(axis=1, name="view_features")([face_features, band_features])
    else:
        features = lower_net(rescale(images))
        split = None
    lower = keras.Model(images, features, name="mask_detector_lower")
    built = [
        _member(base, index, first_block, features.shape[1:], len(class_names), hidden_units, dropout, split)
        for index, base in enumerate(bases)
    ]
    outputs = [member.upper(features) for member in built]
    if members == 1:
        probabilities = keras.layers.Activation("linear", name=PROBABILITIES)(outputs[0])
    else:
        probabilities = keras.layers.Average(name=PROBABILITIES)(outputs)
    # A built-in layer carries the class names, so that plain keras.models.load_model reads them back.
    names = keras.layers.StringLookup(vocabulary=list(class_names), num_oov_indices=0, invert=True, name=CLASS_NAMES)
    label = names(keras.ops.argmax(probabilities, axis=-1))
    model = keras.Model(images, {PROBABILITIES: probabilities, "label": label}, name="mask_detector")
    cut_input = keras.Input(features.shape[1:], name="cut_features")
    member_outputs = [member.upper(cut_input) for member in built]
    upper = keras.Model(
        cut_input, member_outputs[0] if members == 1 else keras.layers.Average()(member_outputs), name="mask_detector_upper"
    )
    return ClassifierParts(model, lower, built, upper)


def _member(base, index, first_block, cut_shape, classes, hidden_units, dropout, split=None):
    """Member ``index``: ``base``'s blocks from ``first_block`` up, pooling and a dense head. With ``split``
    (the face view's rows of the cut's feature maps), the top blocks run on each view and the head reads
    both views' pooled features."""
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

    def apply_top(tensor, collect):
        for block in range(first_block, LAST_BLOCK + 1):
            block_input = tensor
            for suffix in _BLOCK_LAYERS:
                layer = base.get_layer(f"block_{block}_{suffix}")
                if collect:
                    top_layers.append(layer)
                tensor = layer(tensor)
            if _has_layer(base, f"block_{block}_add"):
                tensor = base.get_layer(f"block_{block}_add")([block_input, tensor])
        for name in _FINAL_LAYERS:
            if collect:
                top_layers.append(base.get_layer(name))
            tensor = base.get_layer(name)(tensor)
        return pooling(tensor)

    if split is None:
        pooled = apply_top(cut_input, True)
    else:
        rows = cut_shape[0]
        face = keras.layers.Cropping2D(((0, rows - split), (0, 0)), name="face_features")(cut_input)
        band = keras.layers.Cropping2D(((split, 0), (0, 0)), name="lower_face_features")(cut_input)
        pooled = keras.layers.Concatenate(name="pooled_views")([apply_top(face, True), apply_top(band, False)])
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


def save_classifier(model, path, judging_rule=None):
    """Save atomically, as ``save_model`` does."""
    with atomic_output(path, model_suffix(path)) as temporary:
        save_model(model, temporary, judging_rule)


def run_batched(call, inputs, batch=256):
    """``call`` (a compiled model) on ``inputs`` in batches of ``batch``, as one array."""
    return np.concatenate([call(tf.constant(inputs[i : i + batch], tf.float32)).numpy() for i in range(0, len(inputs), batch)])


def load_parts(path):
    """A saved classifier as ClassifierParts, to train further: the same layers built again (its members, top
    blocks and views read from the saved model) with its weights; returns the parts, its class names and its
    judging rule (None if it has none)."""
    from maskdetect.classify.keras_backend import KerasClassifier

    try:
        classifier = KerasClassifier.load(path)
        saved = classifier.model
        class_names = [str(name) for name in saved.get_layer(CLASS_NAMES).get_vocabulary()]
        members = [layer for layer in saved.layers if layer.name.startswith("member_")]
        blocks = {int(layer.name.split("_")[1]) for layer in members[0].layers if layer.name.startswith("block_")}
        height, width = saved.input_shape[1:3]
        parts = build_classifier(
            class_names,
            "none",
            LAST_BLOCK + 1 - min(blocks),
            len(members),
            hidden_units=_hidden_units(members[0]),
            lower_face=height != width,
        )
        parts.model.set_weights(saved.get_weights())
    except (OSError, ValueError, KeyError, IndexError, AttributeError) as error:
        raise InputError(f"cannot adapt {path}: it is not a classifier this toolkit trained ({error})") from None
    return parts, class_names, classifier.judging_rule


def _hidden_units(member):
    return int(member.get_layer("head_dense").units)
