"""Collecting the faces the model was least sure of (``--collect DIR``), for a person to label and training to learn.

One entry per person: per face in photos, per confirmed track in video (a brief detection is never collected).
Of each person the frame the model was least sure of is kept. Entries are ranked by doubt, the larger of
1 - the classifier's probability on that frame and the share of the person's judged frames whose label
disagreed with their most common one, and at most ``limit`` are written a run, most doubtful first
(docs/learn_your_door.md). The folder's layout is maskdetect.io.collection's.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from maskdetect.classify.judging import NOT_A_FACE, band_name
from maskdetect.detect.align import classifier_crop
from maskdetect.errors import InputError
from maskdetect.face import Face
from maskdetect.io import collection
from maskdetect.io.redact import redacted
from maskdetect.video.tracking import LOST_SECONDS

logger = logging.getLogger(__name__)
# The context image keeps the face at most this many pixels across, as training keeps its faces
# (maskdetect.training.dataset.MAX_FACE_SIDE): more would be stored and never used.
CONTEXT_FACE_SIDE = 256
# The context image shows this many face widths around the face's centre.
CONTEXT_SPAN = 2.0
# A person not seen for this long (seconds) will not be seen again (the tracker ends a track lost for
# LOST_SECONDS): their entry is final.
FINAL_AFTER_S = 2 * LOST_SECONDS


@dataclass
class _Person:
    """What is kept of one person until the run ends: how their frames went, and their most doubtful face."""

    source: str
    track: int | None
    # In photos: the face's place among the photo's faces.
    index: int = 0
    frames: int = 0
    last_time: float = 0.0
    judged: Counter = field(default_factory=Counter)
    face_doubt: float = -1.0
    face: dict[str, Any] = field(default_factory=dict)
    face_png: bytes = b""
    context_png: bytes = b""

    @property
    def disagreement(self) -> float:
        """The share of the person's judged frames whose label was not their most common one."""
        total = sum(self.judged.values())
        return 1.0 - max(self.judged.values()) / total if total else 0.0

    @property
    def doubt(self) -> float:
        return max(self.face_doubt, self.disagreement)


