"""Compliance statistics of a video run: unique people per class, the compliant share, per minute.

A person counts once their track is confirmed (maskdetect.video.tracking: it lasted as long as an
alert needs); shorter tracks count apart, as brief detections. A person counts under the label of
the door rule (``Person.door_label``): a class that does not comply if their voted label held it for
as long as an alert needs, in all; else the judged label they held longest. People never judged
(their face stayed too small, or the classifier unsure) count apart. Compliant means a mask worn
right (``with_mask``): an incorrectly worn mask is not compliant unless the run says so (``compliant``).
"""

import csv
import io
from collections import Counter

from maskdetect.io.atomic import atomic_output
from maskdetect.video.tracking import NOT_JUDGED

MASKED = "with_mask"
UNJUDGED = NOT_JUDGED
# Class names that mean a mask worn right, whatever a model calls it.
_MASKED_NAMES = {"with_mask", "mask", "masked", "mask_on", "with_mask_correct"}


def compliant_classes(class_names):
    """The classes that comply by default: a mask worn right (with_mask, mask, ...), by name."""
    return [name for name in class_names if name.lower().replace("-", "_") in _MASKED_NAMES]


def non_compliant_classes(class_names, compliant=None):
    """The classes that do not comply (``compliant``: the ones that do, default compliant_classes)."""
    compliant = compliant_classes(class_names) if compliant is None else compliant
    return [name for name in class_names if name not in compliant]


def people_counts(people, class_names, compliant=None):
    """{"people", "masked_share", "brief_detections"}: unique confirmed people per class (and not judged), the
    share of judged people who comply (``compliant``: the classes that do, default compliant_classes), and the
    tracks too short to be a person."""
    compliant = compliant_classes(class_names) if compliant is None else compliant
    people = list(people)
    confirmed = [person for person in people if person.confirmed]
    overall = Counter(person.door_label(compliant) or UNJUDGED for person in confirmed)
    return {
        "people": {name: overall[name] for name in [*class_names, UNJUDGED]},
        "masked_share": _compliant_share(overall, compliant),
        "brief_detections": len(people) - len(confirmed),
    }


def person_records(people, class_names, compliant=None):
    """A record per confirmed person, in the order they came: their track, the label they count under, when
    they were first and last seen, and the seconds their voted label was each class and not judged."""
    compliant = compliant_classes(class_names) if compliant is None else compliant
    return [
        {
            "track_id": person.track_id,
            "label": person.door_label(compliant),
            "first_time": round(person.first_time, 3),
            "last_time": round(person.last_time, 3),
            "frames": person.frames,
            "seconds": {name: round(float(person.seconds[name]), 3) for name in [*class_names, UNJUDGED]},
        }
        for person in sorted(people, key=lambda person: (person.first_time, person.track_id))
        if person.confirmed
    ]


def people_statistics(people, class_names, compliant=None):
    """people_counts, plus "per_minute": the same by the minute each person arrived (Person.first_time)."""
    compliant = compliant_classes(class_names) if compliant is None else compliant
    classes = [*class_names, UNJUDGED]
    people = list(people)
    minutes = {}
    for person in people:
        if person.confirmed:
            minutes.setdefault(int(person.first_time // 60), Counter())[person.door_label(compliant) or UNJUDGED] += 1
    per_minute = [
        {"minute": minute, **{name: counts[name] for name in classes}, "masked_share": _compliant_share(counts, compliant)}
        for minute, counts in sorted(minutes.items())
    ]
    return {
        **people_counts(people, class_names, compliant),
        "per_minute": per_minute,
        "persons": person_records(people, class_names, compliant),
    }


def _compliant_share(counts, compliant):
    judged = sum(count for name, count in counts.items() if name != UNJUDGED)
    return round(sum(counts[name] for name in compliant) / judged, 4) if judged else None


def write_statistics_csv(statistics, path):
    """One row per minute and a last row for the whole run, written atomically."""
    classes = list(statistics["people"])
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["minute", *classes, "masked_share"])
    for row in statistics["per_minute"]:
        writer.writerow([row["minute"], *(row[name] for name in classes), row["masked_share"]])
    writer.writerow(["all", *statistics["people"].values(), statistics["masked_share"]])
    with atomic_output(path, ".csv") as temporary:
        temporary.write_text(text.getvalue(), encoding="utf-8")


def save_statistics_plot(statistics, path):
    """People per class per minute (stacked bars) and the masked share, as a PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = statistics["per_minute"]
    minutes = [row["minute"] for row in rows]
    figure, (people_axes, share_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    bottom = [0] * len(rows)
    colours = {MASKED: "tab:green", "without_mask": "tab:red", "mask_weared_incorrect": "tab:orange", UNJUDGED: "tab:gray"}
    for name in statistics["people"]:
        counts = [row[name] for row in rows]
        people_axes.bar(minutes, counts, bottom=bottom, label=name, color=colours.get(name))
        bottom = [b + c for b, c in zip(bottom, counts)]
    people_axes.set_title("People seen, by the minute they arrived")
    people_axes.set_xlabel("minute")
    people_axes.set_xticks(minutes)
    people_axes.set_ylabel("people")
    people_axes.legend()
    shares = [row["masked_share"] for row in rows]
    share_axes.plot(minutes, [s if s is not None else float("nan") for s in shares], marker="o", color="tab:green")
    share_axes.set_ylim(0, 1.05)
    share_axes.set_title(f"Compliant share (whole run: {statistics['masked_share']})")
    share_axes.set_xlabel("minute")
    share_axes.set_xticks(minutes)
    figure.tight_layout()
    with atomic_output(path, ".png") as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)
