"""The labelling page's state and the Label Studio mapping (maskdetect/serve/labelling.py), on real collections."""

import json
from pathlib import Path

import pytest
from helpers.collection import CLASSES, files_in, make_collection

from maskdetect.errors import InputError
from maskdetect.io import collection
from maskdetect.serve.labelling import (
    NO_ANNOTATION,
    UNKNOWN_CLASS,
    UNKNOWN_ENTRY,
    LabellingPage,
    label_studio_config,
    label_studio_labels,
    label_studio_tasks,
)

# What Label Studio 1.23.2 exported (Export > JSON) of the tasks `label --export label-studio` wrote for
# make_collection(folder, 8), a project with their labelling config and a local-files storage: annotations of
# with_mask, without_mask, one skipped, not_a_face, and without_mask then with_mask sent through its API, and
# the sixth face's predicted without_mask changed to mask_weared_incorrect and submitted in its web page.
REAL_EXPORT = Path(__file__).with_name("label_studio_1.23.2_export.json")


def test_the_page_lists_the_unsorted_faces_most_doubtful_first_and_moves_and_undoes_on_disk(tmp_path):
    ids = make_collection(tmp_path, 4)
    page = LabellingPage(tmp_path)
    listing = page.listing()
    assert [tile["id"] for tile in listing["unsorted"]] == ids
    assert listing["classes"] == ["with_mask", "without_mask", "mask_weared_incorrect"]
    assert listing["not_a_face"] == "not_a_face"
    first = listing["unsorted"][0]
    assert (first["guess"], first["probability"], first["doubt"], first["source"], first["time"]) == (
        "without_mask",
        0.55,
        0.45,
        "door.mp4",
        1.0,
    )
    picture = page.face_picture(first["number"])
    assert picture.startswith(b"\x89PNG")

    assert page.move({"id": ids[0], "label": "with_mask"}) == (200, {"id": ids[0], "label": "with_mask", "previous": None})
    assert (tmp_path / "with_mask" / f"{ids[0]}.face.png").is_file()
    # The picture follows its face into the class folder.
    assert page.face_picture(first["number"]) == picture
    listing = page.listing()
    assert [tile["id"] for tile in listing["unsorted"]] == ids[1:]
    assert listing["counts"] == {"unsorted": 3, "with_mask": 1, "without_mask": 0, "mask_weared_incorrect": 0, "not_a_face": 0}

    assert page.move({"id": ids[1], "label": "not_a_face"})[0] == 200
    assert page.undo({}) == (200, {"id": ids[1], "label": None, "previous": "not_a_face"})
    assert page.undo({}) == (200, {"id": ids[0], "label": None, "previous": "with_mask"})
    assert page.undo({}) == (409, {"error": "nothing to undo"})
    assert [tile["id"] for tile in page.listing()["unsorted"]] == ids
    assert (page.moved, page.undone) == (2, 2)


def test_the_page_refuses_unknown_faces_and_classes_and_never_uses_a_client_id_as_a_path(tmp_path):
    ids = make_collection(tmp_path / "faces", 2)
    (tmp_path / "elsewhere.json").write_text("{}")
    page = LabellingPage(tmp_path / "faces")
    before = files_in(tmp_path)
    for body in ({"id": "../elsewhere", "label": "with_mask"}, {"id": ["x"], "label": "with_mask"}, {"label": "with_mask"}):
        status, answer = page.move(body)
        assert status == 404 and "no collected face" in answer["error"]
    for label in ("cat", "", ["with_mask"], 3, "../with_mask"):
        status, answer = page.move({"id": ids[0], "label": label})
        assert status == 400 and "no class" in answer["error"]
    assert page.face_picture(99) is None
    assert files_in(tmp_path) == before


