"""Fast tests of the pure parts: boxes, crops, output paths, records, model paths, the command line."""

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT, bundled_images, run_script

from maskdetect.classify.backends import export_path, resolve_model
from maskdetect.detect.align import crop_face
from maskdetect.errors import InputError
from maskdetect.face import Face, clipped_face
from maskdetect.io.outputs import output_paths
from maskdetect.io.records import frame_record, image_record
from maskdetect.shipped_files import SHIPPED_MODEL


def test_boxes_are_clipped_to_the_image_and_slivers_dropped():
    assert clipped_face(-5.4, 10.6, 120.2, 300, 100, 200, 0.9) == Face(0, 11, 100, 200, 0.9)
    assert clipped_face(95, 10, 140, 80, 100, 200) is None


def test_a_face_crop_is_square_and_a_face_on_the_border_repeats_the_edge():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, :50] = 255
    crop = crop_face(image, Face(0, 20, 40, 60), 64)
    assert crop.shape == (64, 64, 3)
    assert crop[32, 0].tolist() == [255, 255, 255]
    assert np.array_equal(crop_face(image, Face(0, 20, 40, 60), 64, flip=True), crop[:, ::-1])


def test_a_big_face_is_cropped_where_it_is_and_without_aliasing():
    import cv2

    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1000, 1400, 3), dtype=np.uint8), (0, 0), 6)
    for box in (Face(300, 200, 900, 800), Face(0, 0, 1000, 1000), Face(500, 350, 800, 650)):
        expected = cv2.resize(image[box.y1 : box.y2, box.x1 : box.x2], (128, 128), interpolation=cv2.INTER_AREA)
        crop = crop_face(image, box, 128)
        assert np.abs(crop.astype(int) - expected).mean() < 1.0
        shifted = crop_face(image, Face(box.x1 + 15, box.y1, box.x2 + 15, box.y2), 128)
        assert np.abs(shifted.astype(int) - expected).mean() > 2 * np.abs(crop.astype(int) - expected).mean()


