"""Frame sources: a live source gives the newest frames, a file every frame, a failing capture ends the run."""

import time

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _numbered_frames(folder, count):
    """PNG frames whose first two pixels spell their index exactly."""
    for index in range(count):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[0, 0], frame[0, 1] = index // 256, index % 256
        cv2.imwrite(str(folder / f"f_{index:04d}.png"), frame)
    return str(folder / "f_%04d.png")


def test_a_live_source_yields_the_newest_frames_when_inference_is_slow(tmp_path):
    from maskdetect.video.sources import FrameReader

    reader = FrameReader(_numbered_frames(tmp_path, 300))
    assert not reader.is_file
    seen = []
    for frame in reader:
        seen.append(int(frame[0, 0, 0]) * 256 + int(frame[0, 1, 0]))
        time.sleep(0.05)  # a slow classifier
    reader.close()
    assert seen == sorted(seen) and len(seen) < 150
    assert reader.dropped > 0 and seen[-1] >= 290
    assert any(b - a > 1 for a, b in zip(seen, seen[1:])), "stale frames were skipped"


def test_a_video_file_keeps_every_frame(tmp_path, video):
    from maskdetect.video.sources import FrameReader

    reader = FrameReader(video)
    count = sum(1 for _ in reader)
    reader.close()
    assert reader.is_file and count == 50 and reader.dropped == 0


def test_a_failing_capture_ends_the_run_instead_of_hanging(monkeypatch, video):
    import maskdetect.video.sources as video_module

    class Failing:
        def __init__(self, source):
            self.reads = 0

        def isOpened(self):  # noqa: N802 - the name cv2.VideoCapture has
            return True

        def get(self, prop):
            return 10.0

        def read(self):
            self.reads += 1
            if self.reads > 3:
                raise RuntimeError("camera unplugged")
            return True, np.zeros((48, 64, 3), np.uint8)

        def release(self):
            pass

    monkeypatch.setattr(video_module.cv2, "VideoCapture", Failing)
    reader = video_module.FrameReader(str(video))
    assert sum(1 for _ in reader) == 3
    reader.close()
    assert "unplugged" in str(reader.error)
