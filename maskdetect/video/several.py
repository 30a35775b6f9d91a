"""Several sources at once: one thread each, with their own tracks, counts, alerts and numbered outputs."""

import dataclasses
import threading

from maskdetect.io.outputs import check_distinct, numbered
from maskdetect.video.loop import check_video_outputs, run_video, stop_on_ctrl_c

_NUMBERED = ("output", "json_path", "snapshots", "stats_csv", "stats_plot", "heartbeat")


def source_options(options, count):
    """The options of each of ``count`` sources: numbered outputs (out.avi: out-1.avi, out-2.avi, ...), one stop."""
    if count == 1:
        return [options]
    stop = options.stop or threading.Event()
    return [
        dataclasses.replace(
            options, live_source=number - 1, stop=stop,
            **{name: str(numbered(getattr(options, name), number)) for name in _NUMBERED if getattr(options, name)},
        )
        for number in range(1, count + 1)
    ]


def check_sources(sources, options_per_source):
    """Check every source's outputs, and that no two sources write the same file."""
    for source, options in zip(sources, options_per_source):
        check_video_outputs(source, options)
    check_distinct([path for options in options_per_source for path, _ in options.file_outputs()])


def run_videos(detectors, sources, options_per_source):
    """Run several sources at once, one thread each (their outputs checked with ``check_sources``).

    Ctrl+C stops them all like the end of their videos. Returns their summaries, in source order.
    """
    summaries, errors = [None] * len(sources), []

    def run_one(number):
        try:
            summaries[number] = run_video(detectors[number], sources[number], options_per_source[number], checked=True)
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
            options_per_source[number].stop.set()

    threads = [threading.Thread(target=run_one, args=(number,), daemon=True) for number in range(len(sources))]
    with stop_on_ctrl_c(options_per_source[0].stop):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
    if errors:
        raise errors[0]
    return summaries
