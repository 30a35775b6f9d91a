"""A photo archive on Ray Data: every photo of a folder, bucket or listing gives exactly one record.

The driver lists the photos, leaves out those a committed part already holds, and hands the rest
to a pool of Ray actors, each with one detector (one thread per model). Each actor reads the
photo's bytes itself and decodes them as the photo script does (EXIF orientation applied). The
driver writes the records in parts (JSON lines or Parquet), each written whole, then notes the
part's photos in the checkpoint: a run killed at any point and started again does only what no
committed part holds, so no photo is recorded twice and none is lost.
"""

import dataclasses
import hashlib
import json
import logging
import re
import socket
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np
from pyarrow import fs as pafs
from tqdm import tqdm

from maskdetect.cluster import DEFAULT_PART_SIZE, FORMATS, storage
from maskdetect.cluster.connect import cluster_cpus
from maskdetect.errors import InputError
from maskdetect.io.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    decode_image,
    limit_pixels,
)
from maskdetect.io.records import image_record

logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = "_checkpoint"
# Photos an actor labels per call: enough faces for one classifier batch, few enough to lose little to a fault.
BATCH_PHOTOS = 16
# Each actor asks a little less than a CPU, so that Ray Data's own small tasks always find room beside a pool
# that fills every CPU (otherwise the pipeline can wait forever: Ray issue 44687).
WORKER_CPUS = 0.9
# How long the detector actors may take to start (a node may first have to pull the package's image).
ACTOR_START_SECONDS = 300
_PART = re.compile(r"^part-([0-9a-f]{8})-\d{6,}\.(jsonl|parquet)$")
_CHECKPOINT_ENTRY = re.compile(r"^(part-[0-9a-f]{8}-\d{6,}\.(jsonl|parquet)\.done\.json|run-[0-9a-f]{8}\.started|\..*\.tmp)$")
_TEMPORARY = re.compile(r"^\..*\.tmp$")


@dataclass
class Photo:
    """One photo of the archive: its name in the records (as the input names it), and where the workers read
    it (an absolute path or a URI)."""

    path: str
    location: str


def list_archive(source):
    """The photos of ``source``, sorted: a folder or bucket prefix (searched recursively, hidden entries left
    out, by image suffix), or a listing file of one path or URI a line (relative paths: from its folder)."""
    filesystem, root = storage.filesystem(source)
    info = filesystem.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise InputError(f"{source}: no such folder, bucket or listing")
    if info.type != pafs.FileType.Directory:
        return _read_listing(source, filesystem, root)
    photos, base = [], archive_location(source)
    for entry in filesystem.get_file_info(pafs.FileSelector(root, recursive=True)):
        relative = PurePosixPath(entry.path[len(root) :].lstrip("/"))
        if entry.type != pafs.FileType.File or any(part.startswith(".") for part in relative.parts):
            continue
        if relative.suffix.lower() in IMAGE_SUFFIXES:
            photos.append(Photo(storage.join(source, *relative.parts), storage.join(base, *relative.parts)))
    return sorted(photos, key=lambda photo: photo.path)


def archive_location(source):
    """The archive's folder as every worker can open it: a URI as given, a local path made absolute; for a
    listing, the listing's folder."""
    filesystem, root = storage.filesystem(source)
    is_listing = filesystem.get_file_info(root).type == pafs.FileType.File
    if storage.is_uri(source):
        return str(source).rstrip("/").rsplit("/", 1)[0] if is_listing else str(source).rstrip("/")
    return str(Path(root).parent) if is_listing else root


