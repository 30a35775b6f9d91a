"""Training from the shell on real bundled images: whole training runs, what their models do, failures before any work."""

import json
import shutil

import cv2
import keras
import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_one_line_error,
    bundled_images,
    make_dataset,
    not_a_face_folder,
    refused_and_intact,
    run_script,
    snapshot,
)
from helpers.faces import assert_exports_match_keras, real_face_crops

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.judging import JudgingRule
from maskdetect.classify.keras_backend import KerasClassifier, class_names_of
from maskdetect.detect.align import classifier_crop
from maskdetect.face import Face
from maskdetect.io.images import read_image


def _outputs(folder):
    """Every training output in ``folder``: a failing run must never get near the repository's own."""
    return ["--model", folder / "m.model", "--plot", folder / "p.png", "--report", folder / "r.json"]


@pytest.mark.slow
def test_tiny_training_writes_a_loadable_model_with_class_names(tiny_training):
    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    model = keras.models.load_model(outputs["model"])
    assert class_names_of(model) == ["with_mask", "without_mask"]
    image = read_image(bundled_images("with_mask", "fmd", 1)[0])
    face = classifier_crop(image, Face(0, 0, image.shape[1], image.shape[0]), IMAGE_SIZE, lower_face=True)
    outputs = model(face[None, :, :, ::-1].astype("float32"))
    assert outputs["probabilities"].shape == (1, 2)
    assert outputs["label"].numpy()[0].decode() in ("with_mask", "without_mask")


@pytest.mark.slow
def test_tiny_training_writes_plot_and_report(tiny_training):
    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    plot = cv2.imread(str(outputs["plot"]))
    assert plot is not None and plot.shape[0] > 200 and plot.shape[1] > 400
    report = json.loads(outputs["report"].read_text())
    assert report["class_names"] == ["with_mask", "without_mask"]
    assert set(report["per_class"]) == {"with_mask", "without_mask"}
    assert {"precision", "recall", "f1", "support"} <= set(report["per_class"]["with_mask"])
    assert set(report["per_source"]) == {"fmd", "obs"}
    assert report["split"]["train"] + report["split"]["validation"] == 40
    assert report["settings"]["seed"] == 42 and report["wall_time_s"] > 0
    assert len(report["history"]["val_accuracy"]) == 3 + 2
    assert report["split"]["validation_share"] == 0.2
    assert set(report["degraded_validation_recall"]) == {"with_mask", "without_mask"}
    assert {"fmd/with_mask", "fmd/without_mask", "obs/with_mask", "obs/without_mask"} == set(report["source_weights"])


@pytest.mark.slow
def test_corrupt_and_non_image_files_are_skipped_with_a_warning(tiny_training):
    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unreadable image" in result.stderr
    report = json.loads(outputs["report"].read_text())
    assert [name.rsplit("/", 1)[-1] for name in report["skipped_images"]] == ["broken.jpg"]
    assert report["images"] == 40


@pytest.mark.slow
def test_training_calibrates_a_rule_that_detection_applies(tiny_training, tmp_path):
    from maskdetect.classify.backends import load_classifier

    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    report = json.loads(outputs["report"].read_text())
    assert report["settings"]["members"] == 3
    assert report["judging"]["size_bands"] == ["<24", "24-40", "40-80", ">=80"]
    assert set(report["judging"]["validation_by_size"]) == {"<24", "24-40", "40-80", ">=80"}
    rule = JudgingRule.from_dict(report["judging"])
    for backend in ("onnx", "litert", "keras"):
        assert load_classifier(outputs["model"], backend).judging_rule == rule
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in bundled_images("with_mask", "fmd", 4, offset=300):
        cv2.imwrite(str(photos / path.name), read_image(path))
    run = run_script(
        "detect_mask_image.py",
        "-i",
        photos,
        "--model",
        outputs["model"],
        "-o",
        tmp_path / "annotated",
        "--json",
        tmp_path / "faces.json",
        "-q",
    )
    assert run.returncode == 0, run.stderr
    faces = [face for record in json.loads((tmp_path / "faces.json").read_text()) for face in record["faces"]]
    assert faces
    for face in faces:
        height = face["box"][3] - face["box"][1]
        assert face["reason"] == rule.reason(height, face["probability"] if face["probability"] is not None else 1.0)
        assert (face["label"] is None) == (face["reason"] is not None)


