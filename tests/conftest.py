"""Shared fixtures: small real datasets cut from the bundled one, and script runners."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "dataset"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def bundled_images(class_name, source, count, offset=0):
    """The first ``count`` bundled images of a class and source, in name order."""
    files = sorted((DATASET / class_name).glob(f"{source}_*"))
    return files[offset : offset + count]


def make_dataset(folder, per_class=None):
    """A dataset folder with copies of bundled images: {class: [paths]}."""
    per_class = per_class or {
        "with_mask": bundled_images("with_mask", "fmd", 14) + bundled_images("with_mask", "obs", 6),
        "without_mask": bundled_images("without_mask", "fmd", 14) + bundled_images("without_mask", "obs", 6),
    }
    for class_name, files in per_class.items():
        target = Path(folder) / class_name
        target.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copy(path, target / path.name)
    return Path(folder)


def run_script(script, *args, cwd=ROOT):
    """Run one of the toolkit's scripts (or ``-m module``) as a user would; returns the CompletedProcess."""
    command = [script, str(args[0])] if script == "-m" else [str(ROOT / script)]
    args = args[1:] if script == "-m" else args
    return subprocess.run(
        [sys.executable, *command, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line_error(result, *words):
    """A clean failure: non-zero exit, no traceback, one error line naming the problem."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


@pytest.fixture(scope="session")
def tiny_training(tmp_path_factory):
    """One tiny real training run (40 images, 3 + 2 epochs) shared by the tests that inspect its outputs."""
    work = tmp_path_factory.mktemp("tiny_training")
    dataset = make_dataset(work / "dataset")
    (dataset / "with_mask" / "notes.txt").write_text("not an image")
    (dataset / "without_mask" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    outputs = {"model": work / "mask_detector.model", "plot": work / "plot.png", "report": work / "report.json"}
    result = run_script(
        "train_mask_detector.py", "--dataset", dataset, "--model", outputs["model"], "--plot", outputs["plot"],
        "--report", outputs["report"], "--head-epochs", 3, "--fine-tune-epochs", 2, "--views", 2, "--quiet",
    )
    return result, outputs
