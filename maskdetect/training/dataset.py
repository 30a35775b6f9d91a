"""Loading a folder-per-class image dataset, with each image's face box and source."""

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from maskdetect.classify.judging import NOT_A_FACE
from maskdetect.errors import InputError
from maskdetect.face import Face
from maskdetect.io import collection
from maskdetect.io.images import list_images, read_image
from maskdetect.io.prefetch import Prefetch
from maskdetect.training.duplicates import image_hashes

# Dataset faces are kept at most this many pixels across: crops are smaller, zoomed-out views included.
MAX_FACE_SIDE = 256
# Small face crops are enlarged to this long side before face detection: YuNet misses
# faces that fill a 50-pixel image but finds them once it is 160 pixels.
DETECTION_MIN_SIDE = 160
# A class folder may hold this file: the box (and the detector's landmarks) of each of its images, which then
# frames it instead of a face search. "Not a face" crops are framed so, as the face detector framed them.
BOXES_FILE = "boxes.csv"
# Images decoded ahead of detection, at most.
DECODE_AHEAD = 256
logger = logging.getLogger(__name__)
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
    undetected: list = field(default_factory=list)
    # Whether each image was framed by a BOXES_FILE (a box a person checked) rather than by a face search.
    checked: list = field(default_factory=list)

    @property
    def sources(self):
        return [source_of(path) for path in self.paths]


def source_of(path):
    """The source a file comes from, by its name's prefix ('fmd_x.jpg' -> 'fmd')."""
    match = _SOURCE_PREFIX.match(Path(path).name)
    return match.group(1) if match else "other"


def find_classes(roots, min_classes=2, classes=None):
    """Class names and their image files over one or more dataset folders, checked before anything slow starts.

    Classes are the subfolders; folders of the same name in several roots are one class. ``classes``
    (names) keeps only those.
    """
    files = {}
    for root in map(Path, roots):
        if not root.is_dir():
            raise InputError(f"dataset folder not found: {root}")
        if collection.is_collection(root):
            found = {name: [] for name in collection.classes_of(root)}
            for entry, _ in collection.labelled(root):
                found[str(entry.label)].append(entry.context_image)
            found = {name: paths for name, paths in found.items() if paths}
        else:
            folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
            found = {folder.name: list_images(folder) for folder in folders}
        if not any(found.values()) and collection.is_collection(root):
            raise InputError(
                f"the collection {root} has no labelled faces yet: label them with 'python -m maskdetect label {root}'"
            )
        if not any(found.values()):
            raise InputError(f"dataset {root} holds no class folders with images (expected {root}/<class>/*.jpg)")
        for name, paths in found.items():
            files.setdefault(name, []).extend(paths)
    if classes:
        missing = sorted(set(classes) - set(files))
        if missing:
            raise InputError(
                f"no class folder {', '.join(missing)} in {' '.join(map(str, roots))} (found {', '.join(sorted(files))})"
            )
        files = {name: files[name] for name in classes}
    if len(files) < min_classes:
        raise InputError(
            f"dataset {' '.join(map(str, roots))} has {len(files)} class folder; at least {min_classes} classes are needed"
        )
    for name, paths in files.items():
        if not paths:
            raise InputError(f"class {name!r} in {' '.join(map(str, roots))} has no images")
    return dict(sorted(files.items()))


def mask_classes(roots):
    """The class folders of ``roots`` but the boxes that hold no face: what a study of the mask classes alone reads."""
    return [name for name in find_classes(roots) if name != NOT_A_FACE]


