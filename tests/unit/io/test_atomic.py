"""Outputs written beside and moved in place: all or none, and never a file over a folder."""

import pytest
from conftest import snapshot


def test_outputs_of_one_run_are_all_replaced_or_none(tmp_path):
    from maskdetect.io.atomic import atomic_outputs

    model, report = tmp_path / "m.model", tmp_path / "r.json"
    model.mkdir()
    (model / "config.json").write_text("old model")
    report.write_text("old report")
    before = snapshot(tmp_path)
    with pytest.raises(OSError), atomic_outputs((model, ""), (report, ".json")) as (new_model, new_report):
        new_model.mkdir()
        (new_model / "config.json").write_text("new model")
        raise OSError("disk full while writing the report")
    assert snapshot(tmp_path) == before
    with atomic_outputs((model, ""), (report, ".json")) as (new_model, new_report):
        new_model.mkdir()
        (new_model / "config.json").write_text("new model")
        new_report.write_text("new report")
    assert (model / "config.json").read_text() == "new model" and report.read_text() == "new report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.model", "r.json"]


def test_a_file_never_replaces_a_folder(tmp_path):
    from maskdetect.io.atomic import atomic_output

    folder = tmp_path / "keep"
    folder.mkdir()
    (folder / "a.txt").write_text("mine")
    with pytest.raises(IsADirectoryError), atomic_output(folder) as temporary:
        temporary.write_text("{}")
    assert (folder / "a.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
