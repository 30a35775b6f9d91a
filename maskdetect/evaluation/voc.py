"""Reading PASCAL VOC annotations: one xml file per photo, one object per face."""

import logging
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from maskdetect.errors import InputError
from maskdetect.face import Face
from maskdetect.io.images import list_images

logger = logging.getLogger(__name__)


def read_annotation(path):
    """The faces an annotation file lists, each a Face with its box and true class as ``label``. Raises InputError
    for a file that is not VOC xml."""
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        raise InputError(f"cannot read annotation {path}: {error}") from None
    faces = []
    for item in root.iter("object"):
        name, box = item.findtext("name"), item.find("bndbox")
        if not name or box is None:
            raise InputError(f"annotation {path} has an object without name or bndbox")
        try:
            x1, y1, x2, y2 = (float(box.findtext(key)) for key in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            raise InputError(f"annotation {path} has a bndbox without numeric xmin, ymin, xmax, ymax") from None
        if not all(math.isfinite(value) for value in (x1, y1, x2, y2)):
            raise InputError(f"annotation {path}: the box of {name.strip()!r} at ({x1}, {y1}, {x2}, {y2}) is not finite")
        if x2 < x1 or y2 < y1 or min(x1, y1) < 0:
            logger.warning(
                "annotation %s: skipped the box of %r at (%g, %g, %g, %g): its corners are swapped or negative",
                path,
                name.strip(),
                x1,
                y1,
                x2,
                y2,
            )
            continue
        # VOC boxes are inclusive pixel ranges.
        faces.append(Face(round(x1), round(y1), round(x2) + 1, round(y2) + 1, label=name.strip()))
    return faces


def annotated_images(images, annotations=None):
    """Pairs (image path, annotation path) for every image that has an xml of the same name.

    ``annotations`` defaults to a folder 'annotations' beside ``images``, or ``images`` itself.
    """
    images = Path(images)
    if not images.is_dir():
        raise InputError(f"image folder not found: {images}")
    if annotations is None:
        sibling = images.parent / "annotations"
        annotations = sibling if sibling.is_dir() else images
    annotations = Path(annotations)
    if not annotations.is_dir():
        raise InputError(f"annotation folder not found: {annotations}")
    pairs = [(image, annotations / f"{image.stem}.xml") for image in list_images(images)]
    pairs = [(image, xml) for image, xml in pairs if xml.is_file()]
    if not pairs:
        raise InputError(f"no image in {images} has a PASCAL VOC annotation in {annotations}")
    return pairs