def load_dataset(roots, face_detector=None, verbose=True, min_classes=2, classes=None):
    """Read every image of one or more dataset folders; corrupt files are skipped and listed.

    ``classes`` (names) keeps only those classes. ``face_detector`` (optional) frames each image's face as it will frame faces at
    detection time. Where it finds none, the face is framed as the detector framed
    the other images of the same source (by their median box), or else as the whole image.
    """
    files = find_classes(roots, min_classes, classes)
    known = known_boxes(roots)
    dataset = FaceDataset(class_names=list(files))
    todo = [(label, path) for label, paths in enumerate(files.values()) for path in paths]
    progress = tqdm(total=len(todo), unit="image", desc="Finding faces", disable=None if verbose else True, leave=False)
    # Decoding on a background thread overlaps detection on this one.
    with Prefetch(((label, path, _read_or_reason(path)) for label, path in todo), ahead=DECODE_AHEAD) as decoded:
        for label, path, image in decoded:
            if isinstance(image, str):
                dataset.skipped.append((path, image))
            else:
                box = known.get(Path(path).resolve())
                dataset.checked.append(box is not None)
                box = box or _face_box(image, face_detector)
                if box is not None:
                    image, box = _shrink(image, box)
                dataset.paths.append(path)
                dataset.labels.append(label)
                dataset.images.append(image)
                dataset.boxes.append(box)
            progress.update()
    progress.close()
    if dataset.skipped:
        logger.warning("skipped %d unreadable image(s), e.g. %s", len(dataset.skipped), dataset.skipped[0][1])
    counts = np.bincount(np.asarray(dataset.labels, dtype=int), minlength=len(dataset.class_names))
    for name, count in zip(dataset.class_names, counts):
        if count == 0:
            raise InputError(f"class {name!r} has no readable image")
    for index in _frame_undetected(dataset):
        dataset.images[index], dataset.boxes[index] = _shrink(dataset.images[index], dataset.boxes[index])
    dataset.hashes = [image_hashes(image) for image in dataset.images]
    return dataset


def known_boxes(roots):
    """{image path: Face} from the BOXES_FILE of every class folder of ``roots`` that has one, and from the
    sidecars of the collections among ``roots``."""
    boxes = {}
    for root in (root for root in roots if collection.is_collection(root)):
        boxes.update({entry.context_image.resolve(): box for entry, box in collection.labelled(root)})
    for listing in (path for root in map(Path, roots) if root.is_dir() for path in root.glob(f"*/{BOXES_FILE}")):
        try:
            with open(listing, newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    points = [float(value) for value in row.get("landmarks", "").split()]
                    landmarks = tuple(zip(points[0::2], points[1::2])) if len(points) == 10 else None
                    boxes[(listing.parent / row["file"]).resolve()] = Face(
                        *(int(row[key]) for key in ("x1", "y1", "x2", "y2")), landmarks=landmarks
                    )
        except (OSError, KeyError, ValueError) as error:
            raise InputError(f"cannot read the boxes in {listing}: {error}") from None
    return boxes


def _read_or_reason(path):
    try:
        return read_image(path)
    except ValueError as error:
        return str(error)


def _face_box(image, face_detector):
    """The detector's most confident face, searched at a size where small crops still show a face."""
    if face_detector is None:
        return None
    factor = max(1.0, DETECTION_MIN_SIDE / max(image.shape[:2]))
    search = image if factor == 1.0 else cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    found = face_detector.detect(search)
    if not found:
        return None
    box = found[0]
    return box.scaled(1 / factor)


def _frame_undetected(dataset):
    """Give images without a detected face the median relative box of their source's detected faces.

    Returns the indices of the images it framed.
    """
    relative = {}
    for path, image, box in zip(dataset.paths, dataset.images, dataset.boxes):
        if box is not None:
            height, width = image.shape[:2]
            relative.setdefault(source_of(path), []).append((box.x1 / width, box.y1 / height, box.x2 / width, box.y2 / height))
    medians = {source: np.median(boxes, axis=0) for source, boxes in relative.items()}
    framed = []
    for index, (path, image, box) in enumerate(zip(dataset.paths, dataset.images, dataset.boxes)):
        if box is not None:
            continue
        height, width = image.shape[:2]
        x1, y1, x2, y2 = medians.get(source_of(path), (0.0, 0.0, 1.0, 1.0))
        dataset.boxes[index] = Face(
            int(round(x1 * width)), int(round(y1 * height)), max(1, int(round(x2 * width))), max(1, int(round(y2 * height)))
        )
        dataset.undetected.append(path)
        framed.append(index)
    return framed


def _shrink(image, box):
    """Scale an image down so that its face is at most MAX_FACE_SIDE across."""
    factor = MAX_FACE_SIDE / max(box.width, box.height)
    if factor >= 1:
        return image, box
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return small, box.scaled(factor)
