"""Labelling collected faces: the page that sorts a collection into its class folders, and Label Studio's tasks
and exports for teams that label there (docs/labelling.md).

The page (LabellingPage, served by serve/pages.py behind the page token) shows the unsorted faces of a
collection (maskdetect.io.collection), most doubtful first, each with the model's guess; a key or a click
moves a face into its class folder with ``collection.move_entry``, and undo moves it back. ``label_studio_tasks``
writes the faces as Label Studio tasks with the model's guess as a prediction; ``label_studio_labels`` reads
Label Studio's JSON export back into (entry, class) pairs.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from maskdetect.classify.judging import NOT_A_FACE
from maskdetect.errors import InputError
from maskdetect.io import collection
from maskdetect.serve.pages import PageState

# Label Studio's names: the labelling config's choices and image, and the folder its local files are served from.
CHOICES_NAME, IMAGE_NAME = "label", "image"
DOCUMENT_ROOT_VARIABLE = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"
LOCAL_FILES_URL = "/data/local-files/?d="
# An entry's id in an image's file name: an upload is renamed "<8 hex>-<name>" by Label Studio.
_ENTRY_IN_NAME = re.compile(rf"({re.escape(collection.ID_PREFIX)}[A-Za-z0-9_.-]+?){re.escape(collection.FACE_SUFFIX)}$")
# Moves remembered for undo.
UNDO_DEPTH = 1000


def face_classes(classes: Sequence[str]) -> list[str]:
    """The classes a face can be sorted into by its own key (1..9), in the collection's order: all but not_a_face."""
    return [name for name in classes if name != NOT_A_FACE]


