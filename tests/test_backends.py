"""Detection without TensorFlow: the ONNX and LiteRT exports, the --backend option, batched folders."""

import json
import shutil
import subprocess
import sys
import textwrap
import zipfile

import cv2
import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, bundled_images, run_script

from maskdetect.shipped_files import EXAMPLES, SHIPPED_MODEL

# Real faces of every kind of source, masked and not, in the crops detection makes of them.
FACE_SOURCES = [
    ("with_mask", "fmd"),
    ("with_mask", "amvd"),
    ("with_mask", "wchm"),
    ("without_mask", "utk"),
    ("without_mask", "wcmd"),
    ("without_mask", "fexp"),
]


def real_face_crops(classifier, offset=300):
    """What ``classifier`` judges of real faces (the face view, and the lower face for a two-view model)."""
    from maskdetect.detect.align import classifier_crop
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.io.images import read_image

    detector = load_face_detector("yunet")
    crops = []
    for class_name, source in FACE_SOURCES:
        for path in bundled_images(class_name, source, 4, offset=min(offset, 0 if source in ("wchm", "wcmd") else offset)):
            image = read_image(path)
            boxes = detector.detect(image)
            if boxes:
                crops.append(classifier_crop(image, boxes[0], classifier.input_size, classifier.lower_face))
    assert len(crops) >= 16
    return crops


def assert_exports_match_keras(model):
    from maskdetect.classify.backends import load_classifier

    keras_classifier = load_classifier(model, "keras")
    faces = real_face_crops(keras_classifier)
    expected = keras_classifier.probabilities(faces)
    for backend in ("onnx", "litert"):
        exported = load_classifier(model, backend)
        assert exported.class_names == keras_classifier.class_names
        assert exported.input_size == keras_classifier.input_size
        assert exported.lower_face == keras_classifier.lower_face
        assert np.abs(exported.probabilities(faces) - expected).max() <= 1e-3, backend


def test_the_shipped_exports_give_keras_probabilities_on_real_faces():
    assert_exports_match_keras(SHIPPED_MODEL)


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


def _labels_by_image(stdout):
    return {record["image"]: [face["label"] for face in record["faces"]] for record in json.loads(stdout)}


@pytest.mark.slow
def test_every_backend_gives_the_same_labels(tmp_path):
    labels = {}
    for backend in ("onnx", "litert", "keras"):
        result = run_script("detect_mask_image.py", "-i", EXAMPLES, "-b", backend, "--json", "-", "-o", tmp_path / backend)
        assert result.returncode == 0, result.stderr
        labels[backend] = _labels_by_image(result.stdout)
    assert labels["onnx"] == labels["litert"] == labels["keras"]
    assert sum(len(faces) for faces in labels["onnx"].values()) == 7
    direct = run_script(
        "detect_mask_image.py",
        "-i",
        EXAMPLES,
        "-m",
        SHIPPED_MODEL.with_suffix(".tflite"),
        "--json",
        "-",
        "-o",
        tmp_path / "direct",
    )
    assert _labels_by_image(direct.stdout) == labels["onnx"]