@pytest.mark.slow
def test_training_exports_a_model_that_gives_keras_probabilities(tiny_training):
    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    report = json.loads(outputs["report"].read_text())
    assert report["exports"] == {
        "onnx": str(outputs["model"].with_suffix(".onnx")),
        "litert": str(outputs["model"].with_suffix(".tflite")),
    }
    assert_exports_match_keras(outputs["model"])


@pytest.mark.slow
def test_export_command_refuses_a_folder_in_the_way_then_exports(tiny_training, tmp_path):
    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    model = tmp_path / "copy.model"
    shutil.copytree(outputs["model"], model)
    (tmp_path / "copy.onnx").mkdir()
    (tmp_path / "copy.onnx" / "mine.txt").write_text("keep")
    refused = run_script("-m", "export", model, "--formats", "onnx")
    assert_one_line_error(refused, "copy.onnx", "folder")
    assert (tmp_path / "copy.onnx" / "mine.txt").read_text() == "keep"
    shutil.rmtree(tmp_path / "copy.onnx")
    written = run_script("-m", "export", model, "--formats", "onnx")
    assert written.returncode == 0, written.stderr
    assert not (tmp_path / "copy.tflite").exists()
    from maskdetect.classify.backends import load_classifier

    faces = real_face_crops(load_classifier(model))
    expected = load_classifier(model, "keras").probabilities(faces)
    assert np.abs(load_classifier(model).probabilities(faces) - expected).max() <= 1e-3


@pytest.mark.slow
def test_tiny_model_beats_chance_on_images_it_never_saw(tiny_training):
    from maskdetect.classify.judging import JudgingRule
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.pipeline import MaskDetector

    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    every_face = JudgingRule.fixed_size(0)
    detector = MaskDetector(KerasClassifier.load(outputs["model"]), load_face_detector("yunet"), judging_rule=every_face)
    right = seen = 0
    for class_name in ("with_mask", "without_mask"):
        # Far past the 20 images per class the tiny model was trained on.
        for path in bundled_images(class_name, "fmd", 20, offset=200) + bundled_images(class_name, "obs", 10, offset=200):
            faces = detector.detect(read_image(path))
            if faces:
                seen += 1
                right += faces[0].label == class_name
    assert seen >= 50
    assert right / seen >= 0.75


@pytest.mark.slow
def test_one_class_dataset_fails_cleanly(tmp_path):
    dataset = make_dataset(tmp_path / "data", {"with_mask": bundled_images("with_mask", "fmd", 5)})
    result = run_script("train_mask_detector.py", "--dataset", dataset, *_outputs(tmp_path))
    assert_one_line_error(result, "at least 2 classes")
    assert not (tmp_path / "m.model").exists()


@pytest.mark.slow
def test_missing_dataset_fails_cleanly(tmp_path):
    result = run_script("train_mask_detector.py", "--dataset", tmp_path / "nowhere", *_outputs(tmp_path))
    assert_one_line_error(result, "dataset folder not found")