class LabellingPage(PageState):
    """A collection's unsorted faces as a page: ``/entries`` lists them with the counts per class, ``/face/N.png``
    is face N's crop, a POST to ``/move`` ({"id", "label"}) sorts a face (label null: back among the unsorted)
    and one to ``/undo`` takes the last move back."""

    title = "labelling page"

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.classes = collection.classes_of(self.folder)
        # Faces are numbered as the page first lists them, so that a picture's address holds no name from a file.
        self._ids: list[str] = []
        self._numbers: dict[str, int] = {}
        self._history: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        # What the page did: faces sorted (or put back among the unsorted) and moves undone.
        self.moved = self.undone = 0

    def json_routes(self) -> dict[str, Any]:
        return {"/entries": self.listing}

    def picture_routes(self) -> dict[str, Any]:
        return {"/face/": self.face_picture}

    def post_routes(self) -> dict[str, Any]:
        return {"/move": self.move, "/undo": self.undo}

    def html(self) -> str:
        return _page(self.folder.resolve().name, self.classes)

    def _number(self, entry_id: str) -> int:
        if entry_id not in self._numbers:
            self._numbers[entry_id] = len(self._ids)
            self._ids.append(entry_id)
        return self._numbers[entry_id]

    def listing(self) -> dict[str, Any]:
        """The unsorted faces, most doubtful first, and how many faces each class folder holds."""
        with self._lock:
            found = collection.entries(self.folder)
            counts = Counter(entry.label for entry in found)
            unsorted = [self._tile(entry) for entry in collection.most_doubtful_first([e for e in found if e.label is None])]
            return {
                "classes": face_classes(self.classes),
                "not_a_face": NOT_A_FACE if NOT_A_FACE in self.classes else None,
                "counts": {"unsorted": counts[None], **{name: counts[name] for name in self.classes}},
                "unsorted": unsorted,
            }

    def _tile(self, entry: collection.Entry) -> dict[str, Any]:
        record = entry.record
        model = _mapping(record, "model")
        return {
            "number": self._number(entry.id),
            "id": entry.id,
            "guess": _text(model.get("guess")),
            "label": _text(model.get("label")),
            "probability": _number(model.get("probability")),
            "reason": _text(model.get("reason")),
            "band": _text(model.get("band")),
            "doubt": _number(record.get("doubt")),
            "source": _text(record.get("source")),
            "time": _number(record.get("time")),
            "frame": record.get("frame") if isinstance(record.get("frame"), int) else None,
            "collected": _text(record.get("collected")),
        }

    def face_picture(self, number: int) -> bytes | None:
        """Face ``number``'s crop (PNG), wherever it is now; None for a number never listed or a face gone."""
        with self._lock:
            if number >= len(self._ids):
                return None
            entry_id = self._ids[number]
        for place in [self.folder, *(self.folder / name for name in self.classes)]:
            try:
                return (place / f"{entry_id}{collection.FACE_SUFFIX}").read_bytes()
            except OSError:
                continue
        return None

    def move(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Sort face ``body["id"]`` into the class ``body["label"]`` (None: among the unsorted faces again)."""
        entry_id, label = body.get("id"), body.get("label")
        if label is not None and label not in self.classes:
            return 400, {"error": f"no class {str(label)[:100]!r} here; the classes are {', '.join(self.classes)}"}
        with self._lock:
            status, answer = self._move(entry_id, label)
            if status == 200 and answer["previous"] != label:
                self._history = [*self._history, (answer["id"], answer["previous"])][-UNDO_DEPTH:]
                self.moved += 1
            return status, answer

    def undo(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Move the face moved last back to where it was."""
        with self._lock:
            if not self._history:
                return 409, {"error": "nothing to undo"}
            entry_id, previous = self._history[-1]
            status, answer = self._move(entry_id, previous)
            if status == 200:
                self._history.pop()
                self.undone += 1
            return status, answer

    def _move(self, entry_id: Any, label: str | None) -> tuple[int, dict[str, Any]]:
        # Ids come from the client: only the id of an entry the collection holds now goes on, never the client's text.
        current = (
            next((e for e in collection.entries(self.folder) if e.id == entry_id), None) if isinstance(entry_id, str) else None
        )
        if current is None:
            return 404, {"error": f"no collected face {str(entry_id)[:100]!r} in this collection"}
        if current.label != label:
            try:
                collection.move_entry(self.folder, current.id, label)
            except (InputError, OSError) as error:
                return 409, {"error": f"could not move {current.id}: {error}"}
        return 200, {"id": current.id, "label": label, "previous": current.label}


def _mapping(record: dict[str, Any], key: str) -> dict[str, Any]:
    """``record[key]`` when it is a JSON object, else an empty one (records come from files and clients)."""
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _items(record: dict[str, Any], key: str) -> list[Any]:
    """``record[key]`` when it is a JSON list, else an empty one."""
    value = record.get(key)
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    """A finite number of a record, else None (JSON has no NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


# What label_studio_config writes, whatever the classes: only such a file may be replaced by another.
_CONFIG = re.compile(
    rf'<View>\n  <Image name="{IMAGE_NAME}" value="\${IMAGE_NAME}"/>\n'
    rf'  <Choices name="{CHOICES_NAME}" toName="{IMAGE_NAME}" choice="single" showInline="true">\n'
    r'(?:    <Choice value="[^"<>]*"/>\n)*  </Choices>\n</View>\n'
)


def is_label_studio_config(text: str) -> bool:
    """Whether ``text`` is a labelling config ``label_studio_config`` wrote (an output it may replace)."""
    return bool(_CONFIG.fullmatch(text))


def label_studio_config(classes: Sequence[str]) -> str:
    """The labelling config of a Label Studio project for a collection: the face, and one choice per class."""
    choices = "\n".join(f'    <Choice value="{html.escape(name)}"/>' for name in classes)
    return (
        f'<View>\n  <Image name="{IMAGE_NAME}" value="${IMAGE_NAME}"/>\n'
        f'  <Choices name="{CHOICES_NAME}" toName="{IMAGE_NAME}" choice="single" showInline="true">\n'
        f"{choices}\n  </Choices>\n</View>\n"
    )


def local_files_url(path: Path, document_root: Path) -> str:
    """The address Label Studio serves ``path`` at from its local files (``LOCAL_FILES_URL`` + the path from its
    document root)."""
    try:
        relative = path.resolve().relative_to(document_root.resolve())
    except ValueError:
        raise InputError(f"{path} is not inside the Label Studio document root {document_root} (--document-root)") from None
    return LOCAL_FILES_URL + quote(relative.as_posix(), safe="/")


def label_studio_tasks(entries: Sequence[collection.Entry], classes: Sequence[str], document_root: Path) -> list[dict[str, Any]]:
    """Label Studio tasks of ``entries``: each face as a local file, the model's guess and probability as a
    prediction, and the class of a face already sorted as an annotation."""
    tasks = []
    for number, entry in enumerate(entries, 1):
        model = _mapping(entry.record, "model")
        data = {
            IMAGE_NAME: local_files_url(entry.face_image, document_root),
            "maskdetect_id": entry.id,
            "source": _text(entry.record.get("source")),
            "doubt": _number(entry.record.get("doubt")),
        }
        task: dict[str, Any] = {"id": number, "data": data}
        guess, probability = model.get("guess"), _number(model.get("probability"))
        if isinstance(guess, str) and guess in classes:
            prediction: dict[str, Any] = {"model_version": str(model.get("file") or "maskdetect")}
            if probability is not None:
                prediction["score"] = probability
            task["predictions"] = [{**prediction, "result": [_choice(guess)]}]
        if entry.label is not None:
            task["annotations"] = [{"result": [_choice(entry.label)], "was_cancelled": False}]
        tasks.append(task)
    return tasks


def _choice(name: str) -> dict[str, Any]:
    return {"from_name": CHOICES_NAME, "to_name": IMAGE_NAME, "type": "choices", "value": {"choices": [name]}}


# The keys of the tasks label_studio_tasks writes, and of their annotations. Label Studio's own export of those
# tasks has more (who annotated, when, the project...): it holds a person's work, and is never replaced.
_TASK_KEYS = {"id", "data", "predictions", "annotations"}
_ANNOTATION_KEYS = {"result", "was_cancelled"}


def is_label_studio_tasks(path: Path) -> bool:
    """Whether ``path`` holds tasks ``label_studio_tasks`` wrote (an output it may replace), not Label Studio's
    export of them."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(tasks, list) and all(
        isinstance(task, dict)
        and set(task) <= _TASK_KEYS
        and isinstance(task.get("data"), dict)
        and "maskdetect_id" in task["data"]
        and all(
            isinstance(annotation, dict) and set(annotation) <= _ANNOTATION_KEYS for annotation in _items(task, "annotations")
        )
        for task in tasks
    )


