"""Checking photos: expanding inputs, planning outputs, labelling each image, writing annotated copies."""

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from maskdetect.annotate import class_colours, draw_faces
from maskdetect.atomic import atomic_output
from maskdetect.errors import InputError
from maskdetect.images import IMAGE_SUFFIXES, list_images, read_image
from maskdetect.records import image_record


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


def _has_image_suffix(path):
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def output_paths(images, output):
    """Where each annotated copy goes, and the folder they go in (None for a single output file).

    A path with an image suffix that is not an existing folder names one file, for one input only;
    anything else is a folder of copies with unique names.
    """
    output = Path(output)
    if _has_image_suffix(output) and not output.is_dir():
        if len(images) > 1:
            raise InputError(f"--output {output} names one image file, but there are {len(images)} input images; give a folder")
        return [output] * len(images), None
    taken, targets = set(), []
    for image in images:
        name = Path(image).name if _has_image_suffix(image) else Path(image).stem + ".png"
        candidate, number = name, 1
        while candidate in taken:
            candidate = f"{Path(name).stem}-{number}{Path(name).suffix}"
            number += 1
        taken.add(candidate)
        targets.append(output / candidate)
    return targets, output


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


def check_photos(detector, paths, targets, show=False, log=sys.stderr):
    """Label every face in every image and write annotated copies to ``targets`` (None: no copies).

    Returns (results, failures); an image that cannot be read or processed is a failure, the others go on.
    """
    colours = class_colours(detector.class_names)
    results, failures = [], []
    for path, target in zip(paths, targets or [None] * len(paths)):
        try:
            image = read_image(path)
            faces = detector.detect(image)
        except (ValueError, cv2.error) as error:
            message = str(error) if isinstance(error, ValueError) else f"cannot process {path}: {error.err or error}"
            print(f"error: {message}", file=log)
            failures.append(message)
            continue
        results.append(PhotoResult(str(path), image.shape[1], image.shape[0], faces))
        if target is not None or show:
            annotated = draw_faces(image, faces, colours)
            if target is not None:
                try:
                    write_image(annotated, target)
                except OSError as error:
                    print(f"error: cannot write {target}: {error.strerror or error}", file=log)
                    failures.append(str(target))
            if show:
                _show(annotated)
    return results, failures


def _show(image):
    try:
        cv2.imshow("Mask detector (any key: next)", image)
        cv2.waitKey(0)
    except cv2.error:
        raise InputError("cannot open a window here; run without --show") from None
