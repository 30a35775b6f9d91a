#!/usr/bin/env python3
"""The hostile and careless cases of issue 19, each run as a user would, against a tree of the toolkit.

    python benchmarks/hostile_cases.py [--root TREE] [--python PYTHON]

For each case: the exit status, whether a traceback was printed, whether the files that were there
before are intact, and the seconds it took (a case is stopped after --timeout seconds: "hang").
Run it against an older tree (a git worktree) and this one to get the before/after table.
"""

import argparse
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def make_files(folder, root):
    photo = root / "maskdetect" / "examples" / "fmd_2c7408b330.jpg"
    shutil.copy(photo, folder / "photo.jpg")
    (folder / "run.py").write_text('print("my script")\n')
    (folder / "events.avi").write_text('{"type": "frame", "frame": 0}\n')
    import cv2

    writer = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for _ in range(20):
        writer.write(cv2.resize(cv2.imread(str(photo)), (320, 240)))
    writer.release()
    shutil.copy(folder / "clip.avi", folder / "door.avi")
    annotations = folder / "annotations"
    annotations.mkdir()
    (folder / "images").mkdir()
    shutil.copy(photo, folder / "images" / "a.jpg")
    (annotations / "a.xml").write_text(
        "<annotation><object><name>without_mask</name><bndbox><xmin>nan</xmin>"
        "<ymin>1</ymin><xmax>50</xmax><ymax>60</ymax></bndbox></object></annotation>"
    )
    (folder / "big").mkdir()
    with open(folder / "big" / "big.jpg", "wb") as big:
        big.truncate(3 * 2**30)
    (folder / "bombs").mkdir()
    side = 20000

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = zlib.compress(b"".join(b"\x00" * (side + 1) for _ in range(side)), 9)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)) + chunk(b"IDAT", rows)
    for number in range(3):
        (folder / "bombs" / f"bomb{number}.png").write_bytes(bomb + chunk(b"IEND", b""))
    os.mkfifo(folder / "camera.fifo")
    (folder / "config.json").write_text('{"name": "my settings"}\n')
    (folder / "data.csv").write_text("a,b\n1,2\n")
    for name in ("with_mask", "without_mask"):
        (folder / "faces" / name).mkdir(parents=True)
        for path in sorted((root / "dataset" / name).glob("fmd_*"))[:20]:
            shutil.copy(path, folder / "faces" / name / path.name)
    shutil.copytree(root / "maskdetect" / "models" / "mask_detector.model", folder / "good.model")


CASES = [
    (
        "image --json onto a photo",
        ["detect_mask_image.py", "-i", "images/a.jpg", "-o", "out", "--json", "photo.jpg"],
        ["photo.jpg"],
    ),
    ("video --json onto a script", ["detect_mask_video.py", "-s", "door.avi", "--no-display", "--json", "run.py"], ["run.py"]),
    (
        "video --stats-csv onto a video",
        ["detect_mask_video.py", "-s", "door.avi", "--no-display", "--stats-csv", "clip.avi"],
        ["clip.avi"],
    ),
    ("video -o onto JSON lines", ["detect_mask_video.py", "-s", "door.avi", "--no-display", "-o", "events.avi"], ["events.avi"]),
    (
        "image --json onto someone's config.json",
        ["detect_mask_image.py", "-i", "images/a.jpg", "-o", "out", "--json", "config.json"],
        ["config.json"],
    ),
    (
        "video --stats-csv onto someone's data.csv",
        ["detect_mask_video.py", "-s", "door.avi", "--no-display", "--stats-csv", "data.csv"],
        ["data.csv"],
    ),
    (
        "train --learning-rate nan over a good model",
        [
            "train_mask_detector.py",
            "--learning-rate",
            "nan",
            "--dataset",
            "faces",
            "--model",
            "good.model",
            "--head-epochs",
            "1",
            "--fine-tune-epochs",
            "0",
            "--members",
            "1",
            "--views",
            "1",
            "--export",
            "onnx",
        ],
        ["good.model/model.weights.h5"],
    ),
    ("a 3 GiB big.jpg", ["detect_mask_image.py", "-i", "big", "-o", "out"], []),
    ("three 20000x20000 PNG bombs", ["detect_mask_image.py", "-i", "bombs", "-o", "out"], []),
    ("-s 99999999999999999999", ["detect_mask_video.py", "-s", "99999999999999999999", "--no-display"], []),
    ("-s \u00b2", ["detect_mask_video.py", "-s", "\u00b2", "--no-display"], []),
    ("evaluate, a nan box", ["-m", "maskdetect", "evaluate", "images", "--annotations", "annotations"], []),
    ("-i ''", ["detect_mask_image.py", "-i", "", "-o", "out"], []),
    ("-s FIFO nobody writes to", ["detect_mask_video.py", "-s", "camera.fifo", "--no-display"], []),
]


def run_case(python, root, folder, argv, timeout):
    command = [python, *argv[:2], *argv[2:]] if argv[0] == "-m" else [python, str(root / argv[0]), *argv[1:]]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
        status = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        status = "hang"
    return status, "Traceback" in stderr, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(HERE))
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--only", nargs="+", type=int, help="the numbers of the cases to run (from 1)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    print("| case | exit | traceback | files intact | seconds |\n|---|---|---|---|---|")
    for number, (name, argv, guarded) in enumerate(CASES, 1):
        if args.only and number not in args.only:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            make_files(folder, root)
            before = {path: (folder / path).read_bytes() for path in guarded}
            status, traceback, seconds = run_case(args.python, root, folder, argv, args.timeout)
            intact = all((folder / path).is_file() and (folder / path).read_bytes() == data for path, data in before.items())
            print(
                f"| {name} | {status} | {'yes' if traceback else 'no'} | {'yes' if intact else 'NO'} | {seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
