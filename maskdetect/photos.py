"""Photos: labelling each image's faces and writing annotated copies, several images in work at once."""

import logging
import os
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from maskdetect.draw import class_colours, draw_faces
from maskdetect.errors import InputError
from maskdetect.io.images import read_image, write_image
from maskdetect.io.prefetch import mapped_ahead
from maskdetect.io.records import image_record
from maskdetect.pipeline import single_threaded_opencv

logger = logging.getLogger(__name__)


@dataclass
class PhotoResult:
    """One input image: where it is, its size and its labelled faces."""

    image: str
    width: int
    height: int
    faces: list = field(default_factory=list)

    def as_record(self):
        return image_record(self.image, self.width, self.height, self.faces)

    def summary(self):
        counts = Counter(face.verdict for face in self.faces)
        detail = ", ".join(f"{count} {label}" for label, count in sorted(counts.items()))
        noun = "face" if len(self.faces) == 1 else "faces"
        return f"{self.image}: {len(self.faces)} {noun}" + (f" ({detail})" if detail else "")


def detect_photos(detector, paths, targets, show=False, workers=None, progress=False, collector=None):
    """Label every face in every image and write annotated copies to ``targets`` (None: no copies); a
    ``collector`` (maskdetect.collector.FaceCollector) is offered each image's labelled faces.

    Reading, face finding and writing run on ``workers`` threads (default: one per core), a few
    images ahead; the faces of several images are classified in one batch; results come in input
    order. Returns (results, failures): an image that cannot be read, processed or written is a
    failure, the others go on. ``progress`` shows a bar on stderr when it is a terminal.
    """
    colours = class_colours(detector.class_names)
    targets = targets or [None] * len(paths)
    workers = workers or os.cpu_count() or 1
    results, failures = [], []
    with (
        single_threaded_opencv(),
        ThreadPoolExecutor(workers) as pool,
        tqdm(total=len(paths), unit="image", disable=None if progress else True, leave=False) as bar,
    ):
        writes = deque()
        found = mapped_ahead(
            pool,
            lambda item: _read_and_find(detector, item),
            map(_Item, range(len(paths)), paths),
            ahead=2 * workers + BATCH_FACES,
        )
        for chunk in _face_batches(found):
            detector.label([item.faces for item in chunk if item.error is None])
            for item, target in ((item, targets[item.index]) for item in chunk):
                if item.error is not None:
                    logger.error("%s", item.error)
                    failures.append(item.error)
                    bar.update()
                    continue
                results.append(PhotoResult(str(item.path), item.image.shape[1], item.image.shape[0], item.faces))
                if collector is not None:
                    collector.add(str(item.path), item.image, item.faces)
                if show:
                    _show(draw_faces(item.image.copy(), item.faces, colours))
                writes.append(pool.submit(_annotate_and_write, item, colours, target) if target is not None else None)
                _finish_writes(writes, failures, bar, wait=len(writes) > 2 * workers)
        _finish_writes(writes, failures, bar, wait=True)
    return results, failures


# The faces of several images go through the classifier together, up to about this many.
BATCH_FACES = 16


@dataclass
class _Item:
    """One input image on its way through ``detect_photos``."""

    index: int
    path: Path
    image: object = None
    faces: list | None = None
    error: str | None = None


def _read_and_find(detector, item):
    try:
        item.image = read_image(item.path)
        item.faces = detector.find(item.image)
    except (ValueError, cv2.error) as error:
        item.error = str(error) if isinstance(error, ValueError) else f"cannot process {item.path}: {error.err or error}"
    return item


def _face_batches(items):
    """Consecutive items grouped so that each group holds about BATCH_FACES faces to classify."""
    chunk, faces = [], 0
    for item in items:
        chunk.append(item)
        faces += sum(face.crop is not None for face in item.faces) if item.error is None else 0
        if faces >= BATCH_FACES:
            yield chunk
            chunk, faces = [], 0
    if chunk:
        yield chunk


def _annotate_and_write(item, colours, target):
    try:
        write_image(draw_faces(item.image, item.faces, colours), target)
    except OSError as error:
        return f"cannot write {target}: {error.strerror or error}"
    return None


def _finish_writes(writes, failures, bar, wait):
    """Collect finished writes in input order (all of them with ``wait``), counting each image done."""
    while writes and (wait or writes[0] is None or writes[0].done()):
        write = writes.popleft()
        error = write.result() if write is not None else None
        if error is not None:
            logger.error("%s", error)
            failures.append(error)
        bar.update()


def _show(image):
    try:
        cv2.imshow("Mask detector (any key: next)", image)
        cv2.waitKey(0)
    except cv2.error:
        raise InputError("cannot open a window here") from None