def _run_without_importing_tensorflow(script, *args):
    """Run a script in a fresh interpreter; returns (exit status, whether TensorFlow got imported)."""
    code = textwrap.dedent(f"""
        import runpy, sys
        sys.argv = {[str(ROOT / script), *map(str, args)]!r}
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
        except SystemExit as end:
            status = end.code
        print("STATUS", status, "tensorflow" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    _, status, imported = result.stdout.strip().splitlines()[-1].split()
    return int(status), imported == "True"


def test_detection_scripts_do_not_import_tensorflow(tmp_path):
    video = tmp_path / "faces.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(5):
        writer.write(cv2.resize(cv2.imread(str(EXAMPLES / "fmd_2c7408b330.jpg")), (640, 480)))
    writer.release()
    assert _run_without_importing_tensorflow("detect_mask_image.py", "-i", EXAMPLES, "-o", tmp_path / "out") == (0, False)
    assert _run_without_importing_tensorflow("detect_mask_video.py", "-s", video, "--no-display") == (0, False)
    assert _run_without_importing_tensorflow("detect_mask_image.py", "-i", EXAMPLES, "-o", tmp_path / "k", "-b", "keras") == (
        0,
        True,
    )


@pytest.mark.slow
def test_pip_install_gives_commands_that_detect_without_tensorflow_from_any_folder(tmp_path):
    source = tmp_path / "clone"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements-detect.txt"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("maskdetect", "face_detector"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    built = subprocess.run(
        [python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp_path / "wheel", source],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheel").glob("maskdetect-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every module of the package and the one copy of the face detectors, as package data; nothing else of the clone.
    assert {str(path.relative_to(ROOT)) for path in (ROOT / "maskdetect").rglob("*.py")} <= names
    assert {f"maskdetect/face_detector/{path.name}" for path in (ROOT / "face_detector").iterdir()} <= names
    assert {"maskdetect/models/mask_detector.onnx", "maskdetect/models/mask_detector.tflite"} <= names
    assert all(name.startswith(("maskdetect/", "maskdetect-")) for name in names)
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "-c", source / "requirements-detect.txt", wheel],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*command):
        return subprocess.run([*map(str, command)], cwd=elsewhere, capture_output=True, text=True, timeout=300)

    assert run(python, "-c", "import tensorflow").returncode != 0
    for command in ("mask-detect-image", "mask-detect-video"):
        helped = run(bin_dir / command, "--help")
        assert helped.returncode == 0 and "examples:" in helped.stdout and "(default:" in helped.stdout
    trained = run(bin_dir / "mask-train", "--help")
    assert trained.returncode == 2 and "maskdetect[train]" in trained.stderr and "Traceback" not in trained.stderr
    shutil.copy(EXAMPLES / "fmd_40d0b13bd8.jpg", elsewhere / "two.jpg")
    image = run(bin_dir / "mask-detect-image", "-i", "two.jpg", "-o", "checked.jpg", "--json", "-")
    assert image.returncode == 0, image.stderr
    assert [face["label"] for face in json.loads(image.stdout)[0]["faces"]] == ["with_mask", "with_mask"]
    assert (elsewhere / "checked.jpg").is_file()
    video = elsewhere / "faces.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(6):
        writer.write(cv2.resize(cv2.imread(str(EXAMPLES / "fmd_4d175c5964.jpg")), (640, 480)))
    writer.release()
    for backend in ("onnx", "litert"):
        watched = run(python, "-m", "maskdetect", "video", "-s", video, "--no-display", "-b", backend, "--json", "-")
        assert watched.returncode == 0, watched.stderr
        frames = [json.loads(line) for line in watched.stdout.splitlines() if '"type": "frame"' in line]
        assert len(frames) == 6 and all([f["label"] for f in frame["faces"]] == ["with_mask"] for frame in frames)


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


def test_bad_models_and_backends_get_one_line(tmp_path):
    image = EXAMPLES / "fmd_2c7408b330.jpg"
    for name, words in (("junk.onnx", "not an ONNX model"), ("junk.tflite", "not a LiteRT model")):
        (tmp_path / name).write_text("not a model at all")
        result = run_script("detect_mask_image.py", "-i", image, "-m", tmp_path / name, "-o", tmp_path / "a.jpg")
        assert_one_line_error(result, words)
    result = run_script(
        "detect_mask_image.py", "-i", image, "-m", SHIPPED_MODEL.with_suffix(".onnx"), "-b", "litert", "-o", tmp_path / "a.jpg"
    )
    assert_one_line_error(result, "litert backend", ".onnx")
    keras_only = tmp_path / "keras_only.model"
    shutil.copytree(SHIPPED_MODEL, keras_only)
    result = run_script("detect_mask_image.py", "-i", image, "-m", keras_only, "-o", tmp_path / "a.jpg")
    assert_one_line_error(result, "no onnx export", "python -m maskdetect export")
    assert not (tmp_path / "a.jpg").exists()


def test_a_folder_is_labelled_in_input_order_as_one_image_at_a_time(tmp_path):
    from maskdetect.classify.backends import load_classifier
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.io.images import read_image
    from maskdetect.photos import detect_photos
    from maskdetect.pipeline import MaskDetector

    paths = [*bundled_images("with_mask", "amvd", 12), *bundled_images("without_mask", "utk", 12), *sorted(EXAMPLES.iterdir())]
    paths.insert(5, tmp_path / "broken.jpg")
    paths[5].write_bytes(b"\xff\xd8 not a photo")
    detector = MaskDetector(load_classifier(SHIPPED_MODEL), load_face_detector("yunet"))
    targets = [tmp_path / "out" / f"{index:02d}.png" for index in range(len(paths))]
    results, failures = detect_photos(detector, paths, targets, workers=2)
    assert len(failures) == 1 and "broken.jpg" in failures[0]
    readable = [path for path in paths if path.name != "broken.jpg"]
    assert [result.image for result in results] == list(map(str, readable))
    for result, path in zip(results, readable):
        assert [face.label for face in result.faces] == [face.label for face in detector.detect(read_image(path))]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(t.name for t in targets if t.name != "05.png")
