"""Adapting a trained model to one place: faces collected with the model, labelled, learned, measured before and
after; a model that loses on the datasets' validation faces is refused and the old one kept."""

import json
import shutil

import pytest
from conftest import bundled_images, refused_and_intact, run_script, snapshot

from maskdetect.classify.keras_backend import KerasClassifier, class_names_of
from maskdetect.io import collection

SITE_SOURCE, SITE_FACES = "ilc", 8


def collected_site(folder, model, flipped=False):
    """Faces of another source than the tiny dataset's, collected with ``model`` and labelled by their folder (the
    other class with ``flipped``)."""
    photos = folder.parent / f"{folder.name}_photos"
    truth = {}
    for class_name in ("with_mask", "without_mask"):
        for path in bundled_images(class_name, SITE_SOURCE, SITE_FACES):
            (photos / class_name).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, photos / class_name / path.name)
            truth[str(photos / class_name / path.name)] = class_name
    result = run_script(
        "detect_mask_image.py", "-i", photos / "with_mask", photos / "without_mask", "--whole-image", "-m", model,
        "-b", "keras", "-o", folder.parent / f"{folder.name}_annotated", "--collect", folder, "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    other = {"with_mask": "without_mask", "without_mask": "with_mask"}
    for entry in collection.entries(folder):
        label = truth[entry.record["source"]]
        collection.move_entry(folder, entry.id, other[label] if flipped else label)
    return folder


@pytest.mark.slow
def test_adapting_writes_a_model_that_loads_with_before_and_after_in_its_report(tiny_training, tmp_path):
    _, tiny = tiny_training
    site = collected_site(tmp_path / "collected", tiny["model"])
    # A box a person marked as no face: the two-class model has no such class, so it is left out.
    collection.move_entry(site, collection.entries(site)[0].id, "not_a_face")
    dataset = tiny["model"].parent / "dataset"
    out = {"model": tmp_path / "site.model", "plot": tmp_path / "site.png", "report": tmp_path / "site.json"}
    result = run_script(
        "train_mask_detector.py", "--adapt-from", tiny["model"], "-d", dataset, "-d", site, "-m", out["model"],
        "-p", out["plot"], "-r", out["report"], "--adapt-epochs", 1, "--export",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert class_names_of(KerasClassifier.load(out["model"]).model) == ["with_mask", "without_mask"]
    assert out["plot"].is_file()
    report = json.loads(out["report"].read_text())
    assert report["adapted_from"] == str(tiny["model"])
    site_report = report["site"]
    assert "1 collected boxes labelled not_a_face left out" in result.stdout
    assert site_report["faces"] == 2 * SITE_FACES - 1 and site_report["held_out_people"] >= 1
    assert site_report["train_faces"] + site_report["held_out_faces"] == 2 * SITE_FACES - 1
    for stage in ("before", "after"):
        assert report[stage]["validation"]["faces"] == report["datasets"]["validation"] > 0
        assert report[stage]["site_held_out"]["faces"] == site_report["held_out_faces"]
        assert 0.0 <= report[stage]["site_held_out"]["accuracy"] <= 1.0
    assert report["validation_points_lost"] <= report["accept_loss"]
    assert len(report["history"]["loss"]) == 1
    # The old model is untouched: adapting reads it, and writes elsewhere.
    assert KerasClassifier.load(tiny["model"]) is not None


@pytest.mark.slow
def test_a_model_that_loses_on_validation_is_refused_and_the_old_one_kept(tiny_training, tmp_path):
    _, tiny = tiny_training
    site = collected_site(tmp_path / "collected", tiny["model"], flipped=True)
    dataset = tiny["model"].parent / "dataset"
    kept = tmp_path / "kept"
    kept.mkdir()
    shutil.copytree(tiny["model"], kept / "site.model")
    before = snapshot(kept)
    result = run_script(
        "train_mask_detector.py", "--adapt-from", tiny["model"], "-d", dataset, "-d", site, "-m", kept / "site.model",
        "-p", kept / "site.png", "-r", kept / "site.json", "--site-weight", 0.95, "--adapt-learning-rate", 1e-3,
        "--adapt-epochs", 2, "--export",
    )  # fmt: skip
    refused_and_intact(result, kept, before, "less accurate on the datasets' validation faces", "nothing was written")


def test_options_the_run_would_ignore_are_refused_before_anything_loads(tmp_path):
    adapting_only = run_script("train_mask_detector.py", "--site-weight", 0.3, "-m", tmp_path / "m.model")
    assert adapting_only.returncode == 2 and "--site-weight goes with --adapt-from only" in adapting_only.stderr
    training_only = run_script("train_mask_detector.py", "--adapt-from", "--members", 2, "-m", tmp_path / "m.model")
    assert training_only.returncode == 2 and "--adapt-from does not use --members" in training_only.stderr
    assert not list(tmp_path.iterdir())


def test_an_empty_model_path_is_refused_not_taken_for_a_training(tmp_path):
    result = run_script("train_mask_detector.py", "--adapt-from", "", "-m", tmp_path / "m.model")
    assert result.returncode == 2 and "--adapt-from needs a model's path" in result.stderr
