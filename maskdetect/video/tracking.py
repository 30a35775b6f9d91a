"""People across frames: faces tracked with OC-SORT (the `trackers` package), a label per person by vote.

OC-SORT was chosen by measurement (benchmarks/bench_tracking.py): on people crossing a doorway, one
passing in front of another, it kept every person's ID where ByteTrack and SORT each switched one,
at under half a millisecond per frame.

A face's own label can flicker from frame to frame on a small or turned face; a person's label
is the most common label over their last VOTE_FRAMES judged frames, and changes only when
another label wins that vote.
"""

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

# A person's label is the vote over this many of their last judged frames.
VOTE_FRAMES = 15
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

    def __init__(self, frame_rate=30.0):
        from trackers import OCSORTTracker

        self._tracker = OCSORTTracker(
            frame_rate=frame_rate,
            lost_track_buffer=max(1, round(LOST_SECONDS * frame_rate)),
            high_conf_det_threshold=0.5,
            minimum_consecutive_frames=2,
            minimum_iou_threshold=MIN_IOU,
        )
        self.people = {}

    def update(self, now, faces):
        """Track the faces of the frame at ``now`` seconds: fill in each face's ``track_id`` and ``person_label``
        (None for a face the tracker has not confirmed yet); returns the people in the frame, in face order."""
        import supervision as sv

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
                person = self.people[int(track_id)] = Person(int(track_id), now)
            face = faces[order]
            face.track_id, face.person_label = person.track_id, person.vote(face.label)
            people.append(person)
        return people
