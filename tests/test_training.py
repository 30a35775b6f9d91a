"""Training from the shell on real bundled images."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_one_line_error,
    bundled_images,
    make_dataset,
    run_script,
)

from maskdetect.classify.batch import IMAGE_SIZE
from maskdetect.classify.keras_backend import KerasClassifier, class_names_of
from maskdetect.detect.align import classifier_crop, crop_shape
from maskdetect.face import Face
from maskdetect.io.images import read_image
from maskdetect.training.duplicates import duplicate_groups, grouped_split, image_hashes
from maskdetect.training.model import build_classifier, save_classifier

pytestmark = pytest.mark.slow


def _outputs(folder):
    """Every training output in ``folder``: a failing run must never get near the repository's own."""
    return ["--model", folder / "m.model", "--plot", folder / "p.png", "--report", folder / "r.json"]


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


def test_corrupt_and_non_image_files_are_skipped_with_a_warning(tiny_training):
    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unreadable image" in result.stderr
    report = json.loads(outputs["report"].read_text())
    assert [name.rsplit("/", 1)[-1] for name in report["skipped_images"]] == ["broken.jpg"]
    assert report["images"] == 40


def test_mirrored_resized_and_reencoded_copies_stay_on_one_side_of_the_split():
    originals = bundled_images("with_mask", "fmd", 30) + bundled_images("without_mask", "fmd", 30)
    images = [read_image(path) for path in originals]
    labels = [0] * 30 + [1] * 30
    source = images[3]
    ok, encoded = cv2.imencode(".jpg", source, [cv2.IMWRITE_JPEG_QUALITY, 60])
    copies = [source[:, ::-1], cv2.resize(source, None, fx=0.6, fy=0.6), cv2.imdecode(encoded, cv2.IMREAD_COLOR)]
    images += copies
    labels += [0, 0, 0]
    groups = duplicate_groups(np.array([image_hashes(image) for image in images]))
    copy_indices = [3, 60, 61, 62]
    assert len({groups[i] for i in copy_indices}) == 1
    assert len(set(groups)) >= 50, "distinct photos must not be merged"
    for seed in range(5):
        train, val = grouped_split(labels, groups, 0.2, seed)
        assert len(set(copy_indices) & set(train)) in (0, 4)


def test_one_class_dataset_fails_cleanly(tmp_path):
    dataset = make_dataset(tmp_path / "data", {"with_mask": bundled_images("with_mask", "fmd", 5)})
    result = run_script("train_mask_detector.py", "--dataset", dataset, *_outputs(tmp_path))
    assert_one_line_error(result, "at least 2 classes")
    assert not (tmp_path / "m.model").exists()


def test_missing_dataset_fails_cleanly(tmp_path):
    result = run_script("train_mask_detector.py", "--dataset", tmp_path / "nowhere", *_outputs(tmp_path))
    assert_one_line_error(result, "dataset folder not found")