def test_tasks_hold_each_face_as_a_local_file_with_the_models_guess_as_a_prediction(tmp_path):
    folder = tmp_path / "faces"
    ids = make_collection(folder, 3)
    collection.move_entry(folder, ids[1], "with_mask")
    found = collection.most_doubtful_first(collection.entries(folder))
    tasks = label_studio_tasks(found, CLASSES, tmp_path)
    assert [task["data"]["maskdetect_id"] for task in tasks] == ids
    first, second = tasks[0], tasks[1]
    assert first["id"] == 1
    assert first["data"]["image"] == f"/data/local-files/?d=faces/{ids[0]}.face.png"
    assert first["predictions"] == [
        {
            "model_version": "mask_detector.onnx",
            "score": 0.55,
            "result": [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": ["without_mask"]}}],
        }
    ]
    assert "annotations" not in first
    # A face already sorted is already annotated, with its folder's class.
    assert second["data"]["image"] == f"/data/local-files/?d=faces/with_mask/{ids[1]}.face.png"
    assert second["annotations"][0]["result"][0]["value"] == {"choices": ["with_mask"]}
    # A guess the project has no choice for is no prediction.
    assert label_studio_tasks(found, ["cat", "dog"], tmp_path)[0].get("predictions") is None
    with pytest.raises(InputError, match="document root"):
        label_studio_tasks(found, CLASSES, folder / "with_mask")


def test_the_labelling_config_has_one_choice_per_class_named_as_the_tasks_name_them():
    import xml.etree.ElementTree as ElementTree

    view = ElementTree.fromstring(label_studio_config(CLASSES))
    image, choices = view.find("Image"), view.find("Choices")
    assert (image.get("name"), image.get("value")) == ("image", "$image")
    assert (choices.get("name"), choices.get("toName"), choices.get("choice")) == ("label", "image", "single")
    assert [choice.get("value") for choice in choices] == CLASSES


def test_a_real_label_studio_export_gives_each_face_its_latest_annotation_not_cancelled(tmp_path):
    ids = make_collection(tmp_path, 8)
    labels, skipped = label_studio_labels(json.loads(REAL_EXPORT.read_text()), ids, CLASSES)
    assert labels == [
        (ids[0], "with_mask"),
        (ids[1], "without_mask"),
        (ids[3], "not_a_face"),
        (ids[4], "with_mask"),
        (ids[5], "mask_weared_incorrect"),
    ]
    assert skipped == {NO_ANNOTATION: 1}


def _annotated(image, choices, when="2025-06-01T10:00:00.000000Z", cancelled=False, **data):
    result = [{"from_name": "label", "to_name": "image", "type": "choices", "value": {"choices": choices}}] if choices else []
    annotation = {"id": 1, "result": result, "was_cancelled": cancelled, "created_at": when, "updated_at": when}
    return {"id": 7, "data": {"image": image, **data}, "annotations": [annotation], "predictions": [7]}


def test_tasks_without_their_id_are_matched_by_their_images_name_and_what_cannot_be_sorted_is_counted():
    ids = ["site_1_0001", "site_1_0002", "site_1_0003"]
    export = [
        _annotated(f"/data/local-files/?d=door/faces/{ids[0]}.face.png", ["with_mask"]),
        # An uploaded file: Label Studio puts 8 hex digits and a dash before its name.
        _annotated(f"/data/upload/3/1a2b3c4d-{ids[1]}.face.png", ["not_a_face"]),
        _annotated(f"/data/upload/3/1a2b3c4d-{ids[2]}.face.png", ["cat"]),
        _annotated(f"/data/upload/3/{ids[2]}.face.png", ["with_mask", "without_mask"]),
        _annotated("/data/upload/3/holiday.jpg", ["with_mask"]),
        _annotated("x", ["with_mask"], maskdetect_id="site_gone"),
        _annotated("x", ["with_mask"], maskdetect_id=ids[2], cancelled=True),
        _annotated("x", [], maskdetect_id=ids[2]),
        {"id": 9, "data": {"maskdetect_id": ids[2]}, "annotations": []},
    ]
    labels, skipped = label_studio_labels(export, ids, CLASSES)
    assert labels == [(ids[0], "with_mask"), (ids[1], "not_a_face")]
    assert skipped == {UNKNOWN_CLASS: 2, UNKNOWN_ENTRY: 2, NO_ANNOTATION: 3}


def test_the_latest_annotation_counts_even_when_it_comes_first():
    task = _annotated("x", ["without_mask"], when="2025-06-02T08:00:00Z", maskdetect_id="site_1_0001")
    older = _annotated("x", ["with_mask"], when="2025-06-01T08:00:00Z")["annotations"][0]
    task["annotations"].append(older)
    assert label_studio_labels([task], ["site_1_0001"], CLASSES)[0] == [("site_1_0001", "without_mask")]


@pytest.mark.parametrize("export", [{"tasks": []}, [1, 2], "text", None])
def test_anything_but_a_list_of_tasks_is_no_export(export):
    with pytest.raises(InputError, match="not a Label Studio JSON export"):
        label_studio_labels(export, [], CLASSES)