class FaceCollector:
    """Keeps each person's most doubtful face as frames come (``add``); ``close`` writes the most doubtful
    ``limit`` people into the collection ``folder``. ``confirm_frames``: in video, the frames a track needs
    to be a person; None for photos, where each face is a person."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        class_names: Sequence[str],
        limit: int,
        crop_size: int,
        lower_face: bool,
        confirm_frames: int | None = None,
        model_name: str = "",
    ) -> None:
        self.folder = Path(folder)
        self.class_names = [*class_names, *([] if NOT_A_FACE in class_names else [NOT_A_FACE])]
        self.limit = limit
        self.crop_size, self.lower_face = crop_size, lower_face
        self.confirm_frames = confirm_frames
        self.model_name = model_name
        self.written = 0
        self._people: dict[tuple[str, Any], _Person] = {}
        # Each source's latest time: the sources of a run keep their own clocks.
        self._now: dict[str, float] = {}
        # In photos, once the bound is reached: the doubt a face must exceed to be kept.
        self._cutoff = -1.0
        self._stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + secrets.token_hex(2)
        # Several sources of one video run share a collector, each on its own thread.
        self._lock = threading.Lock()

    def add(
        self, source: str, image: np.ndarray, faces: Sequence[Face], when: float | None = None, frame: int | None = None
    ) -> None:
        """Take the labelled faces of one image or frame (``when``: its time in seconds, for video). In video
        faces without a track are skipped; in photos each face is a person."""
        with self._lock:
            self._add(source, image, faces, when, frame)

    def _add(self, source: str, image: np.ndarray, faces: Sequence[Face], when: float | None, frame: int | None) -> None:
        tracked = self.confirm_frames is not None
        now = self._now[source] = when if when is not None else self._now.get(source, 0.0)
        for index, face in enumerate(faces):
            if face.probability is None or (tracked and face.track_id is None):
                continue
            key = (source, face.track_id if tracked else index)
            person = self._people.get(key)
            if person is None and not tracked and 1.0 - face.probability <= self._cutoff:
                # A photo's face less doubtful than the ``limit`` kept ones would be forgotten: not even cropped.
                continue
            if person is None:
                person = self._people[key] = _Person(redacted(source), face.track_id if tracked else None, index)
            person.frames += 1
            person.last_time = now
            if face.label is not None:
                person.judged[face.label] += 1
            doubt = 1.0 - face.probability
            if doubt > person.face_doubt:
                self._keep(person, image, face, doubt, when, frame)
        if len(self._people) > 4 * self.limit:
            self._prune()

    def _keep(self, person: _Person, image: np.ndarray, face: Face, doubt: float, when: float | None, frame: int | None) -> None:
        crop = classifier_crop(image, face, self.crop_size, self.lower_face)
        context, box, landmarks = context_crop(image, face)
        person.face_doubt = doubt
        person.face_png = _png(crop)
        person.context_png = _png(context)
        person.face = {
            "time": None if when is None else round(when, 3),
            "frame": frame,
            "box": box,
            "landmarks": landmarks,
            "source_box": face.box,
            "model": {
                "file": self.model_name,
                "guess": face.guess,
                "label": face.label,
                "probability": round(1.0 - doubt, 4),
                "reason": face.reason,
                "band": band_name(face.height),
            },
        }

    def _prune(self) -> None:
        """Forget the people who can no longer make the cut: final ones below the ``limit`` most doubtful."""
        final = [key for key, person in self._people.items() if self.confirm_frames is None or self._final(key, person)]
        ranked = sorted(final, key=lambda key: -self._people[key].doubt if self._confirmed(self._people[key]) else 1.0)
        for key in ranked[self.limit :]:
            del self._people[key]
        if self.confirm_frames is None and len(ranked) >= self.limit:
            self._cutoff = self._people[ranked[self.limit - 1]].doubt

    def _final(self, key: tuple[str, Any], person: _Person) -> bool:
        """Whether a person of a video will not be seen again, by their own source's clock."""
        return self._now[key[0]] - person.last_time > FINAL_AFTER_S

    def _confirmed(self, person: _Person) -> bool:
        return person.frames >= (self.confirm_frames or 1)

    def _chosen(self) -> list[_Person]:
        """The people to write, most doubtful first."""
        people = [person for person in self._people.values() if self._confirmed(person)]
        return sorted(people, key=lambda person: -person.doubt)[: self.limit]

    def close(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        try:
            self._write_entries()
        except OSError as error:
            raise InputError(
                f"cannot write the collected faces into {self.folder} ({self.written} written): {error.strerror or error}"
            ) from None

    def _write_entries(self) -> None:
        collection.open_collection(self.folder, self.class_names)
        for rank, person in enumerate(self._chosen(), 1):
            entry_id = f"{collection.ID_PREFIX}{self._stamp}_{rank:04d}"
            record = {
                "source": person.source,
                "track": person.track,
                "person": _person_key(person, self._stamp),
                "frames": person.frames,
                "labels_seen": dict(person.judged),
                "disagreement": round(person.disagreement, 4),
                "doubt": round(person.doubt, 4),
                "rank": rank,
                "collected": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                **person.face,
            }
            collection.write_entry(self.folder, entry_id, person.face_png, person.context_png, record)
            self.written += 1
        logger.info("collected %d face(s) into %s", self.written, self.folder)
        self._people.clear()


def _person_key(person: _Person, stamp: str) -> str:
    """One key per person: PHOTO#faceN in photos; in video SOURCE@RUN#TRACK, as track IDs start again each run."""
    if person.track is None:
        return f"{person.source}#face{person.index}"
    return f"{person.source}@{stamp}#{person.track}"


def context_crop(image: np.ndarray, face: Face) -> tuple[np.ndarray, list[int], list[list[float]] | None]:
    """The face with CONTEXT_SPAN face widths around it (clipped to the image), shrunk so that the face is at most
    CONTEXT_FACE_SIDE across; with the face's box [x1, y1, x2, y2] and landmarks in the crop's pixels."""
    height, width = image.shape[:2]
    centre_x, centre_y = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
    half = CONTEXT_SPAN * max(face.width, face.height) / 2
    x1, y1 = max(0, int(centre_x - half)), max(0, int(centre_y - half))
    x2, y2 = min(width, int(np.ceil(centre_x + half))), min(height, int(np.ceil(centre_y + half)))
    factor = min(1.0, CONTEXT_FACE_SIDE / max(face.width, face.height))
    crop = image[y1:y2, x1:x2]
    if factor < 1.0:
        crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    box = [int(round((value - offset) * factor)) for value, offset in zip(face.box, (x1, y1, x1, y1))]
    landmarks = None
    if face.landmarks is not None:
        landmarks = [[round((x - x1) * factor, 1), round((y - y1) * factor, 1)] for x, y in face.landmarks]
    return crop, box, landmarks


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("cannot encode a collected face")
    return data.tobytes()
