"""A folder of collected faces: the one place that knows its layout, its JSON sidecars and how entries move.

``--collect DIR`` writes entries into DIR; ``python -m maskdetect label DIR`` sorts them into class folders;
training reads the sorted ones (``--dataset DIR``). The layout (docs/learn_your_door.md)::

    DIR/.maskdetect-collection       marks the folder as a collection: {"format": ..., "classes": [...]}
    DIR/<id>.face.png                the aligned crop the classifier judged (face view, lower face under it)
    DIR/<id>.context.png             the face with its surroundings; training frames the face in it by the sidecar's box
    DIR/<id>.json                    the sidecar: where and when the face was seen, what the model said of it
    DIR/<class>/<id>.*               the same three files once a person has labelled the entry

An entry is complete when its sidecar is there: the sidecar is written last and moved first.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskdetect.errors import InputError
from maskdetect.face import Face
from maskdetect.io.atomic import atomic_output
from maskdetect.io.outputs import check_writable
from maskdetect.io.records import read_json_file

MARKER = ".maskdetect-collection"
FORMAT = "maskdetect collection 1"
SIDECAR_FORMAT = "maskdetect collected face 1"
# Entry names start with this, so training reports the collected faces as one source ("site").
ID_PREFIX = "site_"
# What an entry's id may be: it names files, so nothing that could reach outside the collection.
ENTRY_ID = re.compile(r"site_[A-Za-z0-9_]+")
FACE_SUFFIX = ".face.png"
CONTEXT_SUFFIX = ".context.png"
SIDECAR_SUFFIX = ".json"
SUFFIXES = (SIDECAR_SUFFIX, FACE_SUFFIX, CONTEXT_SUFFIX)
# The marker and a sidecar are a few hundred bytes: a larger file, or one that is no regular file (a FIFO, a
# device), is not read.
MAX_RECORD_BYTES = 1 << 20
# A class name names a folder: at most this many bytes (file systems take 255), no control character.
MAX_CLASS_BYTES = 200
_CLASS_NAME = re.compile(r"[^\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class Entry:
    """One collected face: its id, its sidecar record, and the class folder it was sorted into (None: not yet)."""

    id: str
    record: dict[str, Any]
    label: str | None
    folder: Path

    @property
    def sidecar(self) -> Path:
        return self.folder / f"{self.id}{SIDECAR_SUFFIX}"

    @property
    def face_image(self) -> Path:
        return self.folder / f"{self.id}{FACE_SUFFIX}"

    @property
    def context_image(self) -> Path:
        return self.folder / f"{self.id}{CONTEXT_SUFFIX}"

    @property
    def box(self) -> Face:
        """The face's box (and landmarks) in the context image, as training frames it; ValueError when the sidecar
        holds no box with 0 <= x1 < x2 and 0 <= y1 < y2 (or landmarks that are not finite points)."""
        x1, y1, x2, y2 = (int(value) for value in self.record["box"])
        if not (0 <= x1 < x2 and 0 <= y1 < y2):
            raise ValueError(f"{self.id}: no face box in {self.record['box']!r}")
        points = self.record.get("landmarks")
        landmarks = tuple((float(x), float(y)) for x, y in points) if points else None
        if landmarks and not all(math.isfinite(value) for point in landmarks for value in point):
            raise ValueError(f"{self.id}: landmarks that are not finite")
        return Face(x1, y1, x2, y2, landmarks=landmarks)

    @property
    def person(self) -> str:
        """Who the face belongs to: every entry of one person (one track of one source) shares it."""
        return str(self.record.get("person") or self.id)


def is_collection(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is a collection (it holds the marker file)."""
    return (Path(folder) / MARKER).is_file()


def classes_of(folder: str | os.PathLike[str]) -> list[str]:
    """The classes a collection's faces are sorted into, as its marker lists them: different names, each one
    folder's name inside the collection."""
    try:
        marker = read_json_file(Path(folder) / MARKER, MAX_RECORD_BYTES)
        classes = marker["classes"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"{folder} is not a readable collection ({MARKER}: {error})") from None
    if (
        not isinstance(classes, list)
        or not classes
        or not all(isinstance(name, str) and _is_class_name(name) for name in classes)
        or len(set(classes)) < len(classes)
    ):
        raise InputError(f"{folder}: its {MARKER} lists no usable class names (different folder names, none starting with '.')")
    return classes


def _is_class_name(name: str) -> bool:
    return bool(_CLASS_NAME.fullmatch(name)) and not name.startswith(".") and len(name.encode("utf-8")) <= MAX_CLASS_BYTES


def check_collection_output(
    folder: str | os.PathLike[str], inputs: Sequence[str] = (), outputs: Sequence[str | os.PathLike[str]] = ()
) -> Path:
    """Refuse a collection folder that would mix collected faces with other things, before any slow work.

    Allowed: a folder that does not exist yet (its parent must), an empty folder, or a collection, that takes
    new files and neither holds nor lies in one of the run's other ``outputs``.
    """
    folder = Path(folder)
    if not str(folder):
        raise InputError("--collect needs a folder")
    for output in map(Path, outputs):
        if output.resolve() == folder.resolve() or folder.resolve() in output.resolve().parents:
            raise InputError(f"refusing to collect into {folder}: the run also writes {output} there")
        if output.resolve() in folder.resolve().parents:
            raise InputError(f"refusing to collect into {folder}: it is inside the run's output {output}")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"refusing to collect into {folder}: it is a file")
    if folder.is_dir() and not is_collection(folder) and any(folder.iterdir()):
        raise InputError(f"refusing to collect into {folder}: it holds other files and is no collection (no {MARKER} file)")
    if is_collection(folder):
        classes_of(folder)
    if not folder.absolute().parent.is_dir():
        raise InputError(f"cannot collect into {folder}: folder {folder.absolute().parent} does not exist")
    for item in inputs:
        source = Path(item).resolve()
        if source == folder.resolve() or (source.is_dir() and source in folder.resolve().parents):
            raise InputError(f"refusing to collect into {folder}: it is inside the input {item}")
        if folder.resolve() in source.parents:
            raise InputError(
                f"refusing to collect into {folder}: the input {item} is inside it (a collection's faces are no input)"
            )
    check_writable(folder / MARKER if folder.is_dir() else folder)
    return folder


