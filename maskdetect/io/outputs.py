"""Where a run may write: every output path is checked before any slow work starts.

The rule for every output of every script: a path that exists is replaced only
when it is the same kind of thing the script writes (a file for a file; for a
model, a folder that is itself a saved model, or a .keras file); never an input;
never a folder of other things. The folder it goes in must exist and take a new
file. A refusal is an InputError (one line, exit status 2) and touches nothing.
This module also names outputs: '-' for standard output, numbered copies.
"""

import json
import os
import zipfile
from pathlib import Path

from maskdetect.errors import InputError
from maskdetect.io.atomic import remove_temporary, temporary_sibling
from maskdetect.io.images import IMAGE_SUFFIXES

# An output path that means standard output.
STDOUT = "-"

# What model.save(path, zipped=False) writes into a model folder, and our judging rule (keras_backend.JUDGING_FILE).
SAVED_MODEL_FILES = {"config.json", "metadata.json", "model.weights.h5"}
SAVED_MODEL_EXTRAS = {"assets", "judging.json"}


def is_stdout(path):
    """True when an output path is '-': standard output, no file."""
    return path is not None and str(path) == STDOUT


def file_outputs(*paths):
    """The paths that name files: None and '-' left out."""
    return [path for path in paths if path and not is_stdout(path)]


def numbered(path, number):
    """``path`` with ``-number`` before its suffix (out.avi: out-2.avi), for outputs that would share a name."""
    path = Path(path)
    return path.with_name(f"{path.stem}-{number}{path.suffix}")


def output_paths(images, output):
    """Where each annotated copy of ``images`` goes, and the folder they go in (None for a single output file).

    A path with an image suffix that is not an existing folder names one file, for one input only;
    anything else is a folder of copies, named like their images and numbered where two names meet.
    """
    output = Path(output)
    if _has_image_suffix(output) and not output.is_dir():
        if len(images) > 1:
            raise InputError(f"the output {output} names one image file, but there are {len(images)} input images; give a folder")
        return [output] * len(images), None
    taken, targets = set(), []
    for image in images:
        name = Path(Path(image).name if _has_image_suffix(image) else Path(image).stem + ".png")
        candidate, number = name, 0
        while candidate.name in taken:
            number += 1
            candidate = numbered(name, number)
        taken.add(candidate.name)
        targets.append(output / candidate)
    return targets, output


def _has_image_suffix(path):
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_saved_model_folder(path):
    """True for a folder holding a saved Keras model and nothing else."""
    path = Path(path)
    if not path.is_dir():
        return False
    names = {entry.name for entry in path.iterdir()}
    return SAVED_MODEL_FILES <= names <= SAVED_MODEL_FILES | SAVED_MODEL_EXTRAS


def is_keras_model(path):
    """True for a saved Keras model: a model folder, or a zipped .keras file."""
    path = Path(path)
    return is_saved_model_folder(path) or (path.is_file() and zipfile.is_zipfile(path))


