"""The files that come with the package."""

from maskdetect.classify.backends import export_path
from maskdetect.shipped_files import SHIPPED_MODEL


def test_the_shipped_model_and_its_exports_come_with_the_package():
    assert (SHIPPED_MODEL / "config.json").is_file()
    assert export_path(SHIPPED_MODEL, "onnx").is_file() and export_path(SHIPPED_MODEL, "litert").is_file()
