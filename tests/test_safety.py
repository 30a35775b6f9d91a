"""A user's files are never destroyed, bad input is one line and a documented exit status, never a traceback."""

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import (
    ROOT,
    assert_one_line_error,
    bundled_images,
    make_dataset,
    run_script,
)

from maskdetect.shipped_files import EXAMPLES, FACE_DETECTOR_DIR, SHIPPED_MODEL

MASKED = EXAMPLES / "fmd_4d175c5964.jpg"
UNMASKED = EXAMPLES / "fmd_2c7408b330.jpg"


def snapshot(path):
    """Every file under ``path`` (or the file itself) with its bytes, to compare before and after."""
    path = path if path.is_dir() else path.parent
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(MASKED, folder / "masked.jpg")
    shutil.copy(UNMASKED, folder / "unmasked.jpg")
    return folder


def _refused_and_intact(result, victim, before, *words):
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result, *words)
    assert snapshot(victim) == before


def test_json_onto_a_folder_of_files_is_refused(photos, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("my notes")
    before = snapshot(keep)
    result = run_script("detect_mask_image.py", "-i", photos, "--json", keep, "-o", tmp_path / "out")
    _refused_and_intact(result, keep, before, "it is a folder")
    assert not (tmp_path / "out").exists(), "nothing is written when an output is refused"


def test_output_folder_holding_a_folder_named_like_an_output_is_refused(photos, tmp_path):
    out = tmp_path / "out"
    (out / "masked.jpg").mkdir(parents=True)
    (out / "masked.jpg" / "inner.txt").write_text("keep me")
    before = snapshot(out)
    result = run_script("detect_mask_image.py", "-i", photos, "-o", out)
    _refused_and_intact(result, out, before, "masked.jpg", "it is a folder")


def test_annotated_copies_never_overwrite_the_inputs(photos):
    before = snapshot(photos)
    result = run_script("detect_mask_image.py", "-i", photos, "-o", photos)
    _refused_and_intact(result, photos, before, "input")
    single = photos / "masked.jpg"
    result = run_script("detect_mask_image.py", "-i", single, "-o", single)
    _refused_and_intact(result, photos, before, "input")


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
        _refused_and_intact(result, victim, before, "not a saved model")
    before = snapshot(dataset)
    result = run_script("train_mask_detector.py", "--dataset", dataset, "--model", dataset / "m.model", *outputs)
    _refused_and_intact(result, dataset, before, "inside the input folder")


def _tiny_video(path, frames=12):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for index in range(frames):
        writer.write(np.full((240, 320, 3), index * 10, np.uint8))
    writer.release()
    return path


def test_video_outputs_never_replace_a_folder_the_source_or_old_json(tmp_path):
    source = _tiny_video(tmp_path / "source.avi")
    clip = tmp_path / "clip.avi"
    clip.mkdir()
    (clip / "x.txt").write_text("mine")
    before = snapshot(tmp_path)
    result = run_script("detect_mask_video.py", "-s", source, "--no-display", "-o", clip)
    _refused_and_intact(result, tmp_path, before, "it is a folder")
    result = run_script("detect_mask_video.py", "-s", source, "--no-display", "-o", source)
    _refused_and_intact(result, tmp_path, before, "input")
    (tmp_path / "old.jsonl").write_text('{"old": true}\n')
    before = snapshot(tmp_path)
    result = run_script(
        "detect_mask_video.py", "-s", source, "--no-display", "--json", tmp_path / "old.jsonl", "-o", tmp_path / "x.gif"
    )
    _refused_and_intact(result, tmp_path, before, "x.gif")


@pytest.mark.parametrize("target", ["nodir/r.json", "/proc/x.json"])
def test_unwritable_json_is_refused_before_any_image_is_read(photos, tmp_path, target):
    result = run_script("detect_mask_image.py", "-i", photos, "--json", target, "-o", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, "cannot write")
    assert result.returncode == 2 and result.stdout == ""


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


@pytest.mark.parametrize("model", [ROOT / "README.md", FACE_DETECTOR_DIR])
def test_a_file_or_folder_that_is_not_a_model_gets_one_line(model, tmp_path):
    result = run_script("detect_mask_image.py", "-i", MASKED, "-o", tmp_path / "a.jpg", "--model", model)
    assert result.returncode == 2
    assert_one_line_error(result, "not a mask detector model")


def test_one_output_file_for_several_inputs_is_refused_once(photos, tmp_path):
    result = run_script("detect_mask_image.py", "-i", photos, "-o", tmp_path / "result.jpg")
    assert result.returncode == 2
    assert_one_line_error(result, "result.jpg", "2 input images")


@pytest.mark.parametrize("frames", ["0", "-5"])
def test_max_frames_below_one_is_refused(frames, tmp_path):
    result = run_script("detect_mask_video.py", "-s", _tiny_video(tmp_path / "v.avi"), "--no-display", "--max-frames", frames)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--max-frames: must be at least 1" in result.stderr


def test_windows_without_a_display_are_refused_up_front(photos, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for command in (
        [ROOT / "detect_mask_image.py", "-i", photos, "--show", "-o", tmp_path / "out"],
        [ROOT / "detect_mask_video.py", "-s", _tiny_video(tmp_path / "v.avi")],
    ):
        result = subprocess.run([sys.executable, *map(str, command)], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 2
        assert_one_line_error(result, "no display")


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


def test_an_image_that_breaks_the_detector_fails_alone(photos, tmp_path):
    from maskdetect.photos import detect_photos

    class Detector:
        class_names = ["with_mask", "without_mask"]

        def find(self, image):
            if image.shape[0] == 7:
                raise cv2.error("pathological image")
            return []

        def label(self, faces_per_image):
            return faces_per_image

    cv2.imwrite(str(photos / "odd.png"), np.zeros((7, 9, 3), np.uint8))
    paths = sorted(photos.iterdir())
    results, failures = detect_photos(Detector(), paths, None)
    assert [r.image.rsplit("/", 1)[-1] for r in results] == ["masked.jpg", "unmasked.jpg"]
    assert len(failures) == 1 and "odd.png" in failures[0]


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


def test_a_saved_model_folder_is_told_from_other_folders(tmp_path):
    from maskdetect.io.outputs import is_saved_model_folder

    assert is_saved_model_folder(SHIPPED_MODEL)
    assert not is_saved_model_folder(FACE_DETECTOR_DIR)
    mixed = tmp_path / "mixed"
    shutil.copytree(SHIPPED_MODEL, mixed)
    (mixed / "my_notes.txt").write_text("not part of a model")
    assert not is_saved_model_folder(mixed)
