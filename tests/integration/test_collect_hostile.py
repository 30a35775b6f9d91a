"""Hostile input to collecting, labelling and adapting: corrupt markers and sidecars, exports that are no exports,
outputs over the user's files, and adaptations that cannot work. Each is one line and exit status 2, before any
slow work, with the user's files as they were; none reads or runs long."""

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import DATASET, refused_and_intact, run_script, snapshot
from helpers.collection import make_collection

from maskdetect.errors import InputError
from maskdetect.io import collection
from maskdetect.serve.labelling import LabellingPage

REAL_EXPORT = Path(__file__).parents[1] / "unit" / "serve" / "label_studio_1.23.2_export.json"


def label(*args):
    return run_script("-m", "label", *args)


def _marker(folder, text):
    folder.mkdir(exist_ok=True)
    (folder / collection.MARKER).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    "marker",
    [
        "{not json",
        "[1, 2]",
        '{"classes": ["../x", "with_mask"]}',
        '{"classes": "with_mask"}',
        '{"classes": ["with_mask", "with_mask"]}',
        '{"classes": ["with\\u0000mask", "without_mask"]}',
        '{"classes": ["' + "a" * 300 + '", "without_mask"]}',
        '{"classes": [1, 2]}',
        "[" * 100000 + "]" * 100000,
    ],
    ids=["not-json", "list", "dotdot", "string", "twice", "nul", "too-long", "numbers", "deep"],
)
def test_a_collection_whose_marker_is_corrupt_is_refused_by_collect_and_label(photos, tmp_path, marker):
    folder = tmp_path / "faces"
    _marker(folder, marker)
    before = snapshot(folder)
    collected = run_script("detect_mask_image.py", "-i", photos, "-o", tmp_path / "out", "--collect", folder)
    refused_and_intact(collected, folder, before, str(folder))
    assert not (tmp_path / "out").exists()
    exported = label(folder, "--export", "label-studio", "--tasks", tmp_path / "tasks.json")
    refused_and_intact(exported, folder, before, str(folder))
    assert not (tmp_path / "tasks.json").exists()


def test_collect_refuses_a_collection_that_holds_its_inputs(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 2)
    collection.move_entry(folder, ids[0], "with_mask")
    before = snapshot(folder)
    for inputs in ([folder], [folder / "with_mask"], [folder / f"{ids[1]}{collection.FACE_SUFFIX}"]):
        result = run_script("detect_mask_image.py", "-i", *inputs, "-o", tmp_path / "out", "--collect", folder)
        refused_and_intact(result, folder, before, "is inside it")


def test_import_refuses_what_is_no_export_before_any_face_moves(tmp_path):
    folder = tmp_path / "faces"
    make_collection(folder, 2)
    before = snapshot(folder)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    bytes_ = tmp_path / "bytes.json"
    bytes_.write_bytes(b'[{"data": {"maskdetect_id": "\xff\xfe"}}]')
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"tasks": [1, "x", null]}')
    for export, words in (
        (deep, "nests too deep"),
        (fifo, "no regular file"),
        (tmp_path, "a folder"),
        (bytes_, "utf-8"),
        (garbage, "list of tasks"),
        (tmp_path / "missing.json", "No such file"),
    ):
        refused_and_intact(label(folder, "--import", export), folder, before, str(export), words)


def test_import_into_a_class_folder_that_is_a_file_moves_nothing(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 2)
    (folder / "with_mask").write_text("my notes")
    export = tmp_path / "export.json"
    choice = {"type": "choices", "value": {"choices": ["with_mask"]}}
    export.write_text(json.dumps([{"data": {"maskdetect_id": entry}, "annotations": [{"result": [choice]}]} for entry in ids]))
    before = snapshot(folder)
    refused_and_intact(label(folder, "--import", export), folder, before, "with_mask", "is a file", "no face was moved")
    with pytest.raises(InputError, match="is a file"):
        collection.move_entry(folder, ids[0], "with_mask")
    assert snapshot(folder) == before


def test_export_never_replaces_label_studios_export_an_unknown_file_or_a_config_of_someone_else(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 2)
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(REAL_EXPORT, mine / "project-1-export.json")
    (mine / "backup.tar.gz").write_bytes(bytes(range(256)) * 20)
    (mine / "tasks.config.xml").write_text('<View>\n  <Text name="mine" value="$text"/>\n</View>\n')
    before = snapshot(mine)
    for tasks, words in (
        (mine / "project-1-export.json", "other things than Label Studio tasks"),
        (mine / "backup.tar.gz", "other things than Label Studio tasks"),
        (mine / "tasks.json", "other things than a labelling config"),
    ):
        refused_and_intact(label(folder, "--export", "label-studio", "--tasks", tasks), mine, before, str(tasks.parent), words)
    # Its own outputs it replaces, --all's annotated tasks too.
    collection.move_entry(folder, ids[0], "with_mask")
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(2):
        result = label(folder, "--export", "label-studio", "--all", "--tasks", out / "tasks.json")
        assert result.returncode == 0, result.stderr
    assert len(json.loads((out / "tasks.json").read_text())) == 2
    assert (out / "tasks.config.xml").read_text().startswith("<View>")