# Why a task of an export sorted no face.
NO_ANNOTATION, UNKNOWN_CLASS, UNKNOWN_ENTRY = "no annotation", "unknown class", "unknown entry"


def label_studio_labels(export: Any, entry_ids: Sequence[str], classes: Sequence[str]) -> tuple[list[tuple[str, str]], Counter]:
    """(entry id, class) for each task of a Label Studio JSON export that a person labelled with one class of the
    collection, from its latest annotation not cancelled; and how many tasks were skipped, by reason."""
    if not isinstance(export, list) or not all(isinstance(task, dict) for task in export):
        raise InputError("not a Label Studio JSON export: it is a list of tasks (Export > JSON)")
    known, labels, skipped = set(entry_ids), [], Counter[str]()
    for task in export:
        entry_id = _task_entry(task)
        choices = _latest_choices(task)
        if entry_id not in known:
            skipped[UNKNOWN_ENTRY] += 1
        elif choices is None:
            skipped[NO_ANNOTATION] += 1
        elif len(set(choices)) != 1 or choices[0] not in classes:
            skipped[UNKNOWN_CLASS] += 1
        else:
            labels.append((entry_id, choices[0]))
    return labels, skipped


def _task_entry(task: dict[str, Any]) -> str | None:
    """The entry a task shows: its data's maskdetect_id, else the entry named by its image's file name."""
    data = _mapping(task, "data")
    if isinstance(data.get("maskdetect_id"), str):
        return data["maskdetect_id"]
    image = data.get(IMAGE_NAME)
    if not isinstance(image, str):
        return None
    parts = urlsplit(image)
    name = unquote(parts.query.rpartition("=")[2] if parts.path.endswith("/local-files/") else parts.path).rpartition("/")[2]
    found = _ENTRY_IN_NAME.search(name)
    return found.group(1) if found else None