def check_classes(folder: str | os.PathLike[str], class_names: Sequence[str]) -> None:
    """Refuse to add faces of a model whose classes the existing collection ``folder`` cannot sort them into."""
    if is_collection(folder):
        missing = [name for name in class_names if name not in classes_of(folder)]
        if missing:
            raise InputError(
                f"the collection {folder} sorts faces into {', '.join(classes_of(folder))}, not {', '.join(missing)}: "
                "collect this model's faces into a new folder"
            )


def open_collection(folder: str | os.PathLike[str], classes: Sequence[str]) -> Path:
    """Make ``folder`` a collection (checked by ``check_collection_output``), sorted into ``classes``."""
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    marker = folder / MARKER
    if not marker.is_file():
        with atomic_output(marker) as temporary:
            temporary.write_text(json.dumps({"format": FORMAT, "classes": list(classes)}, indent=1) + "\n", encoding="utf-8")
    return folder


def write_entry(folder: Path, entry_id: str, face_png: bytes, context_png: bytes, record: dict[str, Any]) -> None:
    """Write one entry into a collection's unsorted faces: the two images, then the sidecar that completes it."""
    for suffix, data in ((FACE_SUFFIX, face_png), (CONTEXT_SUFFIX, context_png)):
        with atomic_output(folder / f"{entry_id}{suffix}", suffix) as temporary:
            temporary.write_bytes(data)
    with atomic_output(folder / f"{entry_id}{SIDECAR_SUFFIX}", SIDECAR_SUFFIX) as temporary:
        temporary.write_text(json.dumps({"format": SIDECAR_FORMAT, "id": entry_id, **record}, indent=1) + "\n", "utf-8")


def entries(folder: str | os.PathLike[str]) -> list[Entry]:
    """Every complete entry of a collection, sorted or not; sidecars that cannot be read are skipped."""
    folder = Path(folder)
    found = []
    for label in [None, *classes_of(folder)]:
        place = folder if label is None else folder / label
        if not place.is_dir():
            continue
        for sidecar in sorted(place.glob(f"{ID_PREFIX}*{SIDECAR_SUFFIX}")):
            entry = _entry(place, sidecar.name[: -len(SIDECAR_SUFFIX)], label)
            if entry is not None:
                found.append(entry)
    return found


def _entry(place: Path, entry_id: str, label: str | None) -> Entry | None:
    """The complete entry ``entry_id`` in ``place`` (a collection or one of its class folders), or None."""
    try:
        record = read_json_file(place / f"{entry_id}{SIDECAR_SUFFIX}", MAX_RECORD_BYTES)
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and record.get("format") == SIDECAR_FORMAT:
        return Entry(entry_id, record, label, place)
    return None


def most_doubtful_first(found: Sequence[Entry]) -> list[Entry]:
    """Entries in the order a person should look at them: most doubtful first (a sidecar whose doubt is no finite
    number counts as no doubt)."""
    return sorted(found, key=lambda entry: (-doubt_of(entry), entry.id))


def doubt_of(entry: Entry) -> float:
    """The entry's doubt, 0 when its sidecar holds no finite number."""
    value = entry.record.get("doubt")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return float(value)


def move_entry(folder: str | os.PathLike[str], entry_id: str, label: str | None) -> Entry:
    """Move an entry into the class folder ``label`` (None: back among the unsorted faces); returns it moved.

    Files are renamed within the collection, never copied or deleted: the sidecar goes first (so an entry
    interrupted half-way is found where its sidecar is) and the images follow it; a second call finishes one.
    """
    folder = Path(folder)
    classes = classes_of(folder)
    if label is not None and label not in classes:
        raise InputError(f"no class {label!r} in {folder} (its classes: {', '.join(classes)})")
    places = [folder, *(folder / name for name in classes)]
    current = None
    if ENTRY_ID.fullmatch(entry_id):
        current = next((found for place, name in zip(places, [None, *classes]) if (found := _entry(place, entry_id, name))), None)
    if current is None:
        raise InputError(f"no collected face {entry_id!r} in {folder}")
    target = folder if label is None else folder / label
    if target.exists() and not target.is_dir():
        raise InputError(f"cannot sort faces into {target}: it is a file, not a class folder")
    target.mkdir(exist_ok=True)
    for suffix in SUFFIXES:
        for place in places:
            source = place / f"{entry_id}{suffix}"
            if place != target and source.exists():
                os.replace(source, target / source.name)
    return Entry(entry_id, current.record, label, target)


def labelled(folder: str | os.PathLike[str]) -> Iterator[tuple[Entry, Face]]:
    """Each labelled entry with its face box in its context image: what training reads of a collection (entries
    whose box cannot be read are skipped)."""
    for entry in entries(folder):
        if entry.label is not None and entry.context_image.is_file():
            try:
                box = entry.box
            except (KeyError, ValueError, TypeError, OverflowError):
                continue
            yield entry, box
