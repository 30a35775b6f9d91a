"""detect_mask_image.py on real bundled photos, with each face detector and each backend; a user's files never destroyed."""

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import MASKED, ROOT, UNMASKED, assert_one_line_error, bundled_images, refused_and_intact, run_script, snapshot
from PIL import Image

from maskdetect.detect.detectors import YUNET_MODEL
from maskdetect.shipped_files import EXAMPLES, FACE_DETECTOR_DIR, SHIPPED_MODEL

SHIPPED_CLASSES = ("with_mask", "without_mask", "mask_weared_incorrect")


TWO_MASKED = EXAMPLES / "fmd_40d0b13bd8.jpg"


def _write_inputs(folder):
    """Real photos and the awkward forms users feed in, in one folder."""
    folder.mkdir()
    masked, unmasked = cv2.imread(str(MASKED)), cv2.imread(str(UNMASKED))
    cv2.imwrite(str(folder / "masked.jpg"), masked)
    cv2.imwrite(str(folder / "unmasked.png"), unmasked)
    cv2.imwrite(str(folder / "two_masked.jpg"), cv2.imread(str(TWO_MASKED)))
    cv2.imwrite(str(folder / "unmasked_gray.png"), cv2.cvtColor(unmasked, cv2.COLOR_BGR2GRAY))
    rgba = cv2.cvtColor(masked, cv2.COLOR_BGR2BGRA)
    rgba[..., 3] = 200
    cv2.imwrite(str(folder / "masked_rgba.png"), rgba)
    cv2.imwrite(str(folder / "unmasked_16bit.png"), unmasked.astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "masked_large.jpg"), cv2.resize(masked, (6000, 4000), interpolation=cv2.INTER_CUBIC))
    # Stored on its side with EXIF orientation 6: viewers (and we) turn it upright.
    sideways = Image.fromarray(cv2.cvtColor(cv2.rotate(unmasked, cv2.ROTATE_90_COUNTERCLOCKWISE), cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(folder / "unmasked_exif_rotated.jpg", exif=exif)
    height, width = unmasked.shape[:2]
    cut = unmasked[:, int(width * 0.45) :]
    cv2.imwrite(str(folder / "unmasked_cut_by_border.jpg"), cut)
    gradient = np.tile(np.linspace(30, 220, 640, dtype=np.uint8), (480, 1))
    cv2.imwrite(str(folder / "no_face.png"), cv2.merge([gradient, np.flipud(gradient), gradient // 2]))
    return folder


@pytest.fixture(scope="module", params=["yunet", "ssd"])
def detection_run(request, tmp_path_factory):
    work = tmp_path_factory.mktemp(f"detect_{request.param}")
    inputs = _write_inputs(work / "inputs")
    result = run_script(
        "detect_mask_image.py",
        "--image",
        inputs,
        "--face-detector",
        request.param,
        "--output",
        work / "annotated",
        "--json",
        work / "faces.json",
    )
    assert result.returncode == 0, result.stderr
    records = {record["image"].rsplit("/", 1)[-1]: record for record in json.loads((work / "faces.json").read_text())}
    return request.param, work, records, result


def _labels(record):
    return [face["label"] for face in record["faces"]]


def _only(record, label, at_least=1):
    """Every face found carries ``label``, and enough faces were found."""
    labels = _labels(record)
    assert len(labels) >= at_least and set(labels) == {label}, labels


def test_masked_and_unmasked_faces_are_labelled(detection_run):
    _, _, records, _ = detection_run
    _only(records["masked.jpg"], "with_mask")
    _only(records["unmasked.png"], "without_mask")
    _only(records["two_masked.jpg"], "with_mask", at_least=2)


def test_awkward_formats_work(detection_run):
    _, _, records, _ = detection_run
    _only(records["unmasked_gray.png"], "without_mask")
    _only(records["masked_rgba.png"], "with_mask")
    _only(records["unmasked_16bit.png"], "without_mask")
    _only(records["masked_large.jpg"], "with_mask")
    assert (records["masked_large.jpg"]["width"], records["masked_large.jpg"]["height"]) == (6000, 4000)
    upright = cv2.imread(str(UNMASKED))
    rotated = records["unmasked_exif_rotated.jpg"]
    assert (rotated["height"], rotated["width"]) == upright.shape[:2]
    _only(rotated, "without_mask")


def test_no_face_gives_an_empty_list(detection_run):
    _, _, records, result = detection_run
    assert records["no_face.png"]["faces"] == []
    assert "no_face.png: 0 faces" in result.stdout


def test_face_cut_by_border_gets_a_box_inside_the_image(detection_run):
    _, _, records, _ = detection_run
    record = records["unmasked_cut_by_border.jpg"]
    assert record["faces"], "the half face is still found"
    for face in record["faces"]:
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= record["width"] and 0 <= y1 < y2 <= record["height"]


def test_json_schema(detection_run):
    name, _, records, _ = detection_run
    assert len(records) == 10
    for record in records.values():
        assert set(record) == {"image", "width", "height", "faces"}
        assert isinstance(record["width"], int) and isinstance(record["height"], int)
        for face in record["faces"]:
            assert set(face) == {"box", "face_confidence", "label", "probability", "reason", "landmarks"}
            assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
            assert 0.0 < face["face_confidence"] <= 1.0
            if face["reason"] is None:
                assert face["label"] in SHIPPED_CLASSES
                assert face["probability"] == round(face["probability"], 6)
            else:
                assert face["label"] is None and face["reason"] in ("too_small", "uncertain")
                assert (face["probability"] is None) == (face["reason"] == "too_small")
            if name == "yunet":
                assert len(face["landmarks"]) == 5 and all(len(point) == 2 for point in face["landmarks"])
            else:
                assert face["landmarks"] is None
            assert face["face_confidence"] == round(face["face_confidence"], 6)


def test_annotated_copies_are_written(detection_run):
    _, work, _, _ = detection_run
    written = sorted(p.name for p in (work / "annotated").iterdir())
    assert len(written) == 10 and "masked.jpg" in written
    original = cv2.imread(str(work / "inputs" / "unmasked.png"))
    annotated = cv2.imread(str(work / "annotated" / "unmasked.png"))
    assert annotated.shape == original.shape and not np.array_equal(annotated, original)


def test_corrupt_file_in_folder_fails_only_that_file(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_masked.jpg"), cv2.imread(str(MASKED)))
    (folder / "b_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    cv2.imwrite(str(folder / "c_unmasked.jpg"), cv2.imread(str(UNMASKED)))
    result = run_script("detect_mask_image.py", "--image", folder, "--json", "-", "--output", tmp_path / "out")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "b_corrupt.jpg" in result.stderr
    records = json.loads(result.stdout)
    assert [_labels(r) for r in records] == [["with_mask"], ["without_mask"]]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_masked.jpg", "c_unmasked.jpg"]


def test_whole_image_mode(tmp_path):
    face = cv2.imread(str(ROOT / "dataset" / "with_mask" / "fmd_001ac4cc84.jpg"))
    cv2.imwrite(str(tmp_path / "face.jpg"), face)
    result = run_script(
        "detect_mask_image.py",
        "--image",
        tmp_path / "face.jpg",
        "--whole-image",
        "--json",
        "-",
        "--output",
        tmp_path / "annotated.jpg",
    )
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)
    (only,) = record["faces"]
    assert only["box"] == [0, 0, face.shape[1], face.shape[0]]
    assert only["face_confidence"] is None and only["label"] == "with_mask"
    assert (tmp_path / "annotated.jpg").is_file()


def test_missing_model_and_detector_fail_cleanly(tmp_path):
    result = run_script("detect_mask_image.py", "--image", MASKED, "--model", tmp_path / "none.model", "-o", tmp_path / "a.jpg")
    assert_one_line_error(result, "model not found")
    result = run_script("detect_mask_image.py", "--image", MASKED, "--face-detector-dir", tmp_path, "-o", tmp_path / "a.jpg")
    assert_one_line_error(result, "face detector file not found")
    for content, message in (
        (b"not a network", "cannot load the YuNet face detector"),
        (SHIPPED_MODEL.with_suffix(".onnx").read_bytes(), "not a YuNet face detector"),
    ):
        (tmp_path / YUNET_MODEL).write_bytes(content)
        result = run_script("detect_mask_image.py", "--image", MASKED, "--face-detector-dir", tmp_path, "-o", tmp_path / "a.jpg")
        assert_one_line_error(result, message)
    bad = tmp_path / "bad.model"
    bad.write_text("not a model")
    for backend in ("onnx", "keras"):
        result = run_script("detect_mask_image.py", "--image", MASKED, "--model", bad, "-b", backend, "-o", tmp_path / "a.jpg")
        assert_one_line_error(result, "not a mask detector model")


def test_missing_input_is_reported(tmp_path):
    result = run_script("detect_mask_image.py", "--image", tmp_path / "nope.jpg", MASKED, "--json", "-", "-o", tmp_path)
    assert result.returncode != 0 and "nope.jpg" in result.stderr and "Traceback" not in result.stderr
    assert len(json.loads(result.stdout)) == 1


def test_faces_below_the_minimum_size_are_boxed_but_not_labelled(tmp_path):
    result = run_script(
        "detect_mask_image.py",
        "--image",
        TWO_MASKED,
        "--min-face-size",
        1000,
        "--json",
        "-",
        "--output",
        tmp_path / "annotated.jpg",
    )
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)
    assert len(record["faces"]) >= 2
    assert all(
        face["label"] is None and face["probability"] is None and face["reason"] == "too_small" for face in record["faces"]
    )
    assert (tmp_path / "annotated.jpg").is_file()
    summary = run_script("detect_mask_image.py", "--image", TWO_MASKED, "--min-face-size", 1000, "--output", tmp_path / "b.jpg")
    assert "too_small" in summary.stdout


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


def test_json_onto_a_folder_of_files_is_refused(photos, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("my notes")
    before = snapshot(keep)
    result = run_script("detect_mask_image.py", "-i", photos, "--json", keep, "-o", tmp_path / "out")
    refused_and_intact(result, keep, before, "it is a folder")
    assert not (tmp_path / "out").exists(), "nothing is written when an output is refused"


def test_output_folder_holding_a_folder_named_like_an_output_is_refused(photos, tmp_path):
    out = tmp_path / "out"
    (out / "masked.jpg").mkdir(parents=True)
    (out / "masked.jpg" / "inner.txt").write_text("keep me")
    before = snapshot(out)
    result = run_script("detect_mask_image.py", "-i", photos, "-o", out)
    refused_and_intact(result, out, before, "masked.jpg", "it is a folder")


def test_annotated_copies_never_overwrite_the_inputs(photos):
    before = snapshot(photos)
    result = run_script("detect_mask_image.py", "-i", photos, "-o", photos)
    refused_and_intact(result, photos, before, "input")
    single = photos / "masked.jpg"
    result = run_script("detect_mask_image.py", "-i", single, "-o", single)
    refused_and_intact(result, photos, before, "input")


@pytest.mark.parametrize("target", ["nodir/r.json", "/proc/x.json"])
def test_unwritable_json_is_refused_before_any_image_is_read(photos, tmp_path, target):
    result = run_script("detect_mask_image.py", "-i", photos, "--json", target, "-o", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "cannot write")
    assert result.returncode == 2 and result.stdout == ""


@pytest.mark.parametrize("model", [ROOT / "README.md", FACE_DETECTOR_DIR])
def test_a_file_or_folder_that_is_not_a_model_gets_one_line(model, tmp_path):
    result = run_script("detect_mask_image.py", "-i", MASKED, "-o", tmp_path / "a.jpg", "--model", model)
    assert result.returncode == 2
    assert_one_line_error(result, "not a mask detector model")


def test_one_output_file_for_several_inputs_is_refused_once(photos, tmp_path):
    result = run_script("detect_mask_image.py", "-i", photos, "-o", tmp_path / "result.jpg")
    assert result.returncode == 2
    assert_one_line_error(result, "result.jpg", "2 input images")


def test_json_to_a_closed_pipe_ends_quietly(photos):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "detect_mask_image.py"), "-i", photos, "--json", "-", "-o", photos.parent / "out"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # like `| head` that has gone away
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