@pytest.mark.slow
def test_empty_dataset_fails_cleanly(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_script("train_mask_detector.py", "--dataset", tmp_path / "empty", *_outputs(tmp_path))
    assert_one_line_error(result, "no class folders")


@pytest.mark.slow
def test_class_without_readable_images_fails_cleanly(tmp_path):
    dataset = make_dataset(tmp_path / "data", {"with_mask": bundled_images("with_mask", "fmd", 5)})
    (dataset / "without_mask").mkdir()
    (dataset / "without_mask" / "bad.jpg").write_bytes(b"garbage")
    result = run_script("train_mask_detector.py", "--dataset", dataset, *_outputs(tmp_path), "-q")
    assert_one_line_error(result, "without_mask", "no readable image")


@pytest.mark.slow
def test_unwritable_output_and_bad_weights_fail_before_training(tmp_path):
    dataset = make_dataset(tmp_path / "data")
    outputs = _outputs(tmp_path)
    result = run_script(
        "train_mask_detector.py", "--dataset", dataset, *outputs[2:], "--model", tmp_path / "no" / "such" / "m.model"
    )
    assert_one_line_error(result, "does not exist")
    result = run_script("train_mask_detector.py", "--dataset", dataset, *outputs, "--weights", tmp_path / "missing.h5")
    assert_one_line_error(result, "weights file not found")
    wrong = tmp_path / "wrong.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save_weights(str(wrong).replace(".h5", ".weights.h5"))
    (tmp_path / "wrong.weights.h5").rename(wrong)
    result = run_script("train_mask_detector.py", "--dataset", dataset, "--weights", wrong, *outputs)
    assert_one_line_error(result, "do not fit")


def test_model_onto_an_unrelated_folder_or_the_dataset_is_refused(tmp_path):
    dataset = make_dataset(
        tmp_path / "data",
        {
            "with_mask": bundled_images("with_mask", "fmd", 3),
            "without_mask": bundled_images("without_mask", "fmd", 3),
        },
    )
    project = tmp_path / "proj"
    project.mkdir()
    (project / "code.py").write_text("print('mine')")
    outputs = ("--plot", tmp_path / "p.png", "--report", tmp_path / "r.json")
    for victim in (project, dataset):
        before = snapshot(victim)
        result = run_script("train_mask_detector.py", "--dataset", dataset, "--model", victim, *outputs)
        refused_and_intact(result, victim, before, "not a saved model")
    before = snapshot(dataset)
    result = run_script("train_mask_detector.py", "--dataset", dataset, "--model", dataset / "m.model", *outputs)
    refused_and_intact(result, dataset, before, "inside the input folder")


def test_training_outputs_that_cannot_be_written_fail_before_training(tmp_path):
    dataset = make_dataset(
        tmp_path / "data",
        {
            "with_mask": bundled_images("with_mask", "fmd", 3),
            "without_mask": bundled_images("without_mask", "fmd", 3),
        },
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    paths = {"--model": tmp_path / "m.model", "--plot": tmp_path / "p.png", "--report": tmp_path / "r.json"}
    for option, bad, words in (
        ("--model", notes, "not a saved .keras model"),
        ("--report", "/proc/r.json", "cannot write"),
        ("--plot", tmp_path / "missing" / "p.png", "does not exist"),
    ):
        args = {**paths, option: bad}
        result = run_script("train_mask_detector.py", "--dataset", dataset, *[v for pair in args.items() for v in pair])
        assert result.returncode == 2
        assert_one_line_error(result, *words)
        assert "Loading images" not in result.stdout
    result = run_script(
        "train_mask_detector.py", "--dataset", dataset, *[v for p in paths.items() for v in p], "--weights", tmp_path / "none.h5"
    )
    assert_one_line_error(result, "weights file not found")
    assert "Loading images" not in result.stdout
    assert notes.read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"]


@pytest.mark.slow
def test_three_classes_train(tmp_path):
    dataset = make_dataset(
        tmp_path / "data",
        {
            "with_mask": bundled_images("with_mask", "fmd", 10),
            "without_mask": bundled_images("without_mask", "fmd", 10),
        },
    )
    incorrect = make_dataset(
        tmp_path / "extra",
        {"mask_weared_incorrect": sorted((ROOT / "data" / "extra" / "mask_weared_incorrect").glob("ilc_*"))[:10]},
    )
    model_path = tmp_path / "three.keras"
    result = run_script(
        "train_mask_detector.py",
        "--dataset",
        dataset,
        "--dataset",
        incorrect,
        "--model",
        model_path,
        "--plot",
        tmp_path / "p.png",
        "--report",
        tmp_path / "r.json",
        "--head-epochs",
        1,
        "--fine-tune-epochs",
        1,
        "--views",
        1,
        "--members",
        1,
        "-q",
        "--export",
    )
    assert result.returncode == 0, result.stderr
    assert KerasClassifier.load(model_path).class_names == ["mask_weared_incorrect", "with_mask", "without_mask"]
    third = json.loads((tmp_path / "r.json").read_text())["third_class"]
    # The third class is weighed down until the other two lose at most the cost in validation recall.
    assert 0 < third["weight"] <= 1
    for name in ("with_mask", "without_mask"):
        assert third["validation_recall"][name] >= third["validation_recall_never_choosing_it"][name] - third["cost"] - 1e-9


@pytest.mark.slow
def test_classes_picks_class_folders_and_an_unknown_one_fails_before_training(tmp_path):
    from maskdetect.training.dataset import find_classes

    dataset = make_dataset(
        tmp_path / "data",
        {
            "with_mask": bundled_images("with_mask", "fmd", 2),
            "without_mask": bundled_images("without_mask", "fmd", 2),
            "mask_weared_incorrect": sorted((ROOT / "data" / "extra" / "mask_weared_incorrect").glob("ilc_*"))[:2],
        },
    )
    assert list(find_classes([dataset], classes=["without_mask", "with_mask"])) == ["with_mask", "without_mask"]
    result = run_script(
        "train_mask_detector.py",
        "--dataset",
        dataset,
        "--classes",
        "with_mask",
        "no_such_class",
        "--model",
        tmp_path / "m.model",
        "--plot",
        tmp_path / "p.png",
        "--report",
        tmp_path / "r.json",
    )
    assert_one_line_error(result, "no_such_class")
    assert not (tmp_path / "m.model").exists()


@pytest.mark.slow
def test_label_review_lists_a_mislabelled_face_and_changes_nothing(tmp_path):
    import csv

    masked = bundled_images("with_mask", "fmd", 25)
    dataset = make_dataset(
        tmp_path / "data", {"with_mask": masked[:24], "without_mask": bundled_images("without_mask", "fmd", 24)}
    )
    planted = dataset / "without_mask" / masked[24].name
    planted.write_bytes(masked[24].read_bytes())  # a masked face filed as unmasked
    before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    result = run_script("-m", "label-review", dataset, "--csv", tmp_path / "suspects.csv", "-q")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "suspects.csv").open()))
    assert rows and rows[0]["file"] == str(planted) and rows[0]["predicted"] == "with_mask"
    assert len(rows) <= 5
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == before


@pytest.mark.slow
def test_a_model_trained_with_no_face_boxes_drops_such_boxes_and_never_labels_a_face_so(tmp_path):
    from maskdetect import api

    data = make_dataset(tmp_path / "data")
    not_a_face_folder(data / "not_a_face", 20)
    result = run_script(
        "train_mask_detector.py",
        "--dataset",
        data,
        *_outputs(tmp_path),
        "--head-epochs",
        2,
        "--fine-tune-epochs",
        1,
        "--members",
        1,
        "--export",
        "onnx",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["class_names"] == ["not_a_face", "with_mask", "without_mask"]
    small, *others = report["judging"]["not_a_face_min_probability"]
    assert small is None and all(0.5 <= value < 1 for value in others)
    detector = api.load_detector(tmp_path / "m.model")
    assert detector.class_names == ["with_mask", "without_mask"]
    assert list(detector.judging_rule.not_a_face) == report["judging"]["not_a_face_min_probability"]
    faces = detector.detect(api.read_image(api.EXAMPLES / "fmd_40d0b13bd8.jpg"))
    assert faces and all(face.label in (None, "with_mask", "without_mask") for face in faces)
