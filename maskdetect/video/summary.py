"""What a video run saw, counted frame by frame and printed at its end."""

import statistics
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from maskdetect.io.records import summary_record

# The summary's median FPS is over at most this many recent frames, so a day-long run stays small.
TIMED_FRAMES = 10_000


@dataclass
class VideoSummary:
    """What a run saw; ``write(result)`` counts one frame (it is a consumer like the sinks)."""

    alert_classes: set = field(default_factory=set)
    frames: int = 0
    frame_seconds: deque = field(default_factory=lambda: deque(maxlen=TIMED_FRAMES))
    faces: Counter = field(default_factory=Counter)
    unmasked_frames: int = 0
    alerts: int = 0
    not_faces: int = 0
    dropped_frames: int = 0
    interrupted: bool = False
    statistics: dict = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter, repr=False)

    def write(self, result):
        self.frames += 1
        self.faces.update(face.verdict for face in result.faces)
        self.unmasked_frames += any(face.label in self.alert_classes for face in result.faces)
        self.alerts += len(result.alerts)
        self.not_faces += result.not_faces
        finished = time.perf_counter()
        self.frame_seconds.append(finished - self._last)
        self._last = finished

    def close(self):
        """Nothing to finish: the summary is read after the run."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def median_fps(self):
        return 1.0 / statistics.median(self.frame_seconds) if self.frame_seconds else 0.0

    def as_record(self):
        return summary_record(
            {
                "frames": self.frames,
                "median_fps": round(self.median_fps, 1),
                "faces": dict(sorted(self.faces.items())),
                "frames_with_unmasked_face": self.unmasked_frames,
                "alerts": self.alerts,
                "boxes_not_faces": self.not_faces,
                "dropped_frames": self.dropped_frames,
                "interrupted": self.interrupted,
                **self.statistics,
            }
        )

    def text(self):
        faces = ", ".join(f"{count} {label}" for label, count in sorted(self.faces.items())) or "none"
        lines = [
            f"frames processed: {self.frames}",
            f"median FPS: {self.median_fps:.1f}",
            f"faces seen: {faces}",
            f"frames with an unmasked face: {self.unmasked_frames}",
            f"alerts raised: {self.alerts}",
        ]
        if self.statistics:
            people = ", ".join(f"{count} {label}" for label, count in self.statistics["people"].items() if count) or "none"
            lines.append(f"people seen: {people} (masked share {self.statistics['masked_share']})")
            if self.statistics.get("brief_detections"):
                lines.append(f"brief detections (tracks too short to count as people): {self.statistics['brief_detections']}")
        if self.not_faces:
            lines.append(f"boxes dropped as no face: {self.not_faces}")
        if self.dropped_frames:
            lines.append(f"stale frames dropped: {self.dropped_frames}")
        if self.interrupted:
            lines.append("interrupted: outputs finished with the frames so far")
        return "\n".join(lines)
