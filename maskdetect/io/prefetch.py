"""The one way the toolkit reads ahead: an iterable drained on a background thread, or mapped on a pool.

Video frames, the faces found in them, photos and training batches all come through here, so that
reading overlaps the work on what was read, an error in the background is raised where the items
are used, and closing never hangs on a source that stopped answering.
"""

import queue
import threading
from collections import deque

# How long closing waits for the background thread, which may sit in a read of a dead stream.
JOIN_SECONDS = 2.0
_END = object()


class _Failure:
    def __init__(self, error):
        self.error = error


class Prefetch:
    """Iterates ``items`` on a background thread, up to ``ahead`` items ahead of the consumer.

    With ``newest_only`` (a live camera) the consumer always gets the newest item: an older one still
    waiting is dropped and counted in ``dropped``, so latency does not build up. Use as an iterable,
    and close it (or use it as a context manager) to stop the thread.
    """

    def __init__(self, items, ahead=1, newest_only=False):
        self.dropped = 0
        self._newest_only = newest_only
        self._queue = queue.Queue(maxsize=1 if newest_only else max(1, ahead))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(items,), daemon=True)
        self._thread.start()

    def _drain(self, items):
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_END)
        except Exception as error:  # noqa: BLE001 - raised again in the consuming thread
            self._put(_Failure(error))

    def _put(self, item):
        # Only a newer frame replaces a waiting one: the end or an error waits its turn behind the last frame.
        replaces = self._newest_only and item is not _END and not isinstance(item, _Failure)
        while not self._stopped.is_set():
            if replaces:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        return self.until(self._stopped)

    def until(self, stop):
        """The items, until they end or ``stop`` (a threading.Event) is set, even while none is coming."""
        while not stop.is_set() and not self._stopped.is_set():
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    @property
    def running(self):
        """True while the background thread is still at work (held by a dead source after close)."""
        return self._thread.is_alive()

    def close(self):
        """Stop reading ahead; waits a bounded time for the thread, which a dead source can hold."""
        self._stopped.set()
        self._thread.join(timeout=JOIN_SECONDS)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mapped_ahead(pool, function, items, ahead):
    """``function(item)`` for each item, in order, computed on ``pool`` with up to ``ahead`` items in work."""
    pending = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
