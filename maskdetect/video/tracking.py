"""People across frames: faces tracked with OC-SORT (the `trackers` package), a label per person by vote.

OC-SORT was chosen by measurement (benchmarks/bench_tracking.py): on people crossing a doorway, one
passing in front of another, it kept every person's ID where ByteTrack and SORT each switched one,
at under half a millisecond per frame.

A face's own label can flicker from frame to frame on a small or turned face; a person's label
is the most common label over their last VOTE_FRAMES judged frames, and changes only when
another label wins that vote.

A track is a person once it is confirmed: it has lasted ``confirm_frames`` frames (the video script
passes ``--alert-frames``, the frames an alert needs). Shorter tracks (a hand, a half-face while a
mask goes on, someone crossing the edge of the picture) are brief detections, counted apart. Each
person keeps how long their voted label was each class, and not judged.
"""

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

# A person's label is the vote over this many of their last judged frames.
VOTE_FRAMES = 15
# A track is confirmed as a person after this many frames, unless the caller says otherwise (the video
# script confirms after --alert-frames, 10 by default).
CONFIRM_FRAMES = 10
# What a person's time not judged is counted under (their face too small, or the classifier unsure).
NOT_JUDGED = "not judged"
# A track lost for this long (seconds) is ended: the person has left.
LOST_SECONDS = 1.5
# A face continues a track only when it overlaps the track's predicted box this much (IoU): below
# it, a person leaving at the edge handed their track to one entering next to them.
MIN_IOU = 0.3


@dataclass
class Person:
    """One tracked face: who the tracker says it is, and what the votes say of them."""

    track_id: int
    first_time: float
    votes: deque = field(default_factory=lambda: deque(maxlen=VOTE_FRAMES))
    label: str | None = None
    alerting_frames: int = 0
    alerted_at: float | None = None
    # Frames in which the person was seen, and the last time; the frames an alert or a count needs.
    frames: int = 0
    last_time: float = 0.0
    confirm_frames: int = CONFIRM_FRAMES
    # Per voted label (NOT_JUDGED before any vote): seconds and frames seen with it.
    seconds: Counter = field(default_factory=Counter)
    label_frames: Counter = field(default_factory=Counter)

    @property
    def confirmed(self):
        """Whether the track has lasted long enough to be a person, not a brief detection."""
        return self.frames >= self.confirm_frames

    def seen(self, now, frame_seconds):
        """Count one frame of ``frame_seconds`` at ``now`` under the person's voted label."""
        held = self.label or NOT_JUDGED
        self.frames += 1
        self.last_time = now
        self.seconds[held] += frame_seconds
        self.label_frames[held] += 1

    def door_label(self, compliant):
        """The label a person is counted under: a class that does not comply (``compliant``: those that do)
        if their voted label held it for ``confirm_frames`` frames or more in all, the one held longest if
        several; else the judged label they held longest; None if never judged."""
        judged = {label: count for label, count in self.label_frames.items() if label != NOT_JUDGED}
        failing = {label: count for label, count in judged.items() if label not in compliant and count >= self.confirm_frames}
        chosen = failing or judged
        return max(chosen, key=lambda label: (chosen[label], label)) if chosen else None

    def vote(self, label):
        """Count one frame's label (None: too small to judge, no vote); returns the person's label."""
        if label is not None:
            self.votes.append(label)
        if self.votes:
            counts = Counter(self.votes)
            leader, count = counts.most_common(1)[0]
            if self.label is None or (leader != self.label and count > counts[self.label]):
                self.label = leader
        return self.label


class FaceTracker:
    """Gives each labelled face of each frame a person, tracked with OC-SORT; ``people`` holds everyone seen."""

    def __init__(self, frame_rate=30.0, confirm_frames=CONFIRM_FRAMES):
        from trackers import OCSORTTracker

        self._tracker = OCSORTTracker(
            frame_rate=frame_rate,
            lost_track_buffer=max(1, round(LOST_SECONDS * frame_rate)),
            high_conf_det_threshold=0.5,
            minimum_consecutive_frames=2,
            minimum_iou_threshold=MIN_IOU,
        )
        self.people = {}
        self.confirm_frames = confirm_frames
        self._frame_seconds = 1.0 / frame_rate
        self._last_now = None

    def update(self, now, faces):
        """Track the faces of the frame at ``now`` seconds: fill in each face's ``track_id`` and ``person_label``
        (None for a face the tracker has not confirmed yet); returns the people in the frame, in face order."""
        import supervision as sv

        # A frame lasts until the next one (a live source's frames come as they come), at most LOST_SECONDS.
        if self._last_now is not None and now > self._last_now:
            self._frame_seconds = min(now - self._last_now, LOST_SECONDS)
        self._last_now = now
        if not faces:
            self._tracker.update(sv.Detections.empty())
            return []
        boxes = np.array([face.box for face in faces], dtype=np.float32)
        scores = np.array([1.0 if face.score is None else face.score for face in faces], np.float32)
        detections = sv.Detections(
            xyxy=boxes, confidence=scores, class_id=np.zeros(len(faces), int), data={"order": np.arange(len(faces))}
        )
        tracked = self._tracker.update(detections)
        people = []
        for order, track_id in sorted(zip(tracked.data["order"], tracked.tracker_id)):
            if track_id < 0:
                continue
            person = self.people.get(int(track_id))
            if person is None:
                person = self.people[int(track_id)] = Person(int(track_id), now, confirm_frames=self.confirm_frames)
            face = faces[order]
            face.track_id, face.person_label = person.track_id, person.vote(face.label)
            person.seen(now, self._frame_seconds)
            people.append(person)
        return people