def test_empty_dataset_fails_cleanly(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_script("train_mask_detector.py", "--dataset", tmp_path / "empty", *_outputs(tmp_path))
    assert_one_line_error(result, "no class folders")


def test_class_without_readable_images_fails_cleanly(tmp_path):
    dataset = make_dataset(tmp_path / "data", {"with_mask": bundled_images("with_mask", "fmd", 5)})
    (dataset / "without_mask").mkdir()
    (dataset / "without_mask" / "bad.jpg").write_bytes(b"garbage")
    result = run_script("train_mask_detector.py", "--dataset", dataset, *_outputs(tmp_path), "-q")
    assert_one_line_error(result, "without_mask", "no readable image")


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


def test_interrupted_save_keeps_the_previous_model(tmp_path, monkeypatch):
    path = tmp_path / "mask_detector.model"
    first = build_classifier(["with_mask", "without_mask"], weights="none").model
    save_classifier(first, path)
    second = build_classifier(["a", "b"], weights="none").model

    def save_then_interrupt(self, filepath, **kwargs):
        filepath.mkdir()
        (filepath / "config.json").write_text("{half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_classifier(second, path)
    monkeypatch.undo()
    assert KerasClassifier.load(path).class_names == ["with_mask", "without_mask"]
    assert [p.name for p in tmp_path.iterdir()] == ["mask_detector.model"]


@pytest.mark.parametrize("share", [0.1, 0.2, 0.3, 0.4])
def test_val_split_holds_out_the_share_asked(share):
    rng = np.random.default_rng(0)
    labels = np.array([0] * 300 + [1] * 200)
    # Groups of one to three images, as near-duplicates come.
    groups = np.repeat(np.arange(500), rng.integers(1, 4, 500))[:500]
    train, val = grouped_split(labels, groups, share, seed=1)
    assert len(train) + len(val) == 500 and not set(train) & set(val)
    for label, size in ((0, 300), (1, 200)):
        assert abs(np.count_nonzero(labels[val] == label) - share * size) <= 2
    assert not set(groups[train]) & set(groups[val])


def test_sources_are_weighted_by_square_root_of_size_and_classes_balanced():
    from maskdetect.training.train import cell_weights

    cells = [("utk", 1)] * 400 + [("amvd", 1)] * 25 + [("fmd", 0)] * 100
    labels = np.array([label for _, label in cells])
    weights = cell_weights(cells, labels, {})
    assert weights[0] * 4 == pytest.approx(weights[400])  # 16 times the images, a quarter of the weight each
    assert weights[labels == 0].sum() == pytest.approx(weights[labels == 1].sum())
    hard = cell_weights(cells, labels, {"amvd\t1": 3.0})
    assert hard[400] / hard[0] == pytest.approx(3 * weights[400] / weights[0])


def test_views_of_tight_close_ups_stay_within_the_photo():
    from maskdetect.face import Face
    from maskdetect.training.augment import _widest_scale

    image = np.zeros((200, 200, 3), np.uint8)
    assert _widest_scale(image, Face(3, 3, 197, 197)) == pytest.approx(1.357, abs=0.01)
    assert _widest_scale(np.zeros((1000, 1000, 3), np.uint8), Face(450, 450, 550, 550)) > 5


def test_degraded_views_keep_size_and_the_fixed_check_is_repeatable():
    from maskdetect.training.augment import degrade, degraded_copy

    face = cv2.resize(read_image(bundled_images("without_mask", "fmd", 1)[0]), (IMAGE_SIZE, IMAGE_SIZE))
    rng = np.random.default_rng(3)
    views = [degrade(face, rng) for _ in range(8)]
    assert all(view.shape == face.shape and view.dtype == np.uint8 for view in views)
    assert np.mean([np.abs(view.astype(int) - face).mean() for view in views]) > 5
    first, second = degraded_copy(face), degraded_copy(face)
    assert np.array_equal(first, second)
    assert first.mean() < 0.5 * face.mean()


def test_faces_the_detector_misses_are_framed_like_their_source(tmp_path):
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.training.dataset import load_dataset

    dataset = make_dataset(
        tmp_path / "data",
        {
            "with_mask": bundled_images("with_mask", "obs", 4),
            "without_mask": bundled_images("without_mask", "obs", 4),
        },
    )
    gradient = np.tile(np.linspace(30, 220, 400, dtype=np.uint8), (400, 1))
    cv2.imwrite(str(dataset / "without_mask" / "obs_noface.png"), cv2.merge([gradient] * 3))
    loaded = load_dataset([dataset], load_face_detector("yunet"), verbose=False)
    assert [path.name for path in loaded.undetected] == ["obs_noface.png"]
    index = [path.name for path in loaded.paths].index("obs_noface.png")
    box = loaded.boxes[index]
    # Not the whole image: the median of where the detector found the other obs faces.
    assert box.width < 0.9 * loaded.images[index].shape[1] and box.height < 0.9 * loaded.images[index].shape[0]


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


def test_the_documented_model_loading_recipe_runs_as_written_with_plain_keras():
    readme = (ROOT / "docs" / "training.md").read_text()
    block = readme.split("<!-- model-loading recipe", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    code = textwrap.dedent(block)
    # Nothing of ours may be imported: plain Keras must load the model and read its class names.
    guarded = "import sys\nsys.modules['maskdetect'] = None\n" + code
    result = subprocess.run([sys.executable, "-I", "-c", guarded], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "['not_a_face', 'with_mask', 'without_mask']"
    assert lines[-1].startswith("(2, 3) [b'")


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


def test_a_rare_class_is_seen_in_views_of_its_own():
    from maskdetect.face import Face
    from maskdetect.io.images import read_image
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.dataset import FaceDataset
    from maskdetect.training.train import RARE_CLASS_VIEWS, with_rare_class_views

    files = {
        "with_mask": bundled_images("with_mask", "fmd", 12),
        "mask_weared_incorrect": sorted((ROOT / "data" / "extra" / "mask_weared_incorrect").glob("ilc_*"))[:2],
    }
    dataset = FaceDataset(class_names=list(files))
    for label, paths in enumerate(files.values()):
        for path in paths:
            image = read_image(path)
            dataset.images.append(image)
            dataset.boxes.append(Face(0, 0, image.shape[1], image.shape[0]))
            dataset.labels.append(label)
    train_idx = np.arange(len(dataset.labels))
    views = [np.full((len(train_idx), *crop_shape(IMAGE_SIZE, True), 3), view, np.uint8) for view in range(2)]
    extended = with_rare_class_views(
        views, dataset, train_idx, np.random.default_rng(0), TrainingSettings(verbose=False), lambda batch: batch
    )
    assert len(extended) == 2 * RARE_CLASS_VIEWS
    rare = np.asarray(dataset.labels) == 1
    # The common class repeats the given views; the rare one is drawn anew in every further view.
    assert all((view[~rare] == views[index % 2][~rare]).all() for index, view in enumerate(extended))
    further = [view[rare] for view in extended[2:]]
    assert all(not (face == views[0][rare]).all() for face in further)
    assert not np.array_equal(further[0], further[1])


def not_a_face_folder(folder, count):
    """``count`` of the bundled checked no-face boxes, with their framing (boxes.csv), in ``folder``."""
    import csv

    source = ROOT / "dataset" / "not_a_face"
    with open(source / "boxes.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:count]
    folder.mkdir(parents=True)
    for row in rows:
        shutil.copy(source / row["file"], folder / row["file"])
    with open(folder / "boxes.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_boxes_that_hold_no_face_are_framed_as_checked_and_split_apart_from_the_faces(tmp_path):
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.dataset import load_dataset
    from maskdetect.training.train import validation_split

    data = make_dataset(
        tmp_path / "data",
        {"with_mask": bundled_images("with_mask", "fmd", 10), "without_mask": bundled_images("without_mask", "fmd", 10)},
    )
    rows = not_a_face_folder(data / "not_a_face", 10)
    dataset = load_dataset([data], load_face_detector("yunet"), verbose=False)
    assert dataset.class_names == ["not_a_face", "with_mask", "without_mask"]
    framed = {Path(path).name: box for path, box in zip(dataset.paths, dataset.boxes)}
    for row in rows:
        box = framed[row["file"]]
        assert box.box == [int(row[key]) for key in ("x1", "y1", "x2", "y2")]
        assert (box.landmarks is None) == (not row["landmarks"])
    assert not any(Path(path).parent.name == "not_a_face" for path in dataset.undetected)
    labels, hashes = np.asarray(dataset.labels), np.asarray(dataset.hashes)
    config = TrainingSettings(verbose=False)
    _, validation = validation_split(labels, hashes, config, dataset.class_names, np.asarray(dataset.checked))
    faces = np.flatnonzero(labels != 0)
    _, faces_alone = validation_split(labels[faces] - 1, hashes[faces], config)
    # The faces held out are the ones held out without the no-face boxes: models with and without compare.
    assert sorted(set(validation) - set(np.flatnonzero(labels == 0))) == sorted(faces[faces_alone])
    assert (labels[validation] == 0).sum() == 2


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