def _read_listing(source, filesystem, root):
    try:
        text = storage.read_bytes(filesystem, root).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source} is neither a folder nor a listing of photos (one path a line)") from None
    base, photos = archive_location(source), {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if storage.is_uri(line):
            location = line
        else:
            location = str((Path(line) if Path(line).is_absolute() else Path(base, line)).resolve())
        # One record a photo, however the listing spells it (a/../b.jpg, ./b.jpg, /abs/b.jpg).
        photos.setdefault(location, Photo(line, location))
    if not photos:
        raise InputError(f"{source}: the listing names no photo")
    return list(photos.values())


class ResultsStore:
    """The parts of records under ``results`` and the checkpoint that says which parts are committed."""

    def __init__(self, results, checkpoint=None, format="jsonl"):
        if format not in FORMATS:
            raise InputError(f"the results format is one of {', '.join(FORMATS)}, got {format!r}")
        self.results, self.format = str(results), format
        self.checkpoint = str(checkpoint) if checkpoint else storage.join(results, CHECKPOINT_FOLDER)
        self.filesystem, self.root = storage.filesystem(self.results)
        self.checkpoint_filesystem, self.checkpoint_root = storage.filesystem(self.checkpoint)
        self.run = uuid.uuid4().hex[:8]
        self.parts_written = 0

    def check(self, owned_folders=()):
        """Refuse results that are a file, a folder of other things, or parts of the other format."""
        info = self.filesystem.get_file_info(self.root)
        if info.type == pafs.FileType.File:
            raise InputError(f"refusing to write results into {self.results}: it is a file")
        allowed = {CHECKPOINT_FOLDER, *owned_folders}
        names = [entry.base_name for entry in storage.entries(self.filesystem, self.root)]
        for name in names:
            match = _PART.match(name)
            if match and match.group(2) != self.format:
                raise InputError(f"the results in {self.results} are {match.group(2)}: run again with --format {match.group(2)}")
        for name in names:
            if not (name in allowed or _TEMPORARY.match(name) or _PART.match(name)):
                raise InputError(f"refusing to write results into {self.results}: it holds other things ({name})")
        checkpoint = self.checkpoint_filesystem.get_file_info(self.checkpoint_root)
        if checkpoint.type == pafs.FileType.File:
            raise InputError(f"refusing to use {self.checkpoint} as the checkpoint: it is a file")
        for entry in storage.entries(self.checkpoint_filesystem, self.checkpoint_root):
            if not _CHECKPOINT_ENTRY.match(entry.base_name):
                raise InputError(
                    f"refusing to use {self.checkpoint} as the checkpoint: it holds other things ({entry.base_name})"
                )

    def reconcile(self):
        """The photo locations that committed parts hold. What a killed run of this checkpoint left half done (a
        part without its checkpoint entry, temporary files) is removed first: its photos are done again. Parts
        of runs this checkpoint never saw are refused, never removed."""
        runs, entries = set(), {}
        for entry in storage.entries(self.checkpoint_filesystem, self.checkpoint_root):
            name = entry.base_name
            if _TEMPORARY.match(name):
                self.checkpoint_filesystem.delete_file(entry.path)
            elif name.startswith("run-"):
                runs.add(name[4 : -len(".started")])
            else:
                entries[name[: -len(".done.json")]] = entry.path
        parts = {}
        for entry in storage.entries(self.filesystem, self.root):
            if _TEMPORARY.match(entry.base_name):
                self.filesystem.delete_file(entry.path)
            elif _PART.match(entry.base_name):
                parts[entry.base_name] = entry.path
        strangers = sorted(name for name in parts if name not in entries and _PART.match(name).group(2) not in runs)
        if strangers:
            raise InputError(
                f"the checkpoint {self.checkpoint} does not know the parts in {self.results} ({strangers[0]}, "
                f"...): give the --checkpoint of the run that wrote them"
            )
        done = set()
        for part, path in entries.items():
            if part in parts:
                done.update(json.loads(storage.read_bytes(self.checkpoint_filesystem, path)))
            else:
                self.checkpoint_filesystem.delete_file(path)
        for name, path in parts.items():
            if name not in entries:
                logger.info("removing %s: a killed run wrote it but did not commit it", name)
                self.filesystem.delete_file(path)
        return done

    def start(self):
        """Note this run in the checkpoint before it writes any part (so that a resume knows its parts)."""
        storage.write_bytes(self.checkpoint_filesystem, storage.join(self.checkpoint_root, f"run-{self.run}.started"), b"")

    def commit(self, records, locations):
        """Write one part of ``records``, then note their photos' ``locations`` in the checkpoint."""
        name = f"part-{self.run}-{self.parts_written:06d}.{self.format}"
        storage.write_bytes(self.filesystem, storage.join(self.root, name), encode_part(records, self.format))
        storage.write_bytes(
            self.checkpoint_filesystem, storage.join(self.checkpoint_root, name + ".done.json"), json.dumps(locations).encode()
        )
        self.parts_written += 1
        return name


def encode_part(records, format):
    if format == "jsonl":
        return "".join(json.dumps(record) + "\n" for record in records).encode()
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records, schema=parquet_schema()), sink)
    return sink.getvalue().to_pybytes()


