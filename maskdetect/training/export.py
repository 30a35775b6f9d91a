"""Exporting a trained Keras classifier for inference without TensorFlow: ONNX and LiteRT.

Run as ``python -m maskdetect export MODEL`` to export a model trained before
exports existed; training exports its model itself.
"""

import contextlib
import io
import logging
import signal
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np

from maskdetect.classify.backends import (
    METADATA_KEY,
    RUNNERS,
    export_path,
    metadata_json,
)
from maskdetect.classify.batch import input_of, rgb_batch
from maskdetect.errors import InputError
from maskdetect.io.atomic import atomic_outputs
from maskdetect.io.outputs import check_distinct, check_file_output
from maskdetect.settings import EXPORT_FORMATS

FORMATS = EXPORT_FORMATS
# The content kind (outputs.content_kind) each export's file holds; ONNX files have no signature to tell.
EXPORT_KINDS = {"litert": "tflite"}
# Exported probabilities may differ from Keras's by float rounding only.
TOLERANCE = 1e-3


def check_export_outputs(model, formats, inputs=()):
    """The export paths of ``model``, checked like every file output; returns {format: path}."""
    paths = {name: check_file_output(export_path(model, name), inputs, EXPORT_KINDS.get(name)) for name in formats}
    check_distinct([model, *paths.values()])
    return paths


def write_exports(classifier, targets, probe_faces=None, judging_rule=None):
    """Write each {format: path} export of a Keras classifier and check it gives Keras's probabilities.

    ``probe_faces``: BGR face crops of the model's input size; None uses synthetic images. ``judging_rule``
    (a JudgingRule) goes into each export's metadata.
    Raises InputError when an export's probabilities differ by more than TOLERANCE.
    """
    from maskdetect.classify.keras_backend import class_names_of, probabilities_model

    class_names = class_names_of(classifier)
    keras_model = probabilities_model(classifier)
    size, lower_face = input_of(keras_model.input.shape)
    height = int(keras_model.input.shape[1])
    metadata = metadata_json(class_names, size, judging_rule, lower_face)
    keras_model(np.zeros((1, height, size, 3), np.float32))  # an export needs a model that has been called
    writers = {"onnx": _write_onnx, "litert": _write_litert}
    with _CtrlC() as ctrl_c:
        for name, path in targets.items():
            writers[name](keras_model, Path(path), metadata)
            ctrl_c.check()
    faces = list(probe_faces) if probe_faces is not None else _synthetic_faces(height, size)
    expected = np.asarray(keras_model(rgb_batch(faces), training=False))
    for name, path in targets.items():
        runner = RUNNERS[name](path)
        difference = float(np.abs(runner.probabilities(faces) - expected).max())
        if difference > TOLERANCE or runner.class_names != list(class_names):
            raise InputError(f"the {name} export does not match the Keras model (probabilities differ by {difference:.2g})")


class _CtrlC:
    """Ctrl+C interrupts as usual and is also noted: TensorFlow's import and tracing catch the interrupt, or put
    their own handler in place, so ``check()`` after each step stops the export all the same."""

    def __init__(self):
        self.pressed = threading.Event()
        self._active = threading.current_thread() is threading.main_thread()
        self._previous = signal.getsignal(signal.SIGINT) if self._active else None

    def _note(self, signum, frame):
        self.pressed.set()
        signal.default_int_handler(signum, frame)

    def __enter__(self):
        self.check()
        return self

    def check(self):
        if self.pressed.is_set():
            raise KeyboardInterrupt
        if self._active and signal.getsignal(signal.SIGINT) != self._note:
            signal.signal(signal.SIGINT, self._note)

    def __exit__(self, kind, error, trace):
        if self._active:
            signal.signal(signal.SIGINT, self._previous)
        if self.pressed.is_set() and kind is not None and not issubclass(kind, KeyboardInterrupt):
            # The interrupt surfaced as another error (a library wrapped it): it was Ctrl+C all the same.
            raise KeyboardInterrupt from None


@contextlib.contextmanager
def _converter_chatter_held_back():
    """Hold back what the converters print (warnings that do not matter); show it if the conversion fails."""
    held = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl", "tf2onnx")]
    levels = [logger.level for logger in loggers]
    try:
        with contextlib.redirect_stdout(held), contextlib.redirect_stderr(held), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            yield
    except Exception:
        sys.stderr.write(held.getvalue())
        raise
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _write_onnx(keras_model, path, metadata):
    import onnx

    with tempfile.TemporaryDirectory() as folder, _converter_chatter_held_back():
        converted = Path(folder) / "model.onnx"
        keras_model.export(str(converted), format="onnx", verbose=False)
        graph = onnx.load(str(converted))
    entry = graph.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, metadata
    onnx.save(graph, str(path))


def _write_litert(keras_model, path, metadata):
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    with tempfile.TemporaryDirectory() as folder, _converter_chatter_held_back():
        converted = Path(folder) / "model.tflite"
        keras_model.export(str(converted), format="litert", verbose=False)
        content = converted.read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(content, 0))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata.encode(), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_KEY, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    builder = flatbuffers.Builder(len(content) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(builder.Output())


def _synthetic_faces(height, width, count=8, seed=0):
    """Smooth random images: a check of the arithmetic when no real faces are at hand."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (count, 8, 8, 3), dtype=np.uint8)
    return [cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC) for image in small]


def export_model(model, formats=FORMATS):
    """Export a saved Keras model beside itself, atomically; returns {format: path}."""
    paths = check_export_outputs(model, formats, inputs=[model])
    suffixes = [(path, path.suffix) for path in paths.values()]
    try:
        with _CtrlC() as ctrl_c:
            from maskdetect.classify.keras_backend import KerasClassifier

            ctrl_c.check()
            classifier = KerasClassifier.load(model)
            ctrl_c.check()
            with atomic_outputs(*suffixes) as temporaries:
                write_exports(classifier.model, dict(zip(paths, temporaries)), judging_rule=classifier.judging_rule)
                ctrl_c.check()
    except OSError as error:
        raise InputError(f"cannot write the exports of {model}: {error}") from None
    return paths
