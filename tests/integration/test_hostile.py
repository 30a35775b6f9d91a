"""Hostile and careless input: no traceback, no hang, nothing replaced that is not an output of the same kind."""

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import numpy as np
import pytest
from conftest import ROOT, assert_one_line_error, photo_video, run_process, run_script

from maskdetect.shipped_files import EXAMPLES, SHIPPED_MODEL

PHOTO = EXAMPLES / "fmd_2c7408b330.jpg"


def _bomb(path, side=20000):
    """A PNG of a few hundred KB that decodes to side x side pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = zlib.compress(b"".join(b"\x00" + b"\x00" * side for _ in range(side)), 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def others(tmp_path):
    """Files a careless output path could land on: a script, a config, a photo, a video, CSV, XML."""
    folder = tmp_path / "mine"
    folder.mkdir()
    files = {
        "run.py": b'print("my script")\n',
        "config.json": b'{"name": "my settings"}\n',
        "data.csv": b"a,b\n1,2\n",
        "photo.jpg": PHOTO.read_bytes(),
        "notes.xml": b"<annotation><object/></annotation>\n",
        "events.avi": b'{"type": "frame", "frame": 0}\n',
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    shutil.copy(photo_video(tmp_path / "clip.avi"), folder / "clip.avi")
    return folder


def _contents(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def test_outputs_replace_only_outputs_of_their_own_kind(others, tmp_path):
    before = _contents(others)
    video = photo_video(tmp_path / "door.avi")
    cases = [
        ("detect_mask_image.py", "-i", PHOTO, "-o", tmp_path / "out", "--json", others / "photo.jpg"),
        ("detect_mask_image.py", "-i", PHOTO, "-o", tmp_path / "out", "--json", others / "config.json"),
        ("detect_mask_image.py", "-i", PHOTO, "-o", tmp_path / "out", "--json", others / "run.py"),
        ("detect_mask_video.py", "-s", video, "--no-display", "--json", others / "run.py"),
        ("detect_mask_video.py", "-s", video, "--no-display", "--stats-csv", others / "clip.avi"),
        ("detect_mask_video.py", "-s", video, "--no-display", "--stats-csv", others / "data.csv"),
        ("detect_mask_video.py", "-s", video, "--no-display", "-o", others / "events.avi"),
        ("-m", "evaluate", ROOT / "data" / "scenes" / "images", "--json", others / "notes.xml"),
    ]
    for case in cases:
        assert_one_line_error(run_script(*case), "refusing to write")
    assert _contents(others) == before
    # Our own outputs are replaced as before.
    first = run_script("detect_mask_image.py", "-i", PHOTO, "-o", tmp_path / "out", "--json", tmp_path / "faces.json")
    again = run_script("detect_mask_image.py", "-i", PHOTO, "-o", tmp_path / "out", "--json", tmp_path / "faces.json")
    assert (first.returncode, again.returncode) == (0, 0)
    stats = run_script("detect_mask_video.py", "-s", video, "--no-display", "--stats-csv", tmp_path / "people.csv")
    stats_again = run_script("detect_mask_video.py", "-s", video, "--no-display", "--stats-csv", tmp_path / "people.csv")
    assert (stats.returncode, stats_again.returncode) == (0, 0)


@pytest.mark.parametrize(
    "case",
    [
        ("train_mask_detector.py", "--learning-rate", "nan"),
        ("train_mask_detector.py", "--fine-tune-learning-rate", "inf"),
        ("train_mask_detector.py", "--val-split", "0.9"),
        ("detect_mask_image.py", "-c", "nan"),
        ("detect_mask_image.py", "--upscale", "inf"),
        ("detect_mask_video.py", "--realert-after", "-nan"),
        ("detect_mask_video.py", "--open-timeout", "0"),
    ],
)
def test_numbers_that_are_not_finite_or_out_of_range_are_refused(case, tmp_path):
    result = run_script(*case, "--model", tmp_path / "m.model") if case[0].startswith("train") else run_script(*case)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert case[1] in result.stderr and not (tmp_path / "m.model").exists()


def test_a_huge_file_and_a_decompression_bomb_are_skipped_with_one_line_each(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(PHOTO, folder / "good.jpg")
    with open(folder / "big.jpg", "wb") as big:
        big.truncate(3 * 2**30)  # sparse: 3 GiB named like a photo
    _bomb(folder / "bomb.png")
    started = time.perf_counter()
    result = run_script("detect_mask_image.py", "-i", folder, "-o", tmp_path / "out", "--json", tmp_path / "faces.json")
    assert time.perf_counter() - started < 20
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any("big.jpg" in line and "bigger than any photo" in line for line in errors)
    assert any("bomb.png" in line and "20000x20000" in line and "megapixels" in line for line in errors)
    assert [record["image"] for record in json.loads((tmp_path / "faces.json").read_text())] == [str(folder / "good.jpg")]
    # The limit is an option.
    lower = run_script("detect_mask_image.py", "-i", folder / "good.jpg", "-o", tmp_path / "o2", "--max-pixels", 1000)
    assert lower.returncode == 1 and "above the limit" in lower.stderr


@pytest.mark.parametrize("source", ["99999999999999999999", "\u00b2", ""])
def test_camera_indexes_that_are_not_are_one_line(source):
    assert_one_line_error(run_script("detect_mask_video.py", "-s", source, "--no-display"), "source")


def test_an_empty_input_path_is_an_error_not_this_folder(tmp_path):
    result = run_script("detect_mask_image.py", "-i", "", "-o", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 1 and "an empty path" in result.stderr and not (tmp_path / "out").exists()


def test_annotations_with_boxes_that_are_not_finite_or_swapped(tmp_path):
    images, annotations = tmp_path / "images", tmp_path / "annotations"
    images.mkdir()
    annotations.mkdir()
    shutil.copy(PHOTO, images / "a.jpg")

    def annotate(*box):
        xmin, ymin, xmax, ymax = box
        (annotations / "a.xml").write_text(
            f"<annotation><object><name>without_mask</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object></annotation>"
        )

    annotate("nan", 5, 100, 120)
    assert_one_line_error(run_script("-m", "evaluate", images, "--annotations", annotations), "a.xml", "not finite")
    annotate(140, 140, 10, 10)
    swapped = run_script("-m", "evaluate", images, "--annotations", annotations)
    assert "Traceback" not in swapped.stderr and "swapped" in swapped.stderr and "a.xml" in swapped.stderr


def test_a_model_that_gives_nan_is_refused_at_load(tmp_path):
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(SHIPPED_MODEL.with_suffix(".onnx")))
    biggest = max(graph.graph.initializer, key=lambda tensor: np.prod(tensor.dims))
    biggest.CopyFrom(numpy_helper.from_array(np.full(numpy_helper.to_array(biggest).shape, np.nan, np.float32), biggest.name))
    onnx.save(graph, str(tmp_path / "broken.onnx"))
    assert_one_line_error(
        run_script("detect_mask_image.py", "-i", PHOTO, "-o", tmp_path / "out", "-m", tmp_path / "broken.onnx"),
        "not numbers from 0 to 1",
    )


@pytest.mark.slow
def test_a_fifo_nobody_writes_to_times_out_and_ctrl_c_stops_it_at_once(tmp_path):
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    timed_out = run_process("detect_mask_video.py", "-s", fifo, "--no-display", "--open-timeout", 1)
    assert time.monotonic() - started < 15
    assert_one_line_error(timed_out, "nothing came within 1 s")
    waiting = subprocess.Popen(
        [sys.executable, str(ROOT / "detect_mask_video.py"), "-s", str(fifo), "--no-display", "--open-timeout", "600"],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    interrupted_at = time.monotonic()
    waiting.send_signal(signal.SIGINT)
    assert waiting.wait(timeout=10) == 130 and time.monotonic() - interrupted_at < 3
    assert "Traceback" not in waiting.stderr.read()


@pytest.mark.slow
def test_a_stream_that_accepts_and_never_answers_times_out(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def accept():
        with contextlib.suppress(OSError):  # closed at the end of the test
            held.extend(server.accept() for _ in range(4))

    threading.Thread(target=accept, daemon=True).start()
    started = time.monotonic()
    result = run_process(
        "detect_mask_video.py", "-s", f"http://127.0.0.1:{server.getsockname()[1]}/live.mjpg", "--no-display", "--open-timeout", 1
    )
    assert time.monotonic() - started < 15
    assert_one_line_error(result, "cannot open video source")
    server.close()


def _small_disk(path, size):
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("no tmpfs mount here (needs root)")
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small disk needs root")
def test_a_full_disk_keeps_the_previous_outputs(tmp_path):
    video = photo_video(tmp_path / "door.avi", frames=150, size=(640, 480))
    disk = _small_disk(tmp_path / "disk", "64k")
    try:
        old = photo_video(disk / "out.avi", frames=2, size=(64, 48)).read_bytes()  # the previous good recording
        recorded = run_script("detect_mask_video.py", "-s", video, "--no-display", "-o", disk / "out.avi")
        assert_one_line_error(recorded, "out.avi", "the previous one is kept")
        assert (disk / "out.avi").read_bytes() == old
        (disk / "out.avi").unlink()
        (disk / "filler").write_bytes(b"x" * (os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize - 4096))
        events = run_script("detect_mask_video.py", "-s", video, "--no-display", "--json", disk / "events.jsonl")
        assert_one_line_error(events, "events.jsonl", "No space left")
        assert [path.name for path in disk.iterdir()] == ["filler"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.slow
def test_ctrl_c_stops_the_export_in_every_phase(tmp_path):
    shutil.copytree(SHIPPED_MODEL, tmp_path / "m.model")
    for delay in (1.5, 4.0):
        process = subprocess.Popen(
            [sys.executable, "-m", "maskdetect", "export", "m.model"],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=60)
        assert status == 130, (delay, process.stdout.read(), process.stderr.read())
        assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "m.tflite").exists()


def test_ctrl_c_inside_code_a_library_runs_as_a_string_still_exits_130(tmp_path):
    """TensorFlow's import runs code through PyRun_String; a Ctrl+C caught after leaving it made CPython kill
    a ``python -m`` run by SIGINT after it had exited (-2, not 130: the export test failed on it in CI)."""
    (tmp_path / "slow_library").mkdir()
    (tmp_path / "slow_library" / "__main__.py").write_text(
        "import ctypes, sys\n"
        "from maskdetect.cli.common import run_main\n"
        "run_string = ctypes.pythonapi.PyRun_String\n"
        "run_string.restype, run_string.argtypes = ctypes.py_object, [ctypes.c_char_p, ctypes.c_int,"
        " ctypes.py_object, ctypes.py_object]\n"
        "def main():\n"
        "    print('ready', flush=True)\n"
        "    run_string(b'import time\\ntime.sleep(30)\\n', 257, {}, {})\n"  # 257: Py_file_input
        "sys.exit(run_main(main))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "slow_library"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 130
    assert process.stderr.read().startswith("error: interrupted")
