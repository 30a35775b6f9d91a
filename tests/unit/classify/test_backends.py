"""The classifier backends: model paths and exports, and the exports judging real faces as Keras does."""

import pytest
from helpers.faces import assert_exports_match_keras

from maskdetect.classify.backends import export_path, resolve_model
from maskdetect.errors import InputError
from maskdetect.shipped_files import SHIPPED_MODEL


def test_a_model_names_its_exports_and_a_suffix_names_its_backend(tmp_path):
    assert export_path(tmp_path / "m.model", "onnx") == tmp_path / "m.onnx"
    assert resolve_model(tmp_path / "m.keras") == ("onnx", tmp_path / "m.onnx")
    assert resolve_model(tmp_path / "m.model", "litert") == ("litert", tmp_path / "m.tflite")
    assert resolve_model(tmp_path / "m.model", "keras") == ("keras", tmp_path / "m.model")
    assert resolve_model(tmp_path / "x.tflite") == ("litert", tmp_path / "x.tflite")
    with pytest.raises(InputError, match="onnx backend"):
        resolve_model(tmp_path / "x.tflite", "onnx")


def test_the_shipped_exports_give_keras_probabilities_on_real_faces():
    assert_exports_match_keras(SHIPPED_MODEL)
