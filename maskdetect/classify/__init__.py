"""Labelling faces: the classifier backends (ONNX Runtime, LiteRT, Keras) and the judging rule."""
