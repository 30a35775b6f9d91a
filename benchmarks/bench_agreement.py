#!/usr/bin/env python3
"""Do the exports label faces as the Keras model does? Label agreement and the largest probability
difference, ONNX Runtime and LiteRT against Keras, on every face YuNet finds in data/scenes/ and on the
training run's validation split (same seed and share as the default training).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.backends import load_classifier
from maskdetect.detect.align import crop_face
from maskdetect.detect.detectors import load_face_detector
from maskdetect.io.images import list_images, read_image
from maskdetect.settings import TrainingSettings
from maskdetect.shipped_files import SHIPPED_MODEL
from maskdetect.training.dataset import load_dataset, mask_classes
from maskdetect.training.train import validation_split


def scene_faces(folder, size):
    detector = load_face_detector("yunet")
    crops = []
    for path in list_images(folder):
        image = read_image(path)
        crops += [crop_face(image, box, size) for box in detector.detect(image)]
    return crops


def validation_faces(dataset_folder, size):
    config = TrainingSettings(datasets=[dataset_folder])
    dataset = load_dataset(
        config.datasets, load_face_detector(config.framing_detector), verbose=False, classes=mask_classes(config.datasets)
    )
    labels = np.asarray(dataset.labels)
    _, val_idx = validation_split(labels, np.asarray(dataset.hashes), config)
    return [crop_face(dataset.images[i], dataset.boxes[i], size) for i in val_idx]


def probabilities(classifier, faces, batch=64):
    return np.concatenate([classifier.probabilities(faces[i : i + batch]) for i in range(0, len(faces), batch)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--scenes", default=str(ROOT / "data" / "scenes" / "images"))
    parser.add_argument("--dataset", default=str(ROOT / "dataset"))
    args = parser.parse_args()
    keras_classifier = load_classifier(args.model, "keras")
    size = keras_classifier.input_size
    sets = {"scenes": scene_faces(args.scenes, size), "validation": validation_faces(args.dataset, size)}
    results = {}
    for name, faces in sets.items():
        expected = probabilities(keras_classifier, faces)
        results[name] = {"faces": len(faces)}
        for backend in ("onnx", "litert"):
            got = probabilities(load_classifier(args.model, backend), faces)
            results[name][backend] = {
                "label_agreement": round(float(np.mean(got.argmax(1) == expected.argmax(1))), 5),
                "max_probability_difference": float(np.abs(got - expected).max()),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
