"""ONNX Runtime sessions, as the face detector and the classifier both run them."""

import os

from maskdetect.errors import InputError


def onnx_session(path, threads=None):
    """An ONNX Runtime session on the CPU with ``threads`` threads (default: one per core)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    # ONNX Runtime's threads otherwise spin after each call, taking the cores the other stages need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - ONNX Runtime raises its own types for a bad file
        raise InputError(f"not an ONNX model: {path}") from None