def _latest_choices(task: dict[str, Any]) -> list[str] | None:
    """The choices of a task's latest annotation that was not cancelled (None: there is none, or it chose nothing)."""
    annotations = [
        annotation
        for annotation in _items(task, "annotations")
        if isinstance(annotation, dict) and not annotation.get("was_cancelled")
    ]
    # Label Studio's times are ISO 8601 in one zone, so they sort as text; without them the list's order counts.
    ordered = sorted(
        enumerate(annotations), key=lambda item: (str(item[1].get("updated_at") or item[1].get("created_at") or ""), item[0])
    )
    if not ordered:
        return None
    for result in _items(ordered[-1][1], "result"):
        if isinstance(result, dict) and result.get("type") == "choices":
            choices = _items(_mapping(result, "value"), "choices")
            if choices:
                return [str(choice) for choice in choices]
    return None


def _page(name: str, classes: Sequence[str]) -> str:
    return _PAGE.replace("{{title}}", html.escape(f"Mask detector: labelling {name}")).replace(
        "{{classes}}", html.escape(", ".join(classes))
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
<style>
body { font-family: sans-serif; margin: 0; background: #f4f4f4; }
header { position: sticky; top: 0; z-index: 1; background: #263238; color: white; padding: .5em 1em; }
h1 { font-size: 1.15em; margin: 0 1em .2em 0; display: inline-block; }
#counts span { margin-right: 1.2em; white-space: nowrap; }
#keys { font-size: .85em; opacity: .85; }
#status { font-size: .85em; color: #ffcc80; min-height: 1.2em; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .8em; padding: 1em; }
.tile { background: white; padding: .4em; border: 3px solid transparent; border-radius: 4px; box-shadow: 0 1px 3px #0003; }
.tile.selected { border-color: #1976d2; }
.tile img { display: block; width: 100%; height: 150px; object-fit: contain; background: #222; }
.guess { font-weight: bold; margin-top: .3em; }
.meta { font-size: .78em; color: #555; overflow-wrap: anywhere; }
.buttons button { font-size: .78em; margin: .2em .2em 0 0; padding: .1em .35em; cursor: pointer; }
.buttons button.guessed { font-weight: bold; border-color: #1976d2; }
#empty { padding: 1em; }
</style></head>
<body><header><h1>{{title}}</h1><span id="counts"></span>
<div id="keys"></div><div id="status" role="status"></div></header>
<main id="grid" aria-label="faces to sort into: {{classes}}"></main>
<p id="empty" hidden>Every face is sorted.</p>
<script>
const grid = document.getElementById("grid");
const tiles = new Map(), moving = new Set();
let classes = [], notAFace = null, order = [], selected = 0, pending = Promise.resolve();

function say(text) { document.getElementById("status").textContent = text; }

function keyOf(name) {
  const index = classes.indexOf(name);
  return index >= 0 && index < 9 ? String(index + 1) : name === notAFace ? "0" : "";
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function makeTile(entry) {
  const tile = element("div", "tile");
  tile.dataset.id = entry.id;
  const image = element("img");
  image.src = `/face/${entry.number}.png`;
  image.alt = `face ${entry.id}`;
  tile.append(image);
  const chance = entry.probability === null ? "" : ` ${Math.round(entry.probability * 100)}%`;
  tile.append(element("div", "guess", `${entry.guess ?? "no guess"}${chance}`));
  const judged = entry.label === null ? `not judged${entry.reason ? ` (${entry.reason})` : ""}` : "judged";
  const doubt = entry.doubt === null ? "" : `, doubt ${entry.doubt.toFixed(2)}`;
  tile.append(element("div", "meta", `${judged}${doubt}${entry.band ? `, ${entry.band}` : ""}`));
  const collected = (entry.collected ?? "").replace("T", " ").replace(/:\\d\\dZ$/, " UTC");
  const when = entry.time !== null ? `at ${entry.time.toFixed(1)} s` : collected;
  tile.append(element("div", "meta", `${entry.source ?? ""} ${when}`));
  const buttons = element("div", "buttons");
  for (const name of [...classes, ...(notAFace ? [notAFace] : [])]) {
    const button = element("button", "", `${keyOf(name)} ${name}`.trim());
    button.type = "button";
    button.dataset.label = name;
    if (name === entry.guess) button.classList.add("guessed");
    button.addEventListener("click", () => { select(order.indexOf(entry.id)); sortSelected(name); });
    buttons.append(button);
  }
  tile.append(buttons);
  tile.addEventListener("click", event => { if (event.target.tagName !== "BUTTON") select(order.indexOf(entry.id)); });
  return tile;
}

function render(data) {
  classes = data.classes;
  notAFace = data.not_a_face;
  const shown = data.unsorted.filter(entry => !moving.has(entry.id));
  order = shown.map(entry => entry.id);
  for (const [id, tile] of tiles) if (!order.includes(id)) tile.remove();
  for (const entry of shown) {
    if (!tiles.has(entry.id)) tiles.set(entry.id, makeTile(entry));
    grid.append(tiles.get(entry.id));
  }
  const counts = document.getElementById("counts");
  counts.replaceChildren(...Object.entries(data.counts).map(([name, count]) => element("span", "", `${name}: ${count}`)));
  const keys = classes.slice(0, 9).map((name, index) => `${index + 1} ${name}`);
  if (notAFace) keys.push(`0 or n ${notAFace}`);
  keys.push("u, Backspace or Ctrl+Z undo", "arrows or Tab choose a face");
  document.getElementById("keys").textContent = keys.join(" \\u00b7 ");
  document.getElementById("empty").hidden = order.length > 0;
  select(selected);
}

function select(index) {
  selected = Math.max(0, Math.min(index, order.length - 1));
  for (const tile of grid.children) tile.classList.toggle("selected", tile.dataset.id === order[selected]);
  const tile = tiles.get(order[selected]);
  if (tile) tile.scrollIntoView({block: "nearest"});
}

function columns() {
  const shown = [...grid.children];
  return Math.max(1, shown.filter(tile => tile.offsetTop === shown[0].offsetTop).length);
}

async function load() {
  const response = await fetch("/entries", {cache: "no-store"});
  if (!response.ok) throw new Error(`the page's server answered ${response.status}`);
  render(await response.json());
}

async function post(route, body) {
  const response = await fetch(route, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({error: `the page's server answered ${response.status}`}));
  if (!response.ok) throw new Error(answer.error);
  return answer;
}

// Actions run one after another, so that keys pressed quickly are all kept, in order.
function queue(action) {
  pending = pending.then(action).then(load).catch(error => { say(String(error.message || error)); return load(); });
  return pending;
}

function sortSelected(label) {
  const id = order[selected];
  if (id === undefined) return;
  moving.add(id);
  order.splice(selected, 1);
  tiles.get(id).remove();
  select(selected);
  queue(async () => {
    try {
      const answer = await post("/move", {id, label});
      say(`${answer.id}: ${answer.label ?? "unsorted"}`);
    } finally {
      moving.delete(id);
    }
  });
}

function undo() {
  queue(async () => {
    const answer = await post("/undo", {});
    say(`undone: ${answer.id} is ${answer.label ?? "unsorted"} again`);
    await load();
    if (order.includes(answer.id)) select(order.indexOf(answer.id));
  });
}

document.addEventListener("keydown", event => {
  if (event.altKey || event.metaKey) return;
  const key = event.key;
  if ((event.ctrlKey && key.toLowerCase() === "z") || (!event.ctrlKey && (key === "u" || key === "Backspace"))) undo();
  else if (event.ctrlKey) return;
  else if (/^[1-9]$/.test(key) && classes[Number(key) - 1]) sortSelected(classes[Number(key) - 1]);
  else if ((key === "0" || key === "n") && notAFace) sortSelected(notAFace);
  else if (key === "ArrowRight" || (key === "Tab" && !event.shiftKey)) select(selected + 1);
  else if (key === "ArrowLeft" || (key === "Tab" && event.shiftKey)) select(selected - 1);
  else if (key === "ArrowDown") select(selected + columns());
  else if (key === "ArrowUp") select(selected - columns());
  else return;
  event.preventDefault();
});

queue(async () => {});
</script></body></html>
"""
