"""``python -m maskdetect label DIR``: sort a collection's faces into its class folders on a local page, or
exchange them with Label Studio (docs/labelling.md)."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

from maskdetect.cli.common import apply_verbosity, new_parser
from maskdetect.cli.options import add_options, read_options
from maskdetect.cli.status import EXIT_OK
from maskdetect.errors import InputError
from maskdetect.io import collection
from maskdetect.io.atomic import atomic_outputs
from maskdetect.io.outputs import check_distinct, check_file_output
from maskdetect.io.records import read_json_file
from maskdetect.serve.labelling import (
    DOCUMENT_ROOT_VARIABLE,
    NO_ANNOTATION,
    UNKNOWN_CLASS,
    UNKNOWN_ENTRY,
    LabellingPage,
    is_label_studio_config,
    is_label_studio_tasks,
    label_studio_config,
    label_studio_labels,
    label_studio_tasks,
)
from maskdetect.settings import PageSettings

DEFAULT_ADDRESS = "8000"
# A Label Studio export above this size is not read (one of 100 000 tasks is about 150 MB).
MAX_EXPORT_BYTES = 1 << 30
EXAMPLES_TEXT = """
    python -m maskdetect label faces/                   the page at http://127.0.0.1:8000/?token=... until Ctrl+C
    python -m maskdetect label faces/ --serve 8001 --serve-token-file page.token
    python -m maskdetect label faces/ --export label-studio --tasks faces.json
                                                        Label Studio tasks, and their labelling config in faces.config.xml
    python -m maskdetect label faces/ --import project-1-at-2025-06-01.json
                                                        Label Studio's JSON export back into the class folders
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(
        "python -m maskdetect label",
        "Sort collected faces (--collect DIR) into their class folders on a local page, one key per class, or hand them "
        "to Label Studio and read its export back (docs/labelling.md).",
        EXAMPLES_TEXT,
    )
    parser.add_argument("folder", metavar="DIR", help="a collection of faces (written by --collect DIR)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        default=DEFAULT_ADDRESS,
        help="serve the labelling page at http://HOST:PORT/ (host 127.0.0.1 unless given), opened with the token it "
        "prints, until Ctrl+C",
    )
    action.add_argument("--export", choices=["label-studio"], help="write the faces as Label Studio tasks (--tasks) instead")
    action.add_argument(
        "--import",
        dest="import_path",
        metavar="EXPORT.json",
        help="sort the faces as Label Studio's JSON export (Export > JSON) of those tasks says, instead",
    )
    exporting = parser.add_argument_group("Label Studio tasks (--export label-studio)")
    exporting.add_argument(
        "--tasks",
        metavar="PATH",
        help="the tasks file to write (JSON, to import into a project); its labelling config goes beside it, in "
        "PATH's name with .config.xml",
    )
    exporting.add_argument("--all", action="store_true", help="also the faces already sorted, with their class as an annotation")
    exporting.add_argument(
        "--document-root",
        metavar="ROOT",
        help=f"Label Studio's {DOCUMENT_ROOT_VARIABLE}: the images' addresses are their paths from it (default: that "
        "variable if set, else the folder DIR is in)",
    )
    add_options(parser, PageSettings())
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_verbosity(args)
    folder = Path(args.folder)
    if not collection.is_collection(folder):
        raise InputError(f"{folder} is not a collection of faces (it has no {collection.MARKER}; --collect DIR makes one)")
    classes = collection.classes_of(folder)
    if not args.export and (args.tasks or args.all or args.document_root):
        raise InputError("--tasks, --all and --document-root go with --export label-studio")
    if args.export:
        return export_tasks(folder, classes, args)
    if args.import_path:
        return import_labels(folder, classes, Path(args.import_path))
    return serve(folder, args)


