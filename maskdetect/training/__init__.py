"""Training the mask classifier: dataset, augmentation, model, the two stages, calibration, exports, plot.

Only the modules that build or fit the model import TensorFlow; importing this package does not.
"""