# File kinds told by their first bytes; any other content is "text" when it decodes as UTF-8, else unknown.
SIGNATURES = (
    (0, b"\x89PNG", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF8", "gif"),
    (0, b"%PDF", "pdf"),
    (0, b"PK\x03\x04", "zip"),
    (0, b"\x1aE\xdf\xa3", "video"),
    (4, b"ftyp", "video"),
    (8, b"AVI ", "video"),
    (8, b"WEBP", "webp"),
    (4, b"TFL3", "tflite"),
)


def content_kind(path):
    """The kind of file ``path`` holds by its content: a SIGNATURES kind, "json", "text", or None (empty or
    unknown)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        return None
    for offset, signature, kind in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The read may end inside a character: a text file is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return "json" if text.lstrip()[:1] in ("{", "[") else "text"


def check_file_output(path, inputs=(), kind=None):
    """A file the run writes (JSON, plot, annotated image or video, CSV): refuse folders, other things and
    inputs, and, given the ``kind`` it writes ("json", "png", "video", "tflite", or one of OUR_CSV_HEADERS), a
    file that holds another kind (see ``content_kind``) or a JSON or CSV file this toolkit did not write."""
    path = Path(path)
    _check_replaceable(path, inputs)
    if kind and path.is_file():
        found = content_kind(path)
        expected = "text" if kind in OUR_CSV_HEADERS else kind
        if found is not None and found != expected:
            raise InputError(f"refusing to write {path}: it holds {found}, not {kind}")
        if found is not None and not _written_by_us(path, kind):
            raise InputError(
                f"refusing to write {path}: it holds {found} that this toolkit did not write (remove it, or give another path)"
            )
    check_writable(path)
    return path


# The CSV files the toolkit writes, each told by the start of its header.
OUR_CSV_HEADERS = {"statistics_csv": "minute,", "review_csv": "file,label,predicted,"}
# A key at the top of each JSON report the toolkit writes (training, evaluate, face-check); image JSON is a
# list of objects with "image", video JSON lines are objects with "type".
OUR_REPORT_KEYS = {"class_names", "annotated_faces", "degraded copies"}
_READ_AT_MOST = 1 << 20


def _written_by_us(path, kind):
    with open(path, "rb") as handle:
        text = handle.read(_READ_AT_MOST).decode("utf-8", errors="ignore").lstrip()
    if kind in OUR_CSV_HEADERS:
        return not text or text.startswith(OUR_CSV_HEADERS[kind])
    if kind != "json" or not text:
        return True
    decoder = json.JSONDecoder()
    try:
        if text.startswith("["):
            rest = text[1:].lstrip()
            if rest.startswith("]"):
                return True
            first, _ = decoder.raw_decode(rest)
            return isinstance(first, dict) and "image" in first
        first, _ = decoder.raw_decode(text)
    except ValueError:
        # A report longer than what was read: its first key is still in the text read.
        return any(f'"{key}"' in text[:4096] for key in OUR_REPORT_KEYS)
    return isinstance(first, dict) and ("type" in first or bool(OUR_REPORT_KEYS & set(first)))


def check_model_output(path, inputs=()):
    """A model the run saves: an existing path must be a saved model, and it may not lie in an input folder."""
    path = Path(path)
    if path.is_dir() and not is_saved_model_folder(path):
        raise InputError(f"refusing to write the model to {path}: it is a folder that is not a saved model")
    if path.is_file() and not (path.suffix == ".keras" and zipfile.is_zipfile(path)):
        raise InputError(f"refusing to write the model to {path}: it exists and is not a saved .keras model")
    if path.exists() and not (path.is_dir() or path.is_file()):
        raise InputError(f"refusing to write the model to {path}: it exists and is not a saved model")
    _refuse_inputs(path, inputs)
    check_writable(path)
    return path


def check_image_outputs(targets, folder, inputs=()):
    """Annotated copies: ``folder`` (None for a single file) is a folder or can be made; no target is a folder or an input."""
    if folder is not None:
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise InputError(f"refusing to write annotated images into {folder}: it is a file")
        existing = next(parent for parent in [folder.absolute(), *folder.absolute().parents] if parent.exists())
        check_writable(existing / "annotated")
    for target in map(Path, targets):
        _check_replaceable(target, inputs)
        if folder is None:
            check_writable(target)


def check_distinct(paths):
    """No two outputs of one run may be the same path."""
    seen = {}
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise InputError(f"two outputs would be written to the same path: {seen[key]} and {path}")
        seen[key] = path


def check_writable(path):
    """The folder of ``path`` exists and takes a new file (tried for real: permissions alone do not tell)."""
    path = Path(path)
    folder = path.absolute().parent
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist")
    probe = temporary_sibling(path, ".probe")
    try:
        probe.touch(exist_ok=False)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None
    remove_temporary(probe)


def _check_replaceable(path, inputs):
    """A file output's path: nothing there yet, or a regular file that is no input."""
    if path.is_dir():
        raise InputError(f"refusing to write {path}: it is a folder")
    if path.exists() and not path.is_file():
        raise InputError(f"refusing to write {path}: it exists and is not a regular file")
    _refuse_inputs(path, inputs)


def _refuse_inputs(path, inputs):
    target = path.resolve()
    for item in inputs:
        source = Path(item).resolve()
        if target == source or is_same_file(path, item):
            raise InputError(f"refusing to write {path}: it is an input of this run")
        if source.is_dir() and source in target.parents:
            raise InputError(f"refusing to write {path}: it is inside the input folder {item}")


def is_same_file(first, second):
    """True when two existing paths are one file (links and relative paths included)."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
