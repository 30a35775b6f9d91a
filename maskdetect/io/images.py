"""Reading images into 8-bit BGR arrays, whatever their format, and writing them atomically."""

from pathlib import Path

import cv2
import numpy as np

from maskdetect.io.atomic import atomic_output

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jp2", ".pbm", ".pgm", ".ppm"}
)


_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"BM", b"II*\x00", b"MM\x00*", b"GIF8", b"\x00\x00\x00\x0cjP")


def is_image_path(path):
    """True for a file with an image extension, or an image signature in its first bytes."""
    path = Path(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError:
        return False
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def list_images(folder):
    """Image files directly inside a folder, sorted by name; hidden and non-image files are skipped."""
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith(".") and is_image_path(p)
    )


def read_image(path):
    """Decode an image file into an 8-bit, 3-channel BGR array.

    Grayscale, alpha and 16-bit images are converted, EXIF orientation is applied.
    Raises ValueError when the file cannot be read or decoded.
    """
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    return decode_image(data, path)


def decode_image(data, name):
    """Decode an image file's bytes (or uint8 array) as ``read_image`` does; ``name`` is for the error message."""
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if data.size == 0:
        raise ValueError(f"cannot decode {name}: the file is empty")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise ValueError(f"cannot decode {name}: {error.err or 'not a readable image'}") from None
    if image is None or image.size == 0:
        raise ValueError(f"cannot decode {name}: not a readable image")
    return image


def expand_inputs(inputs):
    """Files and folders to a list of image paths; returns (paths, problems).

    A folder contributes its image files, sorted; a missing path is a problem.
    """
    paths, problems = [], []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths.extend(list_images(path))
        elif path.is_file():
            paths.append(path)
        else:
            problems.append(f"{item}: no such file or folder")
    return paths, problems


def write_image(image, path):
    """Encode by the path's extension (PNG when OpenCV cannot) and write atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        ok, data = cv2.imencode(path.suffix, image)
    except cv2.error:
        ok = False
    if not ok:
        ok, data = cv2.imencode(".png", image)
    with atomic_output(path, path.suffix) as temporary:
        temporary.write_bytes(data.tobytes())