def serve(folder: Path, args: argparse.Namespace) -> int:
    """Serve the labelling page until Ctrl+C (or SIGTERM); every move is already on disk, so that is exit 0."""
    from maskdetect.serve.pages import serve_page

    state = LabellingPage(folder)
    unsorted = sum(1 for entry in collection.entries(folder) if entry.label is None)
    server = serve_page(state, args.serve, read_options(PageSettings(), args))
    print(f"{unsorted} face(s) to sort in {folder}; Ctrl+C ends", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print(f"moved {state.moved} face(s) on the page, {state.undone} of the moves undone", flush=True)
    return EXIT_OK


def export_tasks(folder: Path, classes: list[str], args: argparse.Namespace) -> int:
    """Write the faces as Label Studio tasks, and the labelling config of their project beside them."""
    if not args.tasks:
        raise InputError("--export label-studio needs --tasks PATH, the tasks file to write")
    tasks_path = Path(args.tasks)
    config_path = tasks_path.with_name(f"{tasks_path.stem}.config.xml")
    check_distinct([tasks_path, config_path])
    for path, ours, what in (
        (tasks_path, is_label_studio_tasks, "Label Studio tasks"),
        (config_path, _is_label_studio_config, "a labelling config"),
    ):
        check_file_output(path, inputs=[folder])
        # Anything but an empty file or this command's own output stays, whatever its kind (content_kind does
        # not know every kind: a .tar.gz or a database is "unknown").
        if path.is_file() and path.stat().st_size > 0 and not ours(path):
            raise InputError(f"refusing to write {path}: it holds other things than {what} this command wrote")
    root = Path(args.document_root or os.environ.get(DOCUMENT_ROOT_VARIABLE) or folder.resolve().parent)
    if not root.is_dir():
        raise InputError(f"the Label Studio document root {root} is no folder (--document-root)")
    found = collection.most_doubtful_first([entry for entry in collection.entries(folder) if args.all or entry.label is None])
    tasks = label_studio_tasks(found, classes, root)
    try:
        with atomic_outputs((tasks_path, ""), (config_path, "")) as (tasks_temporary, config_temporary):
            tasks_temporary.write_text(json.dumps(tasks, indent=1, allow_nan=False) + "\n", encoding="utf-8")
            config_temporary.write_text(label_studio_config(classes), encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write {tasks_path}: {error.strerror or error}") from None
    print(f"wrote {len(tasks)} task(s) to {tasks_path} and their labelling config to {config_path}")
    print(
        f"in Label Studio: start it with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and "
        f"{DOCUMENT_ROOT_VARIABLE}={root.resolve()}; in a project, paste {config_path.name} as the labelling interface, "
        f"add a Local files source storage at {folder.resolve()} (do not sync it), then import {tasks_path.name}"
    )
    return EXIT_OK


def _is_label_studio_config(path: Path) -> bool:
    try:
        return is_label_studio_config(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def import_labels(folder: Path, classes: list[str], export_path: Path) -> int:
    """Move each face into the class Label Studio's JSON export gives it, and say what was skipped and why."""
    export = _read_export(export_path)
    found = {entry.id: entry for entry in collection.entries(folder)}
    try:
        labels, skipped = label_studio_labels(export, list(found), classes)
    except InputError as error:
        raise InputError(f"{export_path}: {error}") from None
    for label in sorted({label for _, label in labels}):
        if (folder / label).exists() and not (folder / label).is_dir():
            raise InputError(f"cannot sort faces into {folder / label}: it is a file, not a class folder; no face was moved")
    moved: Counter = Counter()
    for entry_id, label in labels:
        try:
            collection.move_entry(folder, entry_id, label)
        except OSError as error:
            raise InputError(
                f"cannot move {entry_id} into {folder / label}: {error.strerror or error} "
                f"({sum(moved.values())} face(s) were sorted before it; importing again finishes the others)"
            ) from None
        moved[label] += 1
    per_class = ", ".join(f"{count} {label}" for label, count in sorted(moved.items()))
    print(f"sorted: {sum(moved.values())} face(s){f' ({per_class})' if per_class else ''}")
    for reason in (NO_ANNOTATION, UNKNOWN_CLASS, UNKNOWN_ENTRY):
        print(f"skipped, {reason}: {skipped[reason]}")
    return EXIT_OK


def _read_export(path: Path) -> object:
    """The JSON of a Label Studio export: a regular file (a FIFO or a device would never end), not huge."""
    try:
        return read_json_file(path, MAX_EXPORT_BYTES)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise InputError(f"{path} is no Label Studio JSON export: {error}") from None
