"""Finding faces: YuNet on ONNX Runtime and the classic SSD on OpenCV DNN, and aligned face crops."""
