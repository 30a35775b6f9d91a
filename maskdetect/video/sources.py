"""Video sources: webcams, files, devices, image sequences, pipelines and streams, read on a background thread."""

import threading
import time
from pathlib import Path

import cv2

from maskdetect.errors import InputError
from maskdetect.io.prefetch import Prefetch
from maskdetect.io.redact import redacted

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
            raise InputError(f"video source {source}: a webcam index is 0 to {MAX_CAMERA_INDEX}")
        return int(source)
    return source


def is_file_source(source):
    return isinstance(parse_source(source), str) and Path(source).is_file()


# How long opening a source may take: a FIFO nobody writes to, or a server that never answers, would
# otherwise hold the run forever. Streams also give up a read that waits this long.
DEFAULT_OPEN_TIMEOUT_S = 10.0
STREAM_GRACE_S = 5.0


def open_capture(source, timeout=DEFAULT_OPEN_TIMEOUT_S):
    """An opened cv2.VideoCapture of ``source``, or InputError after ``timeout`` seconds. The open runs on a
    background thread, so that Ctrl+C stops the wait at once."""
    parsed = parse_source(source)
    opened, done = [], threading.Event()

    def open_it():
        try:
            if isinstance(parsed, str) and "://" in parsed:
                milliseconds = int(timeout * 1000)
                capture = cv2.VideoCapture(
                    parsed,
                    cv2.CAP_ANY,
                    [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, milliseconds, cv2.CAP_PROP_READ_TIMEOUT_MSEC, milliseconds],
                )
            else:
                capture = cv2.VideoCapture(parsed)
            opened.append(capture)
        except cv2.error as error:
            opened.append(error)
        finally:
            done.set()

    threading.Thread(target=open_it, daemon=True, name=f"open {redacted(source)}").start()
    # A stream's own timeout ends its open first (a thread left inside FFmpeg at exit aborts the process).
    deadline = time.monotonic() + timeout + (STREAM_GRACE_S if isinstance(parsed, str) and "://" in parsed else 0.0)
    while not done.wait(0.1):
        if time.monotonic() > deadline:
            raise InputError(f"cannot open video source {redacted(source)!r}: nothing came within {timeout:g} s (--open-timeout)")
    capture = opened[0]
    if isinstance(capture, cv2.error) or not capture.isOpened():
        raise InputError(f"cannot open video source {redacted(source)!r}")
    return capture


class FrameReader:
    """Reads frames on a background thread so that capture overlaps inference.

    A file keeps every frame. A live source (camera, stream) keeps only the newest
    frame, so latency does not build up when inference is slower than the camera.
    """

    def __init__(self, source, open_timeout=DEFAULT_OPEN_TIMEOUT_S):
        self.source = source
        self.is_file = is_file_source(source)
        self._capture = open_capture(source, open_timeout)
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
