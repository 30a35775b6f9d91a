"""Several sources at once: one thread each, with their own tracks, counts, alerts and numbered outputs."""

import dataclasses
import threading

from maskdetect.io.outputs import check_distinct, numbered
from maskdetect.video.loop import SourceLinks, check_video_outputs, file_outputs_of, run_video, stop_on_ctrl_c

_NUMBERED = ("output", "json_path", "snapshots", "stats_csv", "stats_plot", "heartbeat")


def numbered_settings(settings, count):
    """The settings of each of ``count`` sources: numbered outputs (out.avi: out-1.avi, out-2.avi, ...)."""
    if count == 1:
        return [settings]
    return [
        dataclasses.replace(
            settings,
            **{name: str(numbered(getattr(settings, name), number)) for name in _NUMBERED if getattr(settings, name)},
        )
        for number in range(1, count + 1)
    ]


def check_sources(sources, settings_per_source):
    """Check every source's outputs, and that no two sources write the same file."""
    for source, settings in zip(sources, settings_per_source):
        check_video_outputs(source, settings)
    check_distinct([path for settings in settings_per_source for path, _ in file_outputs_of(settings)])


def run_sources(detectors, sources, settings_per_source, links_per_source):
    """Run several sources at once, one thread each (their outputs checked with ``check_sources``; their
    links sharing one stop). Ctrl+C stops them all like the end of their videos. Returns their summaries,
    in source order."""
    summaries, errors = [None] * len(sources), []
    stop = links_per_source[0].stop

    def run_one(number):
        try:
            summaries[number] = run_video(
                detectors[number], sources[number], settings_per_source[number], links_per_source[number], checked=True
            )
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=run_one, args=(number,), daemon=True) for number in range(len(sources))]
    with stop_on_ctrl_c(stop):
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
    if errors:
        raise errors[0]
    return summaries


def links_for(count, live=None, events=None, collector=None):
    """The links of each of ``count`` sources: its number on the live page ``live``, its MQTT publisher (one
    per source in ``events``, or none), and one face collector and one stop for them all."""
    stop = threading.Event()
    return [
        SourceLinks(
            live=live,
            live_source=number,
            events=None if events is None else events[number],
            collector=collector,
            stop=stop,
        )
        for number in range(count)
    ]
