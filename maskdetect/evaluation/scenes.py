"""End-to-end evaluation on annotated photos: face recall and precision, label accuracy per class and face size.

Run it as ``python -m maskdetect evaluate PHOTOS [--annotations XML_FOLDER]``
on a folder of photos with PASCAL VOC annotations (one xml per photo, an
object per face, its name the true class).
"""

import csv
from collections import Counter
from pathlib import Path

from maskdetect.classify.judging import BAND_NAMES, REASONS, band_name
from maskdetect.errors import InputError
from maskdetect.evaluation.voc import read_annotation
from maskdetect.face import Face
from maskdetect.io.images import read_image

# A found face and an annotated one are the same face when their boxes overlap this much
# (intersection over union). Detectors and annotators frame faces differently, and on a
# 15-pixel face a 2-pixel offset costs a third of the overlap, so the usual 0.5 drops true matches.
DEFAULT_IOU = 0.3
MISSED = "(missed)"
# Beside a benchmark's images/: the detector's boxes that match no annotated face, each checked by a person
# (tools/unmatched_detections.py): "face" (a real face nobody annotated) or "no_face" (a hand, a sign, ...).
CHECKS_FILE = "unmatched_checks.csv"
NO_FACE = "no_face"
# A reported face is the checked box when they overlap this much.
CHECKED_BOX_IOU = 0.5


def iou(first, second):
    """Intersection over union of two faces' boxes."""
    width = min(first.x2, second.x2) - max(first.x1, second.x1)
    height = min(first.y2, second.y2) - max(first.y1, second.y1)
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / (first.width * first.height + second.width * second.height - overlap)


def match_faces(truth, found, threshold):
    """Pairs (truth index, found index) of two lists of faces, each face used once, best overlaps first."""
    candidates = sorted(
        ((iou(t, f), ti, fi) for ti, t in enumerate(truth) for fi, f in enumerate(found)),
        reverse=True,
    )
    used_truth, used_found, pairs = set(), set(), []
    for overlap, ti, fi in candidates:
        if overlap < threshold:
            break
        if ti not in used_truth and fi not in used_found:
            used_truth.add(ti)
            used_found.add(fi)
            pairs.append((ti, fi))
    return pairs


def no_face_boxes(path):
    """{photo file name: [Face]} of the boxes a CHECKS_FILE records as no face; {} when there is no such file."""
    path = Path(path)
    if not path.is_file():
        return {}
    boxes = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["verdict"].strip() == NO_FACE:
                    boxes.setdefault(row["photo"], []).append(Face(*(int(row[key]) for key in ("x1", "y1", "x2", "y2"))))
    except (OSError, KeyError, ValueError) as error:
        raise InputError(f"cannot read the checked boxes in {path}: {error}") from None
    return boxes


def collect(detector, pairs, iou_threshold, no_faces=None):
    """One record per annotated face (true class, size, predicted label or MISSED), the count of false faces,
    and how many of the boxes ``no_faces`` ({photo name: [Face]}, see ``no_face_boxes``) are still reported."""
    records, false_faces, no_face_reported = [], 0, 0
    no_faces = no_faces or {}
    for image_path, xml_path in pairs:
        truth = read_annotation(xml_path)
        try:
            image = read_image(image_path)
        except ValueError as error:
            raise InputError(str(error)) from None
        found = detector.detect(image)
        matched = dict(match_faces(truth, found, iou_threshold))
        false_faces += len(found) - len(matched)
        no_face_reported += sum(
            1 for box in no_faces.get(Path(image_path).name, []) if any(iou(box, face) >= CHECKED_BOX_IOU for face in found)
        )
        for index, face in enumerate(truth):
            predicted = found[matched[index]].verdict if index in matched else MISSED
            records.append({"image": str(image_path), "truth": face.label, "height": face.height, "predicted": predicted})
    return records, false_faces, no_face_reported


