"""Loading a folder-per-class image dataset, with each image's face box and source."""

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import keras
import numpy as np

from maskdetect.duplicates import image_hashes
from maskdetect.errors import InputError
from maskdetect.faces import FaceBox
from maskdetect.images import list_images, read_image

# Dataset faces are kept at most this many pixels across, enough for a 224 crop.
MAX_FACE_SIDE = 256
_SOURCE_PREFIX = re.compile(r"^([A-Za-z0-9]+)_")


@dataclass
class FaceDataset:
    """Images in memory with their labels, face boxes, sources and near-duplicate hashes."""

    class_names: list
    paths: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    images: list = field(default_factory=list)
    boxes: list = field(default_factory=list)
    hashes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    @property
    def sources(self):
        return [source_of(path) for path in self.paths]


def source_of(path):
    """The source a file comes from, by its name's prefix ('fmd_x.jpg' -> 'fmd')."""
    match = _SOURCE_PREFIX.match(Path(path).name)
    return match.group(1) if match else "other"


def find_classes(root):
    """Class names and their image files, checked before anything slow starts."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"dataset folder not found: {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = {folder.name: list_images(folder) for folder in folders}
    if not any(files.values()):
        raise InputError(f"dataset {root} holds no class folders with images (expected {root}/<class>/*.jpg)")
    if len(folders) < 2:
        raise InputError(f"dataset {root} has {len(folders)} class folder; at least 2 classes are needed")
    for name, paths in files.items():
        if not paths:
            raise InputError(f"class {name!r} in {root} has no images")
    return files


def load_dataset(root, face_detector=None, verbose=True):
    """Read every image of a dataset; corrupt files are skipped and listed.

    ``face_detector`` (optional) frames each image's face as a detector will at
    detection time; without it, or when it finds none, the whole image is the face.
    """
    files = find_classes(root)
    dataset = FaceDataset(class_names=list(files))
    todo = [(label, path) for label, paths in enumerate(files.values()) for path in paths]
    progress = keras.utils.Progbar(len(todo), unit_name="image") if verbose else None
    for label, path in todo:
        try:
            image = read_image(path)
        except ValueError as error:
            dataset.skipped.append((path, str(error)))
        else:
            box = _face_box(image, face_detector)
            image, box = _shrink(image, box)
            dataset.paths.append(path)
            dataset.labels.append(label)
            dataset.images.append(image)
            dataset.boxes.append(box)
            dataset.hashes.append(image_hashes(image))
        if progress is not None:
            progress.add(1)
    if dataset.skipped:
        print(f"warning: skipped {len(dataset.skipped)} unreadable image(s), e.g. {dataset.skipped[0][1]}", file=sys.stderr)
    counts = np.bincount(np.asarray(dataset.labels, dtype=int), minlength=len(dataset.class_names))
    for name, count in zip(dataset.class_names, counts):
        if count == 0:
            raise InputError(f"class {name!r} has no readable image")
    return dataset


def _face_box(image, face_detector):
    height, width = image.shape[:2]
    if face_detector is not None:
        found = face_detector.detect(image)
        if found:
            return found[0]
    return FaceBox(0, 0, width, height)


def _shrink(image, box):
    """Scale an image down so that its face is at most MAX_FACE_SIDE across."""
    factor = MAX_FACE_SIDE / max(box.width, box.height)
    if factor >= 1:
        return image, box
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    scaled = FaceBox(*(int(round(v * factor)) for v in box.as_list()), confidence=box.confidence)
    return small, scaled