def test_annotated_copies_get_unique_names_in_the_output_folder(tmp_path):
    images = [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", tmp_path / "c" / "scan.tif"]
    targets, folder = output_paths(images, tmp_path / "out")
    assert folder == tmp_path / "out"
    assert [t.name for t in targets] == ["x.jpg", "x-1.jpg", "scan.tif"]
    single, none = output_paths(images[:1], tmp_path / "one.png")
    assert single == [tmp_path / "one.png"] and none is None
    with pytest.raises(InputError, match="3 input images"):
        output_paths(images, tmp_path / "one.png")


def test_json_records_round_values_and_mark_faces_too_small_to_judge():
    points = ((10.04, 12.0), (20.0, 12.0), (15.0, 20.0), (11.0, 30.0), (19.0, 30.0))
    faces = [
        Face(1, 2, 30, 40, 0.912345678, points, label="with_mask", probability=0.99999999),
        Face(0, 0, 9, 9, reason="too_small"),
        Face(50, 50, 90, 90, 0.8, probability=0.61, reason="uncertain"),
    ]
    record = image_record("p.jpg", 640, 480, faces)
    assert record["faces"][0] == {
        "box": [1, 2, 30, 40],
        "face_confidence": 0.912346,
        "label": "with_mask",
        "probability": 1.0,
        "reason": None,
        "landmarks": [[10.0, 12.0], [20.0, 12.0], [15.0, 20.0], [11.0, 30.0], [19.0, 30.0]],
    }
    assert record["faces"][1]["label"] is None and record["faces"][1]["probability"] is None
    assert record["faces"][1]["reason"] == "too_small" and record["faces"][1]["landmarks"] is None
    assert record["faces"][2]["label"] is None and record["faces"][2]["probability"] == 0.61
    assert record["faces"][2]["reason"] == "uncertain"
    line = frame_record(3, 0.12345, faces[:1])
    assert line["type"] == "frame" and line["time"] == 0.123 and json.loads(json.dumps(line)) == line
    assert line["faces"][0]["track_id"] is None and line["faces"][0]["person_label"] is None
    assert "track_id" not in record["faces"][0]


def test_a_model_names_its_exports_and_a_suffix_names_its_backend(tmp_path):
    assert export_path(tmp_path / "m.model", "onnx") == tmp_path / "m.onnx"
    assert resolve_model(tmp_path / "m.keras") == ("onnx", tmp_path / "m.onnx")
    assert resolve_model(tmp_path / "m.model", "litert") == ("litert", tmp_path / "m.tflite")
    assert resolve_model(tmp_path / "m.model", "keras") == ("keras", tmp_path / "m.model")
    assert resolve_model(tmp_path / "x.tflite") == ("litert", tmp_path / "x.tflite")
    with pytest.raises(InputError, match="onnx backend"):
        resolve_model(tmp_path / "x.tflite", "onnx")


def test_the_shipped_model_and_its_exports_come_with_the_package():
    assert (SHIPPED_MODEL / "config.json").is_file()
    assert export_path(SHIPPED_MODEL, "onnx").is_file() and export_path(SHIPPED_MODEL, "litert").is_file()


@pytest.mark.parametrize("script", ["detect_mask_image.py", "detect_mask_video.py"])
def test_help_shows_defaults_and_examples_and_version_is_known(script):
    from maskdetect import __version__

    result = run_script(script, "--help")
    assert result.returncode == 0
    assert "(default: 0.4)" in result.stdout and "examples:" in result.stdout and "--backend" in result.stdout
    version = run_script(script, "--version")
    assert version.returncode == 0 and __version__ in version.stdout


def test_python_m_maskdetect_lists_the_commands_and_refuses_an_unknown_one(capsys):
    from maskdetect.__main__ import main

    assert main(["--help"]) == 0
    usage = capsys.readouterr().out
    assert all(name in usage for name in ("train", "image", "video", "evaluate", "export"))
    assert main(["paint"]) == 2
    assert "unknown command 'paint'" in capsys.readouterr().err


def test_the_readme_api_example_runs_as_written():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- api example", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    code = "import sys\nsys.modules['tensorflow'] = None\n" + textwrap.dedent(block)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["with_mask", "with_mask"]


def test_yunet_run_by_onnx_runtime_finds_the_faces_opencv_finds():
    import cv2

    from maskdetect.detect.detectors import YUNET_MODEL, YuNetFaceDetector
    from maskdetect.io.images import list_images, read_image
    from maskdetect.shipped_files import FACE_DETECTOR_DIR

    ours = YuNetFaceDetector()
    opencv = cv2.FaceDetectorYN.create(str(FACE_DETECTOR_DIR / YUNET_MODEL), "", (320, 320), ours.confidence, 0.3, 5000)
    photos = [read_image(path) for path in list_images(ROOT / "data" / "scenes" / "images")[:40]]
    photos.append(cv2.resize(photos[0], (1000, 700)))
    faces = 0
    for image in photos:
        height, width = image.shape[:2]
        opencv.setInputSize((width, height))
        rows = opencv.detect(image)[1]
        rows = [] if rows is None else rows[np.argsort(-rows[:, -1])]
        expected = [clipped_face(x, y, x + w, y + h, width, height, row[-1]) for row in rows for x, y, w, h in [row[:4]]]
        found = ours.detect(image)
        assert [face.box for face in found] == [face.box for face in expected if face is not None]
        assert np.allclose([face.score for face in found], [face.score for face in expected if face is not None], atol=1e-3)
        faces += len(found)
    assert faces > 150


def test_a_json_output_never_replaces_a_file_of_another_kind(tmp_path):
    photo = tmp_path / "photo.jpg"
    shutil.copy(bundled_images("with_mask", "fmd", 1)[0], photo)
    before = photo.read_bytes()
    result = run_script(
        "detect_mask_image.py",
        "--image",
        bundled_images("without_mask", "fmd", 1)[0],
        "--output",
        tmp_path / "out.jpg",
        "--json",
        photo,
    )
    assert result.returncode == 2 and "holds jpeg, not json" in result.stderr
    assert photo.read_bytes() == before
    # A previous JSON report is the same kind: it is replaced.
    report = tmp_path / "report.json"
    report.write_text("[]")
    result = run_script(
        "detect_mask_image.py",
        "--image",
        bundled_images("without_mask", "fmd", 1)[0],
        "--output",
        tmp_path / "out.jpg",
        "--json",
        report,
    )
    assert result.returncode == 0 and json.loads(report.read_text())[0]["faces"]
