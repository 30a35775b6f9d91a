"""Random views of a training face: framing like a detector's, and webcam conditions."""

import cv2
import numpy as np

from maskdetect.faces import crop_face


def augmented_face(image, box, size, rng):
    """One random view of the face in ``box``: size x size, BGR, uint8.

    Geometry: zoom, shift, rotation and mirroring around the face box, covering
    the tighter and looser boxes the two face detectors draw. Appearance: dim
    light, low contrast, colour casts, blur, low resolution and sensor noise.
    """
    crop = crop_face(
        image,
        box,
        size,
        scale=rng.uniform(0.9, 1.35),
        shift=(rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)),
        angle=rng.uniform(-20, 20),
        flip=rng.random() < 0.5,
    )
    return _webcam_conditions(crop, rng)


def _webcam_conditions(crop, rng):
    if rng.random() < 0.3:
        # A face far from the camera: few pixels, scaled back up.
        small = int(crop.shape[0] * rng.uniform(0.15, 0.5))
        crop = cv2.resize(cv2.resize(crop, (small, small), interpolation=cv2.INTER_AREA), crop.shape[1::-1])
    if rng.random() < 0.25:
        sigma = rng.uniform(0.5, 2.0)
        crop = cv2.GaussianBlur(crop, (0, 0), sigma)
    pixels = crop.astype(np.float32)
    if rng.random() < 0.5:
        mean = pixels.mean()
        pixels = (pixels - mean) * rng.uniform(0.5, 1.3) + mean
    if rng.random() < 0.4:
        pixels *= rng.uniform(0.8, 1.2, size=3).astype(np.float32)
    if rng.random() < 0.3:
        pixels = 255.0 * (np.clip(pixels, 0, 255) / 255.0) ** rng.uniform(0.7, 1.8)
    if rng.random() < 0.6:
        # Dim light: anything from a dark room (x0.1) to a bright one, log-uniform.
        pixels *= np.exp(rng.uniform(np.log(0.1), np.log(1.3)))
    if rng.random() < 0.4:
        pixels += rng.normal(0.0, rng.uniform(2.0, 10.0), size=pixels.shape).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)
