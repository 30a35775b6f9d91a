"""End-to-end evaluation on annotated photos: face recall and precision, label accuracy per class and face size.

Run it as ``python -m maskdetect evaluate PHOTOS [--annotations XML_FOLDER]``
on a folder of photos with PASCAL VOC annotations (one xml per photo, an
object per face, its name the true class).
"""

from collections import Counter

from maskdetect.classify.judging import BAND_NAMES, REASONS, band_name
from maskdetect.errors import InputError
from maskdetect.evaluation.voc import read_annotation
from maskdetect.io.images import read_image

# A found face and an annotated one are the same face when their boxes overlap this much
# (intersection over union). Detectors and annotators frame faces differently, and on a
# 15-pixel face a 2-pixel offset costs a third of the overlap, so the usual 0.5 drops true matches.
DEFAULT_IOU = 0.3
MISSED = "(missed)"


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


def collect(detector, pairs, iou_threshold):
    """One record per annotated face (true class, size, predicted label or MISSED), and the count of false faces."""
    records, false_faces = [], 0
    for image_path, xml_path in pairs:
        truth = read_annotation(xml_path)
        try:
            image = read_image(image_path)
        except ValueError as error:
            raise InputError(str(error)) from None
        found = detector.detect(image)
        matched = dict(match_faces(truth, found, iou_threshold))
        false_faces += len(found) - len(matched)
        for index, face in enumerate(truth):
            predicted = found[matched[index]].verdict if index in matched else MISSED
            records.append({"image": str(image_path), "truth": face.label, "height": face.height, "predicted": predicted})
    return records, false_faces


def summarise(records, false_faces, class_names, iou_threshold):
    """The JSON report of ``collect``'s records."""
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
            "by_size": {name: _cell([r for r in of_class if band_name(r["height"]) == name], truth, class_names) for name in BAND_NAMES},
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
