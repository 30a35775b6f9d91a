"""Output paths: unique names for annotated copies, and a saved model folder told from other folders."""

import shutil

import pytest

from maskdetect.errors import InputError
from maskdetect.io.outputs import output_paths
from maskdetect.shipped_files import FACE_DETECTOR_DIR, SHIPPED_MODEL


def test_annotated_copies_get_unique_names_in_the_output_folder(tmp_path):
    images = [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", tmp_path / "c" / "scan.tif"]
    targets, folder = output_paths(images, tmp_path / "out")
    assert folder == tmp_path / "out"
    assert [t.name for t in targets] == ["x.jpg", "x-1.jpg", "scan.tif"]
    single, none = output_paths(images[:1], tmp_path / "one.png")
    assert single == [tmp_path / "one.png"] and none is None
    with pytest.raises(InputError, match="3 input images"):
        output_paths(images, tmp_path / "one.png")


def test_a_saved_model_folder_is_told_from_other_folders(tmp_path):
    from maskdetect.io.outputs import is_saved_model_folder

    assert is_saved_model_folder(SHIPPED_MODEL)
    assert not is_saved_model_folder(FACE_DETECTOR_DIR)
    mixed = tmp_path / "mixed"
    shutil.copytree(SHIPPED_MODEL, mixed)
    (mixed / "my_notes.txt").write_text("not part of a model")
    assert not is_saved_model_folder(mixed)
