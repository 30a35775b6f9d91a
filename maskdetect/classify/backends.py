"""Running a trained classifier without TensorFlow: its ONNX export (ONNX Runtime) or LiteRT export.

Training writes the exports beside the Keras model, under the same name:
``mask_detector.model`` comes with ``mask_detector.onnx`` and ``mask_detector.tflite``.
Each export carries its class names in its metadata; its graph takes RGB faces,
0-255 float32, NHWC at the size of its input, and scales them itself.
"""

import importlib.util
import json
import logging
import os
from pathlib import Path

import numpy as np

from maskdetect.classify.batch import input_of, rgb_batch
from maskdetect.classify.judging import JudgingRule
from maskdetect.detect.align import crop_shape
from maskdetect.errors import InputError
from maskdetect.io.native_output import native_stderr_silenced
from maskdetect.io.outputs import is_keras_model
from maskdetect.onnx_session import onnx_session

logger = logging.getLogger(__name__)
BACKENDS = ("onnx", "litert", "keras")
DEFAULT_BACKEND = "onnx"
EXPORT_SUFFIXES = {"onnx": ".onnx", "litert": ".tflite"}
# The key under which an export's metadata (class names, input) is stored, in both formats.
METADATA_KEY = "maskdetect"


def export_path(model, backend):
    """The export of the Keras model ``model`` for ``backend``: same folder, same name, the format's suffix."""
    return Path(model).with_suffix(EXPORT_SUFFIXES[backend])


def resolve_model(model, backend=None):
    """(backend, path) for a model path and a backend name (None: the default).

    A .onnx or .tflite model names its backend; any other model is a Keras model,
    run by ``backend`` (ONNX Runtime by default) from the export beside it.
    """
    model = Path(model)
    named = {suffix: name for name, suffix in EXPORT_SUFFIXES.items()}.get(model.suffix.lower())
    if named is not None:
        if backend not in (None, named):
            raise InputError(f"the {backend} backend cannot run {model}: {model.suffix} models run on the {named} backend")
        return named, model
    backend = backend or DEFAULT_BACKEND
    return backend, model if backend == "keras" else export_path(model, backend)


def load_classifier(model, backend=None, threads=None):
    """A classifier with ``class_names``, ``input_size`` (the face view's side), ``lower_face`` (whether it also
    judges the lower face, stacked under the face view) and ``probabilities(crops_bgr)``, from the backend's file.

    ``threads``: CPU threads per call (default: one per core; TensorFlow picks its own). Only the 'keras'
    backend imports TensorFlow.
    """
    backend, path = resolve_model(model, backend)
    logger.debug("classifier: %s run by %s", path, backend)
    if backend == "keras":
        from maskdetect.classify.keras_backend import KerasClassifier

        return check_finite(KerasClassifier.load(path), path)
    if backend == "litert" and importlib.util.find_spec("ai_edge_litert") is None:
        raise InputError(
            "the litert backend needs ai-edge-litert (pip install ai-edge-litert), which this install "
            "leaves out; use --backend onnx"
        )
    if not path.is_file():
        if path == Path(model) or not Path(model).exists():
            raise InputError(f"model not found: {model}")
        if not is_keras_model(model):
            raise InputError(f"not a mask detector model: {model}")
        raise InputError(f"{model} has no {backend} export {path}; make it with: python -m maskdetect export {model}")
    return check_finite(RUNNERS[backend](path, threads), path)


def check_finite(classifier, path):
    """Refuse a classifier whose probabilities on a plain grey face are not finite numbers in [0, 1]."""
    grey = np.full((*crop_shape(classifier.input_size, classifier.lower_face), 3), 128, np.uint8)
    probabilities = np.asarray(classifier.probabilities([grey]))
    if not (np.all(np.isfinite(probabilities)) and np.all((probabilities >= 0) & (probabilities <= 1))):
        raise InputError(f"the model {path} gives probabilities that are not numbers from 0 to 1: it is broken")
    return classifier


def metadata_json(class_names, input_size, judging_rule=None, lower_face=False):
    """What an export carries besides its graph, as JSON text."""
    height, width = crop_shape(input_size, lower_face)
    return json.dumps(
        {
            "class_names": list(class_names),
            "input": {
                "size": input_size,
                "lower_face": lower_face,
                "height": height,
                "width": width,
                "colour": "RGB",
                "range": [0, 255],
                "layout": "NHWC",
                "dtype": "float32",
            },
            **({"judging": judging_rule.as_dict()} if judging_rule is not None else {}),
        }
    )


def _judging_rule(metadata):
    try:
        return JudgingRule.from_dict(json.loads(metadata)["judging"])
    except (TypeError, ValueError, KeyError):
        return None


def _class_names(metadata, path):
    try:
        names = json.loads(metadata)["class_names"]
    except (TypeError, ValueError, KeyError):
        names = None
    if not isinstance(names, list) or len(names) < 2:
        raise InputError(f"not a mask detector model: {path} (it carries no class names)")
    return [str(name) for name in names]


class OnnxClassifier:
    """The ONNX export, run by ONNX Runtime on the CPU."""

    def __init__(self, path, threads=None):
        self._session = onnx_session(path, threads)
        metadata = self._session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        self.class_names = _class_names(metadata, path)
        self.judging_rule = _judging_rule(metadata)
        self._input = self._session.get_inputs()[0].name
        self.input_size, self.lower_face = input_of(self._session.get_inputs()[0].shape)

    def probabilities(self, faces_bgr):
        """Class probabilities for a list of BGR crops (``classifier_crop``'s), in one call."""
        if not faces_bgr:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        return self._session.run(None, {self._input: rgb_batch(faces_bgr)})[0]


class LiteRtClassifier:
    """The LiteRT (.tflite) export, run by ai-edge-litert's interpreter with XNNPACK."""

    def __init__(self, path, threads=None):
        from ai_edge_litert import schema_py_generated as schema
        from ai_edge_litert.interpreter import Interpreter

        content = Path(path).read_bytes()
        try:
            if not schema.Model.ModelBufferHasIdentifier(content, 0):
                raise ValueError
            self._interpreter = Interpreter(model_content=content, num_threads=threads or os.cpu_count() or 1)
        except ValueError:
            raise InputError(f"not a LiteRT model: {path}") from None
        metadata = _tflite_metadata(schema, content)
        self.class_names = _class_names(metadata, path)
        self.judging_rule = _judging_rule(metadata)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.input_size, self.lower_face = input_of(self._input["shape"])
        with native_stderr_silenced():
            self._interpreter.allocate_tensors()  # says "INFO: Created ... XNNPACK delegate" on the first call
        self._batch = int(self._input["shape"][0])

    def probabilities(self, faces_bgr):
        """Class probabilities for a list of BGR crops (``classifier_crop``'s), in one call."""
        if not faces_bgr:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        batch = rgb_batch(faces_bgr)
        if self._batch != len(batch):
            self._interpreter.resize_tensor_input(self._input["index"], batch.shape)
            self._interpreter.allocate_tensors()
            self._batch = len(batch)
        self._interpreter.set_tensor(self._input["index"], batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"]).copy()


# What runs each export format.
RUNNERS = {"onnx": OnnxClassifier, "litert": LiteRtClassifier}


def _tflite_metadata(schema, content):
    model = schema.Model.GetRootAs(content, 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name() == METADATA_KEY.encode():
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return bytes(data).decode() if isinstance(data, np.ndarray) else None
    return None
