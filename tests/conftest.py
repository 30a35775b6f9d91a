"""Shared by the unit and the integration tests: small real datasets cut from the bundled one, photos and videos
made from the example photos, script runners and the checks of their results."""

import contextlib
import importlib
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskdetect.shipped_files import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "dataset"
# A bundled photo with one unmasked face: the frames of the test videos and cameras.
CAMERA_PHOTO = ROOT / "maskdetect" / "examples" / "fmd_2c7408b330.jpg"
# Example photos of one masked and one unmasked face.
MASKED = EXAMPLES / "fmd_4d175c5964.jpg"
UNMASKED = EXAMPLES / "fmd_2c7408b330.jpg"
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


# The modules behind each script and ``python -m`` entry point: their main(argv) runs in this process.
COMMANDS = {
    "train_mask_detector.py": "maskdetect.cli.train",
    "detect_mask_image.py": "maskdetect.cli.image",
    "detect_mask_video.py": "maskdetect.cli.video",
    "evaluate": "maskdetect.cli.evaluate",
    "face-check": "maskdetect.cli.face_check",
    "export": "maskdetect.cli.export",
    "label-review": "maskdetect.cli.label_review",
    "health": "maskdetect.cli.health",
    "label": "maskdetect.cli.label",
}


def run_script(script, *args, cwd=ROOT):
    """Run a command as its console script does, in this process: main(argv) behind run_main.

    ``script`` is a top-level script's name or "-m" followed by a ``python -m maskdetect`` command. Returns a CompletedProcess
    with the exit status and what went to stdout and stderr.
    """
    from maskdetect.cli.common import run_main

    name, args = (str(args[0]), args[1:]) if script == "-m" else (script, args)
    module = importlib.import_module(COMMANDS[name])
    argv = [str(arg) for arg in args]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = run_main(lambda: module.main(argv))
        except SystemExit as end:  # argparse: --help, --version, bad usage
            status = end.code
    return subprocess.CompletedProcess([name, *argv], status, stdout.getvalue(), stderr.getvalue())


def run_process(script, *args, cwd=ROOT, **options):
    """Run a top-level script in a process of its own, for what only a process shows (signals, pipes, imports)."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, **options
    )


def assert_one_line_error(result, *words):
    """A clean failure: non-zero exit, no traceback, one error line naming the problem."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


def snapshot(path):
    """Every file under ``path`` (or the file itself) with its bytes, to compare before and after."""
    path = path if path.is_dir() else path.parent
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def refused_and_intact(result, victim, before, *words):
    """A refusal (exit 2, one error line with ``words``) that left ``victim`` as ``before`` found it."""
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result, *words)
    assert snapshot(victim) == before


def free_port():
    """A TCP port nothing listens on now, on loopback, for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def photo_video(path, frames=20, size=(320, 240)):
    """An MJPG video of ``frames`` copies of CAMERA_PHOTO at 10 frames per second; returns its path."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    image = cv2.resize(cv2.imread(str(CAMERA_PHOTO)), size)
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return path


def tiny_video(path, frames=12):
    """A 320x240 MJPG video of ``frames`` plain grey frames, each lighter than the last; returns its path."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for index in range(frames):
        writer.write(np.full((240, 320, 3), index * 10, np.uint8))
    writer.release()
    return path


# The ``video`` fixture's video, frame by frame.
# (photo, frames): masked, then an unmasked face held for 25 frames, then masked again.
SCRIPT = [(MASKED, 15), (UNMASKED, 25), (MASKED, 10)]
FPS = 10


def frame_with(photo, index):
    """A 640x480 frame with one face photo, drifting a little from frame to frame."""
    canvas = np.full((480, 640, 3), 90, np.uint8)
    face = cv2.resize(cv2.imread(str(photo)), (300, 300), interpolation=cv2.INTER_AREA)
    x = 150 + (index % 10) * 4
    canvas[90:390, x : x + 300] = face
    return canvas


def stalling_camera(frames=40, stall_s=12):
    """An MJPEG camera over HTTP that sends ``frames`` frames, then keeps the connection open and sends nothing."""
    jpeg = cv2.imencode(".jpg", cv2.resize(cv2.imread(str(CAMERA_PHOTO)), (320, 240)))[1].tobytes()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(2)

    def serve():
        client, _ = server.accept()
        client.recv(4096)
        client.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n")
        for _ in range(frames):
            client.sendall(b"--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg) + jpeg + b"\r\n")
            time.sleep(0.03)
        time.sleep(stall_s)
        client.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/live.mjpg"


@pytest.fixture(scope="session", autouse=True)
def one_classifier_per_model_file():
    """Commands run in this process share loaded classifiers: each model file is loaded once per backend."""
    from maskdetect.classify import backends as runtime

    load = runtime.load_classifier
    loaded = {}

    def load_once(model, backend=None, threads=None):
        chosen, path = runtime.resolve_model(model, backend)
        stamp = path.stat().st_mtime_ns if path.exists() else None
        key = (chosen, str(Path(path).resolve()), stamp, threads)
        if key not in loaded:
            loaded[key] = load(model, backend, threads)
        return loaded[key]

    runtime.load_classifier = load_once
    yield
    runtime.load_classifier = load


@pytest.fixture(scope="session")
def tiny_training(tmp_path_factory):
    """One tiny real training run (40 images, 3 + 2 epochs) shared by the tests that inspect its outputs."""
    work = tmp_path_factory.mktemp("tiny_training")
    dataset = make_dataset(work / "dataset")
    (dataset / "with_mask" / "notes.txt").write_text("not an image")
    (dataset / "without_mask" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    outputs = {"model": work / "mask_detector.model", "plot": work / "plot.png", "report": work / "report.json"}
    result = run_script(
        "train_mask_detector.py",
        "--dataset",
        dataset,
        "--model",
        outputs["model"],
        "--plot",
        outputs["plot"],
        "--report",
        outputs["report"],
        "--head-epochs",
        3,
        "--fine-tune-epochs",
        2,
        "--views",
        2,
    )
    return result, outputs


@pytest.fixture
def photos(tmp_path):
    """A folder of two example photos: masked.jpg and unmasked.jpg."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(MASKED, folder / "masked.jpg")
    shutil.copy(UNMASKED, folder / "unmasked.jpg")
    return folder


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 50-frame video of one face (SCRIPT): masked, unmasked for 25 frames, masked again."""
    path = tmp_path_factory.mktemp("video") / "people.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    index = 0
    for photo, count in SCRIPT:
        for _ in range(count):
            writer.write(frame_with(photo, index))
            index += 1
    writer.release()
    return path