def parquet_schema():
    """The Parquet columns: the JSON-lines fields, faces as a list of structs."""
    import pyarrow as pa

    face = pa.struct(
        [
            ("box", pa.list_(pa.int32())),
            ("face_confidence", pa.float64()),
            ("label", pa.string()),
            ("probability", pa.float64()),
            ("reason", pa.string()),
            ("landmarks", pa.list_(pa.list_(pa.float64()))),
        ]
    )
    return pa.schema(
        [
            ("image", pa.string()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("faces", pa.list_(face)),
            ("sha256", pa.string()),
            ("error", pa.string()),
        ]
    )


def read_results(results):
    """Every record under ``results`` (both formats), in no particular order."""
    filesystem, root = storage.filesystem(results)
    records = []
    for entry in storage.entries(filesystem, root):
        match = _PART.match(entry.base_name)
        if not match:
            continue
        data = storage.read_bytes(filesystem, entry.path)
        if match.group(2) == "jsonl":
            records.extend(json.loads(line) for line in data.decode().splitlines() if line)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            rows = pq.read_table(pa.BufferReader(data)).to_pylist()
            records.extend(_without_empty_columns(row) for row in rows)
    return records


def _without_empty_columns(row):
    """A Parquet row as the JSON-lines record: a readable photo has no error; an unreadable one, no size or faces."""
    unreadable = row.get("error") is not None
    return {
        key: value
        for key, value in row.items()
        if not (key == "error" and not unreadable) and not (unreadable and key in ("width", "height", "faces"))
    }


class ArchiveWorker:
    """A Ray Data actor: one detector, loaded once; labels batches of photos into records."""

    def __init__(self, detector_settings, annotated=None, source=None, max_pixels=DEFAULT_MAX_PIXELS):
        """``detector_settings``: a DetectorSettings; ``annotated``: where annotated copies go (None: nowhere),
        named as inside the archive ``source`` (both absolute paths or URIs); photos above ``max_pixels`` are
        refused unread."""
        from maskdetect.draw import class_colours
        from maskdetect.pipeline import load_detector

        self.detector = load_detector(dataclasses.replace(detector_settings, classifier_threads=1, face_detector_threads=1))
        self.colours = class_colours(self.detector.class_names)
        self.annotated, self.source = annotated, source
        limit_pixels(max_pixels)
        self.node = socket.gethostname()
        try:
            import ray

            self.node = ray.get_runtime_context().get_node_id()[:12]
        except Exception:  # noqa: BLE001 - outside Ray (a test calling it directly) the host name will do
            pass
        cv2.setNumThreads(1)

    def __call__(self, batch):
        photos = [self._read(str(path), str(location)) for path, location in zip(batch["path"], batch["location"])]
        readable = [photo for photo in photos if "error" not in photo]
        self.detector.label([photo["faces"] for photo in readable])
        records = []
        for photo in photos:
            if "error" in photo:
                records.append({"image": photo["image"], "sha256": photo["sha256"], "error": photo["error"]})
                continue
            image = photo.pop("pixels")
            record = image_record(photo["image"], image.shape[1], image.shape[0], photo["faces"])
            record["sha256"] = photo["sha256"]
            if self.annotated:
                self._write_annotated(photo["location"], image, photo["faces"])
            records.append(record)
        return {
            "record": np.array([json.dumps(record) for record in records], dtype=object),
            "location": np.array([photo["location"] for photo in photos], dtype=object),
            "node": np.array([self.node] * len(records), dtype=object),
        }

    def _read(self, path, location):
        photo = {"image": path, "location": location, "sha256": None}
        try:
            filesystem, inner = storage.filesystem(location)
            data = storage.read_bytes(filesystem, inner)
            photo["sha256"] = hashlib.sha256(data).hexdigest()
            photo["pixels"] = decode_image(data, path)
            photo["faces"] = self.detector.find(photo["pixels"])
        except Exception as error:  # noqa: BLE001 - one photo that fails in any way is its record's error, not the run's
            photo.pop("pixels", None)
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            photo["error"] = message if path in message else f"cannot read {path}: {message}"
        return photo

    def _write_annotated(self, location, image, faces):
        """The annotated copy, named as the photo is inside the archive; a failure is logged, the record kept."""
        from maskdetect.draw import draw_faces

        relative = relative_name(location, self.source)
        drawn = draw_faces(image, faces, self.colours)
        ok, data = cv2.imencode(PurePosixPath(relative).suffix.lower(), drawn)
        if not ok:
            ok, data = cv2.imencode(".png", drawn)
            relative += ".png"
        try:
            filesystem, root = storage.filesystem(self.annotated)
            storage.write_bytes(filesystem, storage.join(root, *PurePosixPath(relative).parts), data.tobytes())
        except (OSError, InputError) as error:
            logger.error("cannot write the annotated copy of %s: %s", location, error)


def relative_name(location, source):
    """``location`` inside the archive at ``source``; outside it (a listing's photo from elsewhere), its whole path,
    so that no two copies share a name."""
    location, source = str(location).replace("\\", "/"), str(source or "").replace("\\", "/").rstrip("/")
    if source and location.startswith(source + "/"):
        return location[len(source) + 1 :]
    return "/".join(part for part in location.split("://")[-1].split("/") if part not in ("", ".", ".."))


@dataclass
class ArchiveSummary:
    """What a run did: photos listed, done before, done now, faces, unreadable photos, photos per node."""

    listed: int = 0
    done_before: int = 0
    recorded: int = 0
    unreadable: int = 0
    faces: Counter = field(default_factory=Counter)
    nodes: Counter = field(default_factory=Counter)
    parts: int = 0
    seconds: float = 0.0

    def text(self, results):
        faces = ", ".join(f"{count} {label}" for label, count in sorted(self.faces.items())) or "none"
        lines = [
            f"{self.listed} photos listed: {self.done_before} already recorded, {self.recorded} recorded now "
            f"({self.unreadable} unreadable) in {self.seconds:.1f} s",
            f"faces: {faces}",
        ]
        if self.nodes:
            lines.append("photos per node: " + ", ".join(f"{node} {count}" for node, count in sorted(self.nodes.items())))
        lines.append(f"results: {results} ({self.parts} new parts)")
        return "\n".join(lines)


def run_archive(
    ray,
    source,
    store,
    detector_settings,
    annotated=None,
    part_size=DEFAULT_PART_SIZE,
    workers=None,
    progress=True,
    max_pixels=DEFAULT_MAX_PIXELS,
):
    """Label every photo of ``source`` not yet in ``store`` on the cluster ``ray`` is connected to; ``workers``
    detector actors (default: one per CPU). Returns an ArchiveSummary."""
    started = time.perf_counter()
    photos = list_archive(source)
    done = store.reconcile()
    todo = [photo for photo in photos if photo.location not in done]
    summary = ArchiveSummary(listed=len(photos), done_before=len(photos) - len(todo))
    if todo:
        room = int(cluster_cpus(ray) / WORKER_CPUS)
        if workers and workers > room:
            raise InputError(f"the cluster has room for {room} detector actors of {WORKER_CPUS} CPU, not --workers {workers}")
        workers = workers or room
        store.start()
        blocks = max(1, min(len(todo) // BATCH_PHOTOS, 100 * workers))
        records = _labelled(
            ray,
            todo,
            blocks,
            workers,
            {
                "detector_settings": detector_settings,
                "annotated": annotated,
                "source": archive_location(source),
                "max_pixels": max_pixels,
            },
        )
        try:
            _drain(records, store, summary, set(done), part_size, len(photos), progress)
        except ray.exceptions.GetTimeoutError:
            raise InputError(
                f"the cluster found no room for {min(workers, blocks)} detector actors of {WORKER_CPUS} CPU "
                f"within {ACTOR_START_SECONDS} s: give fewer --workers or add nodes"
            ) from None
        except ray.exceptions.RayError as error:
            cause = getattr(error, "cause", None)
            reason = str(cause if cause is not None else error).strip().splitlines()[-1]
            raise InputError(f"the run on the cluster failed: {reason}") from None
    summary.parts = store.parts_written
    summary.seconds = time.perf_counter() - started
    return summary


def _labelled(ray, todo, blocks, workers, worker_settings):
    """The Ray Data pipeline that reads and labels the photos ``todo`` in ``blocks`` blocks on ``workers``
    ArchiveWorker actors (made with ``worker_settings``): a dataset of records, labelled as it is read."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    # Every detector starts before the first batch is handed out (so the work spreads over the nodes), and a
    # cluster without room for them is an error after this long, not a wait forever.
    context.wait_for_min_actors_s = ACTOR_START_SECONDS
    # A block holds only paths (each actor reads its photos from storage): send it to any free actor, not to
    # one on the node that holds the block, which on a small run is every block on the driver's node.
    # (Deprecated for Ray after January 2027, which will place actors' work itself; ray is pinned at 2.60.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context.execution_options.actor_locality_enabled = False
    # Blocks of at least a batch each: Ray Data joins smaller blocks into one input, which one actor takes whole.
    # Ray restarts an actor that dies and retries its block elsewhere.
    dataset = ray.data.from_items(
        [{"path": photo.path, "location": photo.location} for photo in todo], override_num_blocks=blocks
    )
    return dataset.map_batches(
        ArchiveWorker,
        fn_constructor_kwargs=worker_settings,
        batch_size=BATCH_PHOTOS,
        num_cpus=WORKER_CPUS,
        # Each actor holds its batch and the next one: its reads overlap its work, and no actor hoards blocks.
        compute=ray.data.ActorPoolStrategy(size=min(workers, blocks), max_tasks_in_flight_per_actor=2),
    )


def _drain(records, store, summary, seen, part_size, total, progress):
    """Take the records as the actors finish them; commit a part every ``part_size`` records and at the end."""
    pending, locations = [], []
    with tqdm(total=total, initial=summary.done_before, unit="photo", disable=None if progress else True, leave=False) as bar:
        for batch in records.iter_batches(batch_size=None, batch_format="numpy"):
            for text, location, node in zip(batch["record"], batch["location"], batch["node"]):
                if location in seen:  # a retried batch: its photos are recorded already
                    continue
                seen.add(location)
                record = json.loads(text)
                _count(summary, record, node)
                pending.append(record)
                locations.append(str(location))
                bar.update()
            while len(pending) >= part_size:
                store.commit(pending[:part_size], locations[:part_size])
                pending, locations = pending[part_size:], locations[part_size:]
        if pending:
            store.commit(pending, locations)


def _count(summary, record, node):
    summary.recorded += 1
    summary.nodes[str(node)] += 1
    if "error" in record:
        summary.unreadable += 1
        return
    summary.faces.update(face["label"] or face["reason"] or "not_judged" for face in record["faces"])
