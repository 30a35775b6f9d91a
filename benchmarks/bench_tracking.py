#!/usr/bin/env python3
"""Which tracker, and what tracking costs. On the test video of five people crossing a doorway (tests/crossing.py,
one passing in front of another), the faces the pipeline finds are fed to ByteTrack, SORT and OC-SORT from the
`trackers` package: ID switches per person and milliseconds per frame. Then the toolkit's FaceTracker (OC-SORT
plus the label vote) on 5 faces moving in every frame: milliseconds per frame, median of --frames frames.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import supervision as sv
import trackers
from crossing import FPS, make_crossing_video

from maskdetect.api import load_detector
from maskdetect.detect.detectors import VIDEO_DETECT_SIZE
from maskdetect.face import Face
from maskdetect.video.sources import FrameReader
from maskdetect.video.tracking import LOST_SECONDS, MIN_IOU, FaceTracker

LOST = round(LOST_SECONDS * FPS)
CANDIDATES = {
    "bytetrack": lambda: trackers.ByteTrackTracker(
        frame_rate=FPS,
        lost_track_buffer=LOST,
        minimum_consecutive_frames=2,
        minimum_iou_threshold=MIN_IOU,
        high_conf_det_threshold=0.5,
        track_activation_threshold=0.4,
    ),
    "sort": lambda: trackers.SORTTracker(
        frame_rate=FPS,
        lost_track_buffer=LOST,
        minimum_consecutive_frames=2,
        minimum_iou_threshold=MIN_IOU,
        track_activation_threshold=0.4,
    ),
    "ocsort": lambda: trackers.OCSORTTracker(
        frame_rate=FPS,
        lost_track_buffer=LOST,
        minimum_consecutive_frames=2,
        minimum_iou_threshold=MIN_IOU,
        high_conf_det_threshold=0.5,
    ),
}


def found_faces(video):
    """The faces the default pipeline finds in every frame of the video."""
    detector = load_detector(detect_size=VIDEO_DETECT_SIZE, upscale=1.0, upright=False)
    reader = FrameReader(str(video))
    faces = [detector.detect(frame) for frame in reader]
    reader.close()
    return faces


def switches(tracker, faces_per_frame, truth):
    ids, seconds = defaultdict(set), []
    for faces, in_view in zip(faces_per_frame, truth):
        if not faces:
            tracker.update(sv.Detections.empty())
            continue
        detections = sv.Detections(
            xyxy=np.array([f.box for f in faces], np.float32).reshape(-1, 4),
            confidence=np.array([f.score for f in faces], np.float32),
            class_id=np.zeros(len(faces), int),
            data={"order": np.arange(len(faces))},
        )
        started = time.perf_counter()
        tracked = tracker.update(detections)
        seconds.append(time.perf_counter() - started)
        for order, track_id in zip(tracked.data["order"], tracked.tracker_id):
            face = faces[order]
            centre = ((face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2)
            under = [n for n, b in in_view if b.x1 <= centre[0] < b.x2 and b.y1 <= centre[1] < b.y2]
            if under and track_id >= 0:
                ids[under[-1]].add(int(track_id))
    return {
        "id_switches": sum(len(found) - 1 for found in ids.values()),
        "people_tracked": len(ids),
        "ms_per_frame": round(1000 * statistics.median(seconds), 3),
    }


def five_faces_cost(frames):
    tracker, seconds = FaceTracker(FPS), []
    for index in range(frames):
        faces = [
            Face(
                20 + 120 * n + index % 50,
                100 + 10 * n,
                120 + 120 * n + index % 50,
                200 + 10 * n,
                0.9,
                label="with_mask" if n % 2 else "without_mask",
                probability=0.99,
            )
            for n in range(5)
        ]
        started = time.perf_counter()
        tracker.update(index / FPS, faces)
        seconds.append(time.perf_counter() - started)
    return round(1000 * statistics.median(seconds[10:]), 3)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1000, help="frames for the 5-face cost")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "door.avi"
        truth = make_crossing_video(video)
        faces = found_faces(video)
    results = {name: switches(make(), faces, truth) for name, make in CANDIDATES.items()}
    results["face_tracker_with_votes_5_faces_ms_per_frame"] = five_faces_cost(args.frames)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