def summarise(records, false_faces, class_names, iou_threshold, no_face_checked=None, no_face_reported=None):
    """The JSON report of ``collect``'s records (``no_face_checked``: the boxes recorded as no face, if any)."""
    truths = sorted({r["truth"] for r in records}, key=lambda name: (name not in class_names, name))
    found = [r for r in records if r["predicted"] != MISSED]
    columns = [*class_names, *REASONS, MISSED]
    report = {
        "photos": len({r["image"] for r in records}),
        "annotated_faces": len(records),
        "found_faces": len(found),
        "false_faces": false_faces,
        "iou_threshold": iou_threshold,
        "face_recall": _share(len(found), len(records)),
        "face_precision": _share(len(found), len(found) + false_faces),
        "no_face_boxes": None
        if not no_face_checked
        else {
            "checked": no_face_checked,
            "still_reported": no_face_reported,
            "share_reported": _share(no_face_reported, no_face_checked),
        },
        "classes": {},
        "confusion_matrix": {
            "rows": truths,
            "columns": columns,
            "counts": [[sum(1 for r in records if r["truth"] == t and r["predicted"] == p) for p in columns] for t in truths],
        },
    }
    for truth in truths:
        of_class = [r for r in records if r["truth"] == truth]
        report["classes"][truth] = {
            "overall": _cell(of_class, truth, class_names),
            "by_size": {
                name: _cell([r for r in of_class if band_name(r["height"]) == name], truth, class_names) for name in BAND_NAMES
            },
        }
    return report


def _cell(records, truth, class_names):
    found = [r for r in records if r["predicted"] != MISSED]
    cell = {"faces": len(records), "found": len(found), "face_recall": _share(len(found), len(records))}
    judged = [r for r in found if r["predicted"] not in REASONS]
    for reason in REASONS:
        cell[reason] = sum(1 for r in found if r["predicted"] == reason)
    cell["judged_share"] = _share(len(judged), len(found))
    if truth in class_names:
        right = sum(1 for r in judged if r["predicted"] == truth)
        cell["label_accuracy"] = _share(right, len(judged))
        cell["end_to_end"] = _share(right, len(records))
    cell["predicted"] = dict(sorted(Counter(r["predicted"] for r in found).items()))
    return cell


def _share(part, whole):
    return round(part / whole, 4) if whole else None


def report_text(report):
    """The report as readable tables."""

    def number(value):
        return "  -  " if value is None else f"{value:.3f}"

    lines = [
        f"{report['photos']} photos, {report['annotated_faces']} annotated faces, IoU >= {report['iou_threshold']}",
        f"face recall {number(report['face_recall'])}, face precision {number(report['face_precision'])} "
        f"({report['found_faces']} found, {report['false_faces']} false faces)",
        *(
            [
                f"boxes checked as no face still reported: {report['no_face_boxes']['still_reported']} of "
                f"{report['no_face_boxes']['checked']}"
            ]
            if report.get("no_face_boxes")
            else []
        ),
        "",
        f"{'class':<24}{'size':>8}{'faces':>7}{'recall':>8}{'too small':>11}{'uncertain':>11}{'label acc':>11}{'end to end':>12}",
    ]
    for truth, result in report["classes"].items():
        for size, cell in [("all", result["overall"]), *result["by_size"].items()]:
            lines.append(
                f"{truth:<24}{size:>8}{cell['faces']:>7}{number(cell['face_recall']):>8}{cell['too_small']:>11}{cell['uncertain']:>11}"
                f"{number(cell.get('label_accuracy')):>11}{number(cell.get('end_to_end')):>12}"
            )
    matrix = report["confusion_matrix"]
    width = max(len(name) for name in [*matrix["columns"], *matrix["rows"]]) + 2
    lines += ["", "Confusion matrix (rows: annotated class, columns: predicted):"]
    lines.append(" " * width + "".join(f"{name:>{width}}" for name in matrix["columns"]))
    for name, row in zip(matrix["rows"], matrix["counts"]):
        lines.append(f"{name:<{width}}" + "".join(f"{count:>{width}}" for count in row))
    return "\n".join(lines)
