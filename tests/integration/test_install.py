"""The wheel built from the clone and installed in a fresh virtual environment, run from another folder."""

import json
import shutil
import subprocess
import sys
import zipfile

import cv2
import pytest
from conftest import ROOT

from maskdetect.shipped_files import EXAMPLES


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
