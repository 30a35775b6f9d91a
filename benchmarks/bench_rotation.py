#!/usr/bin/env python3
"""Turned faces: validation photos turned by 30, 60 and 90 degrees, and the turned faces of data/scenes_web/.

The detection pipeline (YuNet, the classifier's export, its judging rule) labels the most
confident face of each turned validation photo, with the upright search and without it (eyes
levelled by the landmarks alone). On data/scenes_web/, the faces that either way finds turned 25
degrees or more are scored the same two ways. The split is training's default one.
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_seeds import rotated

from maskdetect.classify.backends import load_classifier
from maskdetect.detect.align import classifier_crop
from maskdetect.detect.detectors import load_face_detector
from maskdetect.evaluation.scenes import DEFAULT_IOU, match_faces
from maskdetect.evaluation.voc import annotated_images, read_annotation
from maskdetect.io.images import read_image
from maskdetect.pipeline import MaskDetector
from maskdetect.settings import TrainingSettings
from maskdetect.shipped_files import SHIPPED_MODEL
from maskdetect.training.dataset import load_dataset, mask_classes
from maskdetect.training.train import validation_split

ANGLES = (0, 30, 60, 90)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    classifier = load_classifier(args.model)
    face_detector = load_face_detector("yunet")
    detectors = {
        "upright search": MaskDetector(classifier, face_detector, upright=True),
        "landmarks only": MaskDetector(classifier, face_detector, upright=False),
    }
    config = TrainingSettings(verbose=False)
    dataset = load_dataset(config.datasets, face_detector, verbose=False, classes=mask_classes(config.datasets))
    labels = np.asarray(dataset.labels)
    _, val_idx = validation_split(labels, np.asarray(dataset.hashes), config, dataset.class_names)
    results = {}
    for angle in ANGLES:
        counts = {name: {"found": 0, "right": 0, "judged": 0, "right_judged": 0} for name in detectors}
        for index in val_idx:
            truth = dataset.class_names[labels[index]]
            image = rotated(dataset.images[index], angle)
            for name, detector in detectors.items():
                faces = detector.find(image)
                if not faces:
                    continue
                best = max(range(len(faces)), key=lambda i: faces[i].score or 0)
                cell = counts[name]
                cell["found"] += 1
                if faces[best].crop is not None:
                    row = classifier.probabilities([faces[best].crop])[0]
                    cell["right"] += classifier.class_names[int(row.argmax())] == truth
                detector.label([faces])
                cell["judged"] += faces[best].label is not None
                cell["right_judged"] += faces[best].label == truth
        for name, cell in counts.items():
            results[f"validation turned {angle}, {name}"] = {
                "faces": len(val_idx),
                "found": round(cell["found"] / len(val_idx), 4),
                "accuracy_found": round(cell["right"] / max(1, cell["found"]), 4),
                "judged_share": round(cell["judged"] / max(1, cell["found"]), 4),
                "accuracy_judged": round(cell["right_judged"] / max(1, cell["judged"]), 4),
            }
            print(f"turned {angle}, {name}: {results[f'validation turned {angle}, {name}']}", flush=True)
    turned_faces = {name: {"faces": 0, "right": 0} for name in detectors}
    for image_path, xml_path in annotated_images(ROOT / "data" / "scenes_web" / "images"):
        image, truth = read_image(image_path), read_annotation(xml_path)
        boxes = face_detector.detect(image)
        upright = [dataclasses.replace(box, angle=face_detector.upright_angle(image, box)) for box in boxes]
        for ti, fi in match_faces(truth, boxes, DEFAULT_IOU):
            turned = max(abs(upright[fi].roll), abs(boxes[fi].roll)) >= 25
            if not turned or truth[ti].label not in classifier.class_names:
                continue
            for name, box in (("upright search", upright[fi]), ("landmarks only", boxes[fi])):
                crop = classifier_crop(image, box, classifier.input_size, classifier.lower_face)
                predicted = classifier.class_names[int(classifier.probabilities([crop])[0].argmax())]
                turned_faces[name]["faces"] += 1
                turned_faces[name]["right"] += predicted == truth[ti].label
    for name, cell in turned_faces.items():
        results[f"scenes_web faces turned 25 degrees or more, {name}"] = {
            "faces": cell["faces"],
            "accuracy": round(cell["right"] / max(1, cell["faces"]), 4),
        }
        print(f"scenes_web turned faces, {name}: {cell}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
