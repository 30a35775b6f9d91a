#!/usr/bin/env python3
"""Which runtime should run the classifier? Milliseconds per batch of 1 and 3 real face crops for the
shipped model in TensorFlow (compiled call), ONNX Runtime (fp32 and int8), OpenVINO, OpenCV DNN and
LiteRT, each with 2 threads, with label agreement and the largest probability difference against
TensorFlow on 300 dataset faces. All in one run; medians of --repeats calls, rounds interleaved.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect.classify.backends import load_classifier
from maskdetect.detect.align import crop_face
from maskdetect.detect.detectors import load_face_detector
from maskdetect.io.images import list_images, read_image
from maskdetect.shipped_files import SHIPPED_MODEL


def dataset_faces(dataset, count, size):
    detector = load_face_detector("yunet")
    paths = [p for folder in sorted(Path(dataset).iterdir()) if folder.is_dir() for p in list_images(folder)]
    faces = []
    for path in paths[:: max(1, len(paths) // count)][:count]:
        image = read_image(path)
        boxes = detector.detect(image)
        if boxes:
            faces.append(cv2.cvtColor(crop_face(image, boxes[0], size), cv2.COLOR_BGR2RGB).astype(np.float32))
    return np.stack(faces)


def runners(model, folder, calibration):
    """name -> function from an RGB float32 batch to probabilities."""
    import onnxruntime
    import openvino
    from ai_edge_litert.interpreter import Interpreter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    keras_classifier = load_classifier(model, "keras")
    onnx_path = Path(model).with_suffix(".onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    fp32 = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(calibration[:, None])

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"image": batch}

    int8_path = Path(folder) / "int8.onnx"
    quantize_static(
        str(onnx_path),
        str(int8_path),
        Calibration(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    int8 = onnxruntime.InferenceSession(str(int8_path), options, providers=["CPUExecutionProvider"])
    core = openvino.Core()
    core.set_property("CPU", {"INFERENCE_NUM_THREADS": 2})
    compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    net = cv2.dnn.readNetFromONNX(str(onnx_path))
    interpreter = Interpreter(str(Path(model).with_suffix(".tflite")), num_threads=2)
    tensor = interpreter.get_input_details()[0]["index"]
    output = interpreter.get_output_details()[0]["index"]

    def litert(batch):
        interpreter.resize_tensor_input(tensor, batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(tensor, batch)
        interpreter.invoke()
        return interpreter.get_tensor(output)

    def opencv(batch):
        net.setInput(batch)
        return net.forward()

    return {
        "tensorflow": lambda batch: keras_classifier._call(batch).numpy(),
        "onnxruntime_fp32": lambda batch: fp32.run(None, {"image": batch})[0],
        "onnxruntime_int8": lambda batch: int8.run(None, {"image": batch})[0],
        "openvino_fp32": lambda batch: compiled(batch)[0],
        "opencv_dnn_fp32": opencv,
        "litert_fp32": litert,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--dataset", default=str(ROOT / "dataset"))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = load_classifier(args.model).input_size
    faces = dataset_faces(args.dataset, 300, size)
    with tempfile.TemporaryDirectory() as folder:
        run = runners(args.model, folder, faces[::10])
        timings = {name: {1: [], 3: []} for name in run}
        for _ in range(args.rounds):
            for name, call in run.items():
                for batch_size in (1, 3):
                    batch = np.ascontiguousarray(faces[:batch_size])
                    call(batch)
                    for _ in range(args.repeats):
                        started = time.perf_counter()
                        call(batch)
                        timings[name][batch_size].append(time.perf_counter() - started)
        reference = np.concatenate([run["tensorflow"](faces[i : i + 1]) for i in range(len(faces))])
        results = {"faces": len(faces), "input_size": size}
        for name, call in run.items():
            got = np.concatenate([call(np.ascontiguousarray(faces[i : i + 1])) for i in range(len(faces))])
            results[name] = {
                "ms_1_face": round(1000 * statistics.median(timings[name][1]), 2),
                "ms_3_faces": round(1000 * statistics.median(timings[name][3]), 2),
                "label_agreement": round(float(np.mean(got.argmax(1) == reference.argmax(1))), 4),
                "max_probability_difference": float(np.abs(got - reference).max()),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
