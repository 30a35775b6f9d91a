"""Video sources: webcams, files, devices, image sequences, pipelines and streams, read on a background thread."""

import time
from pathlib import Path

import cv2

from maskdetect.errors import InputError
from maskdetect.io.prefetch import Prefetch

# A camera or stream may miss a few reads before it truly ends.
STREAM_READ_RETRIES = 20
# A file's frames are read this many ahead of the detector.
FILE_FRAMES_AHEAD = 4


# OpenCV takes camera indexes below this (it adds its backends' codes in thousands to the index).
MAX_CAMERA_INDEX = 9999


def parse_source(source):
    """A webcam index ('0') as an int; a file path, device, pipeline, image sequence or URL as given."""
    source = str(source)
    if not source:
        raise InputError("an empty video source: give a webcam index, a file or a stream URL")
    if source.isascii() and source.isdigit():
        if int(source) > MAX_CAMERA_INDEX:
            raise InputError(f"a webcam index is 0 to {MAX_CAMERA_INDEX}, got {source}")
        return int(source)
    return source


def is_file_source(source):
    return isinstance(parse_source(source), str) and Path(source).is_file()


class FrameReader:
    """Reads frames on a background thread so that capture overlaps inference.

    A file keeps every frame. A live source (camera, stream) keeps only the newest
    frame, so latency does not build up when inference is slower than the camera.
    """

    def __init__(self, source):
        self.source = source
        self.is_file = is_file_source(source)
        self._capture = cv2.VideoCapture(parse_source(source))
        if not self._capture.isOpened():
            raise InputError(f"cannot open video source {source!r}")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else None
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) if self.is_file else 0
        self.frame_count = count if count > 0 else None
        self.error = None
        self._ahead = Prefetch(self._read_all(), ahead=FILE_FRAMES_AHEAD, newest_only=not self.is_file)

    @property
    def dropped(self):
        """Stale frames of a live source dropped so far."""
        return self._ahead.dropped

    def _read_all(self):
        failures = 0
        try:
            while True:
                ok, frame = self._capture.read()
                if not ok or frame is None:
                    failures += 1
                    if self.is_file or failures > STREAM_READ_RETRIES:
                        return
                    time.sleep(0.05)
                    continue
                failures = 0
                yield frame
        except Exception as error:  # noqa: BLE001 - any failure of the capture ends the stream
            self.error = error

    def frames(self, stop):
        """The frames, until the source ends or ``stop`` (a threading.Event) is set."""
        return self._ahead.until(stop)

    def __iter__(self):
        return iter(self._ahead)

    def close(self):
        """Stop reading; waits a bounded time for the reader, which a dead stream can hold in read()."""
        self._ahead.close()
        if not self._ahead.running:
            self._capture.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
