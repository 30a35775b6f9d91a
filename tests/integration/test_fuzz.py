"""The command-line surface fuzzed with Hypothesis: odd option values and paths onto files of every kind.

Each example runs a command in this process and asserts: no traceback (any exception other than the
documented exits fails the test), an exit status from the documented table, and no file that was
there before changed unless it is an output of the same kind the run was told to write.
"""

import shutil
import tempfile
from pathlib import Path

import cv2
import pytest
from conftest import run_script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskdetect.shipped_files import EXAMPLES

pytestmark = pytest.mark.slow
STATUSES = {0, 1, 2, 130}
ODD = [
    "",
    " ",
    "-",
    "--",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "1e309",
    "-1",
    "0",
    "0.0",
    "1",
    "3",
    "99999999999999999999",
    "\u00b2",
    "\u0663",
    "é",
    "1,5",
    "0x10",
    "--help",
    "0.5",
    "1.5",
    "320",
    "yunet",
    "ssd",
    "onnx",
    "litert",
    "without_mask",
    "2",
    "10",
]
VALUES = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=6),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def _prepare(folder):
    """Files of every kind; returns {name: bytes} of what must not change."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "fmd_2c7408b330.jpg", folder / "photo.jpg")
    (folder / "run.py").write_text('print("mine")\n')
    (folder / "config.json").write_text('{"mine": true}\n')
    (folder / "faces.json").write_text('[{"image": "old.jpg", "width": 1, "height": 1, "faces": []}]\n')
    (folder / "people.csv").write_text("minute,with_mask\n0,1\n")
    (folder / "a folder").mkdir(exist_ok=True)
    (folder / "a folder" / "keep.txt").write_text("keep")
    writer = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for _ in range(3):
        writer.write(cv2.resize(cv2.imread(str(folder / "photo.jpg")), (160, 120)))
    writer.release()
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


PATHS = [
    "photo.jpg",
    "run.py",
    "config.json",
    "faces.json",
    "people.csv",
    "clip.avi",
    "a folder",
    "a folder/keep.txt",
    "missing/x.json",
    "",
    "-",
]
OURS = {"--json": {"faces.json"}, "-o": set(), "--stats-csv": {"people.csv"}}


def _fuzz(command, base, options, path_options, examples):
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-"))
    original = _prepare(scratch / "files")

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        st.lists(st.tuples(st.sampled_from(options), VALUES), max_size=3),
        st.lists(st.tuples(st.sampled_from(path_options), st.sampled_from(PATHS)), max_size=2),
    )
    def run(values, paths):
        folder = scratch / "files"
        shutil.rmtree(folder)
        _prepare(folder)
        argv = [*base, *[item for pair in values + paths for item in pair]]
        result = run_script(command, *argv, cwd=folder)
        assert result.returncode in STATUSES, (argv, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, (argv, result.stderr)
        told = {name for option, name in paths if name in OURS.get(option, set())}
        for name, data in original.items():
            path = folder / name
            if name not in told and path.is_file():
                assert path.read_bytes() == data, (argv, name)
            elif name not in told:
                raise AssertionError((argv, f"{name} was removed or replaced by a folder"))

    run()
    shutil.rmtree(scratch)


def test_the_photo_script_survives_odd_options_and_paths():
    _fuzz(
        "detect_mask_image.py",
        ["-i", "photo.jpg", "-o", "out", "-q"],
        ["-c", "--upscale", "--detect-size", "--min-face-size", "--max-pixels", "--face-detector", "--backend", "-i"],
        ["--json", "-o", "-i"],
        examples=80,
    )


def test_the_video_script_survives_odd_options_and_paths():
    _fuzz(
        "detect_mask_video.py",
        ["-s", "clip.avi", "--no-display", "--max-frames", "3", "-q"],
        ["--alert-frames", "--realert-after", "--detect-size", "--max-frames", "--open-timeout", "-s", "--serve", "--alert-on"],
        ["--json", "--stats-csv", "-o", "--snapshots"],
        examples=50,
    )


def test_the_training_script_refuses_odd_options_before_any_work():
    _fuzz(
        "train_mask_detector.py",
        ["--dataset", "missing", "--model", "m.model", "--plot", "p.png", "--report", "r.json"],
        [
            "--learning-rate",
            "--fine-tune-learning-rate",
            "--val-split",
            "--head-epochs",
            "--top-blocks",
            "--members",
            "--degrade",
            "--judged-accuracy",
            "--batch-size",
            "--views",
        ],
        ["--weights", "--dataset"],
        examples=30,
    )
