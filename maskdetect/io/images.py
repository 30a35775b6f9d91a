"""Reading images into 8-bit BGR arrays, whatever their format, and writing them atomically."""

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from maskdetect.io.atomic import atomic_output

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".jp2", ".pbm", ".pgm", ".ppm"})


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
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith(".") and is_image_path(p))


# Images above this many pixels are refused before they are decoded (a small file can hold a huge image).
DEFAULT_MAX_PIXELS = 100_000_000
# No photo is bigger than this; a bigger file is refused before it is read.
MAX_IMAGE_BYTES = 1 << 30
_limits = {"pixels": DEFAULT_MAX_PIXELS}


def limit_pixels(pixels):
    """Refuse images above ``pixels`` pixels from now on (the --max-pixels option)."""
    _limits["pixels"] = int(pixels)


def read_image(path):
    """Decode an image file into an 8-bit, 3-channel BGR array.

    Grayscale, alpha and 16-bit images are converted, EXIF orientation is applied.
    Raises ValueError when the file cannot be read or decoded, or is too big to be a photo.
    """
    try:
        size = os.stat(path).st_size
        if size > MAX_IMAGE_BYTES:
            raise ValueError(f"{path}: {size / 2**30:.1f} GiB is bigger than any photo ({MAX_IMAGE_BYTES // 2**30} GiB at most)")
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    return decode_image(data, path)


def decode_image(data, name):
    """Decode an image file's bytes (or uint8 array) as ``read_image`` does; ``name`` is for the error message."""
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if data.size == 0:
        raise ValueError(f"cannot decode {name}: the file is empty")
    dimensions = header_size(data[:65536].tobytes())
    if dimensions and dimensions[0] * dimensions[1] > _limits["pixels"]:
        width, height = dimensions
        raise ValueError(
            f"{name}: {width}x{height} pixels is above the limit of {_limits['pixels'] / 1e6:g} megapixels (--max-pixels)"
        )
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise ValueError(f"cannot decode {name}: {error.err or 'not a readable image'}") from None
    if image is None or image.size == 0:
        raise ValueError(f"cannot decode {name}: not a readable image")
    return image


def header_size(head):
    """(width, height) from the first bytes of a PNG, JPEG, GIF, BMP or WebP file, or None (other kinds; OpenCV
    then refuses images above OPENCV_IO_MAX_IMAGE_PIXELS itself)."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return struct.unpack("<HH", head[6:10])
    if head[:2] == b"BM" and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
        if chunk == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            return struct.unpack("<H", head[26:28])[0] & 0x3FFF, struct.unpack("<H", head[28:30])[0] & 0x3FFF
        return None
    if head[:2] == b"\xff\xd8":
        return _jpeg_size(head)
    return None


def _jpeg_size(head):
    position = 2
    while position + 9 <= len(head):
        if head[position] != 0xFF:
            return None
        marker = head[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            position += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", head[position + 2 : position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def expand_inputs(inputs):
    """Files and folders to a list of image paths; returns (paths, problems).

    A folder contributes its image files, sorted; a missing path is a problem.
    """
    paths, problems = [], []
    for item in inputs:
        path = Path(item)
        if not str(item).strip():
            problems.append("an empty path: give a file or folder")
        elif path.is_dir():
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
