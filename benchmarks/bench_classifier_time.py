#!/usr/bin/env python3
"""The classifier's time per face: two exported models side by side, in ONNX Runtime and LiteRT, each face cut
from its photo as detection cuts it (the face view, and the lower face for a two-view model) and classified.

Used to check what averaged members cost against a single model, e.g. the shipped model
against the previous release's (``git show v1.2.0:maskdetect/models/mask_detector.onnx``).
Batches of 1 and 3 real face crops; each runtime on the threads detection gives it (video: 1,
photos: every core); rounds interleaved, medians of --repeats calls, and the ratio.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.backends import load_classifier
from maskdetect.detect.align import classifier_crop
from maskdetect.detect.detectors import load_face_detector
from maskdetect.io.images import list_images, read_image


def faces(count=3):
    """(photo, face) pairs of real faces."""
    detector = load_face_detector("yunet")
    found = []
    for path in list_images(ROOT / "maskdetect" / "examples"):
        image = read_image(path)
        found += [(image, box) for box in detector.detect(image)]
    return (found * count)[:count]


def judge(runner, found):
    """What detection does per face once it is found: cut what the classifier judges, then classify."""
    return runner.probabilities([classifier_crop(image, box, runner.input_size, runner.lower_face) for image, box in found])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("baseline", help="the baseline's .onnx (its .tflite beside it is timed too)")
    parser.add_argument("candidate", help="the candidate's .onnx (its .tflite beside it is timed too)")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    found = faces(3)
    results = {}
    for threads in args.threads:
        for suffix, backend in ((".onnx", "onnx"), (".tflite", "litert")):
            runners = {
                name: load_classifier(Path(path).with_suffix(suffix), backend, threads)
                for name, path in (("baseline", args.baseline), ("candidate", args.candidate))
            }
            for batch in (1, 3):
                times = {name: [] for name in runners}
                for runner in runners.values():
                    judge(runner, found[:batch])
                for _ in range(args.repeats):
                    for name, runner in runners.items():
                        start = time.perf_counter()
                        judge(runner, found[:batch])
                        times[name].append(time.perf_counter() - start)
                medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
                key = f"{backend}, {threads} thread(s), {batch} face(s)"
                results[key] = {
                    **{f"{k}_ms": round(v, 3) for k, v in medians.items()},
                    "ratio": round(medians["candidate"] / medians["baseline"], 3),
                }
                print(
                    f"{key}: baseline {medians['baseline']:.2f} ms, candidate {medians['candidate']:.2f} ms, "
                    f"ratio {results[key]['ratio']:.2f}",
                    flush=True,
                )
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