def test_sidecars_that_are_corrupt_huge_or_no_file_neither_break_nor_hang_the_page_and_the_export(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 4)
    for entry_id, doubt in zip(ids, ("abc", [1], None)):
        sidecar = folder / f"{entry_id}{collection.SIDECAR_SUFFIX}"
        record = json.loads(sidecar.read_text())
        record["doubt"], record["model"] = doubt, "no object"
        sidecar.write_text(json.dumps(record))
    os.mkfifo(folder / "site_fifo.json")
    (folder / "site_huge.json").write_text('{"format": "maskdetect collected face 1", "pad": "' + "x" * (1 << 21) + '"}')
    (folder / "site_deep.json").write_text("[" * 100000 + "]" * 100000)
    found = collection.entries(folder)
    assert sorted(entry.id for entry in found) == sorted(ids)
    assert collection.most_doubtful_first(found)[0].id == ids[3]
    listing = LabellingPage(folder).listing()
    assert [tile["id"] for tile in listing["unsorted"]][0] == ids[3]
    result = label(folder, "--export", "label-studio", "--tasks", tmp_path / "tasks.json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads((tmp_path / "tasks.json").read_text())) == 4


def test_training_skips_labelled_faces_whose_box_is_no_box(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 5)
    for entry_id, box in zip(ids, ([0, 0, 0, 0], [50, 50, 10, 10], [1e400, 0, 5, 5], [-3, 0, 5, 5])):
        sidecar = folder / f"{entry_id}{collection.SIDECAR_SUFFIX}"
        sidecar.write_text(sidecar.read_text().replace('"box"', '"box": ' + json.dumps(box) + ', "old_box"', 1))
    for entry_id in ids:
        collection.move_entry(folder, entry_id, "with_mask")
    assert [entry.id for entry, _ in collection.labelled(folder)] == [ids[4]]


def _adapt_settings(tmp_path, site, **changes):
    from maskdetect.settings import TrainingSettings
    from maskdetect.shipped_files import SHIPPED_MODEL

    known = tmp_path / "known"
    for class_name in ("not_a_face", "with_mask", "without_mask"):
        (known / class_name).mkdir(parents=True, exist_ok=True)
        for path in sorted((DATASET / class_name).glob("*.jpg"))[:2]:
            shutil.copy(path, known / class_name / path.name)
    settings = TrainingSettings(
        datasets=[str(known), str(site)],
        model=str(tmp_path / "site.model"),
        plot=str(tmp_path / "site.png"),
        report=str(tmp_path / "site.json"),
        exports=[],
        adapt_from=str(SHIPPED_MODEL),
    )
    return replace(settings, **changes)


@pytest.fixture
def no_slow_work(monkeypatch):
    """Adapting with the shipped model's classes, where reading the model or any image fails the test: a refusal
    must come first."""
    from maskdetect.training import adapt

    def slow(*args, **kwargs):
        raise AssertionError("slow work started before the refusal")

    monkeypatch.setattr(adapt, "load_parts", lambda path: (None, ["not_a_face", "with_mask", "without_mask"], None))
    monkeypatch.setattr(adapt, "load_dataset", slow)
    return adapt


def test_adapting_refuses_collections_that_cannot_adapt_the_model_before_reading_any_image(tmp_path, no_slow_work):
    site = tmp_path / "site"
    ids = make_collection(site, 4)
    with pytest.raises(InputError, match="no labelled faces yet"):
        no_slow_work.adapt(_adapt_settings(tmp_path, site))
    collection.move_entry(site, ids[0], "with_mask")
    with pytest.raises(InputError, match="1 labelled person: at least 2"):
        no_slow_work.adapt(_adapt_settings(tmp_path, site))
    collection.move_entry(site, ids[1], "mask_weared_incorrect")
    with pytest.raises(InputError, match="labelled mask_weared_incorrect, which .* cannot tell"):
        no_slow_work.adapt(_adapt_settings(tmp_path, site))
    assert not (tmp_path / "site.model").exists()


def test_adapting_refuses_to_write_over_the_model_it_adapts(tmp_path, no_slow_work):
    site = tmp_path / "site"
    make_collection(site, 2)
    model = tmp_path / "mine.model"
    shutil.copytree(Path(_adapt_settings(tmp_path, site).adapt_from), model)
    before = snapshot(model)
    with pytest.raises(InputError, match="over the model it adapts"):
        no_slow_work.adapt(_adapt_settings(tmp_path / "again", site, adapt_from=str(model), model=str(model)))
    assert snapshot(model) == before


def test_an_adaptation_refused_on_the_command_line_is_one_line(tmp_path):
    site = tmp_path / "site"
    make_collection(site, 2)
    model = tmp_path / "mine.model"
    shutil.copytree(Path(_adapt_settings(tmp_path, site).adapt_from), model)
    before = snapshot(model)
    known = tmp_path / "known"
    result = run_script(
        "train_mask_detector.py", "--adapt-from", model, "-d", known, "-d", site, "-m", model,
        "-p", tmp_path / "site.png", "-r", tmp_path / "site.json", "-q",
    )  # fmt: skip
    refused_and_intact(result, model, before, "over the model it adapts")
