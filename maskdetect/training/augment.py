"""Random views of a training face: framing like the face detector's, and bad cameras and crowds.

Every degradation is drawn the same way for every class, so that no image
quality cue (size, light, blockiness, colour) can stand for a class.
"""

import cv2
import numpy as np

from maskdetect.detect.align import DETAIL_FACTOR, aligned_view, crop_face, stacked_views

# How far past the image's own edges a view may reach, as a share of the crop's side.
# Tight close-ups end at the face: a looser view of them would be mostly repeated edge pixels,
# a cue no real frame has.
MAX_OUTSIDE_SHARE = 0.12


def augmented_face(image, box, size, rng, degrade_probability=0.7, lower_face=False):
    """One random view of the face in ``box``: size x size, BGR, uint8 (with ``lower_face``, the lower face of
    the same view stacked under it, as ``classifier_crop`` gives).

    Geometry: zoom, shift, rotation (around the angle that levels the eyes) and
    mirroring around the face box, within what the image holds. Appearance, with ``degrade_probability``: a combination
    of a small or distant face, dim or back light, colour casts, sensor noise,
    blur and JPEG blocking, as webcams and crowd photos give.
    """
    scale = min(rng.uniform(0.95, 1.3), _widest_scale(image, box))
    geometry = {
        "scale": scale,
        "shift": (rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06)),
        "angle": box.roll + rng.uniform(-15, 15),
        "flip": rng.random() < 0.5,
    }
    if not lower_face:
        crop = crop_face(image, box, size, **geometry)
        return degrade(crop, rng) if rng.random() < degrade_probability else crop
    # Both views come from one crop, degraded once: the lower face sees the same light, blur and size.
    crop, band = aligned_view(image, box, size * DETAIL_FACTOR, **geometry)
    if rng.random() < degrade_probability:
        crop = degrade(crop, rng)
    return stacked_views(crop, band, size)


def _widest_scale(image, box):
    """The largest crop scale whose square stays within the image but for MAX_OUTSIDE_SHARE."""
    height, width = image.shape[:2]
    centre_x, centre_y = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    room = min(centre_x, width - centre_x, centre_y, height - centre_y)
    side = max(box.width, box.height)
    return max(1.0, 2 * room / (side * (1 - 2 * MAX_OUTSIDE_SHARE)))


def degrade(crop, rng, small_size=None):
    """A random combination of what bad webcams and crowd photos do to a face; ``small_size`` fixes the size
    the face is seen at (else a random one, or none)."""
    height, size = crop.shape[:2]
    pixels = crop.astype(np.float32)
    if rng.random() < 0.4:
        # Back light: a bright background around a darker face.
        pixels = pixels * _backlight_mask(height, size, rng)
    if rng.random() < 0.7:
        # Dim light, log-uniform from a dark room (x0.15) to a normal one.
        pixels *= np.exp(rng.uniform(np.log(0.15), 0.0))
    if rng.random() < 0.6:
        # Colour casts: blue screens and daylight, orange lamps, green fluorescent tubes.
        pixels *= rng.uniform(0.65, 1.25, size=3).astype(np.float32)
    if rng.random() < 0.3:
        mean = pixels.mean()
        pixels = (pixels - mean) * rng.uniform(0.5, 1.0) + mean
    if rng.random() < 0.5:
        pixels += rng.normal(0.0, rng.uniform(2.0, 12.0), size=pixels.shape).astype(np.float32)
    face = np.clip(pixels, 0, 255).astype(np.uint8)
    small = size
    if small_size is not None:
        small = min(size, small_size)
    elif rng.random() < 0.75:
        # A face 16 to 100 pixels across, as at a webcam's distance or in a crowd, log-uniform.
        small = int(round(np.exp(rng.uniform(np.log(16), np.log(100)))))
    if small != size:
        face = cv2.resize(face, (small, max(1, round(small * height / size))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        face = cv2.GaussianBlur(face, (0, 0), rng.uniform(0.4, 1.2) * small / 64)
    if rng.random() < 0.7:
        ok, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 70))])
        face = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if small != size:
        face = cv2.resize(face, (size, height), interpolation=cv2.INTER_LINEAR)
    return face


def _backlight_mask(height, width, rng):
    """Brightness factors: about 1 at the edges of the view, darker towards its centre."""
    across = (np.arange(width, dtype=np.float32) - width / 2) / (width / 2)
    down = (np.arange(height, dtype=np.float32) - height / 2) / (height / 2)
    distance = np.sqrt(across[None, :] ** 2 + down[:, None] ** 2)
    depth = rng.uniform(0.3, 0.75)
    mask = 1.0 - depth * np.clip(1.0 - distance, 0.0, 1.0)
    return (mask * rng.uniform(1.0, 1.4))[:, :, None]


def degraded_copy(face):
    """The fixed check of how a face fares on a poor webcam: 60 px, 40 % light, a blue cast, JPEG quality 30."""
    height, size = face.shape[:2]
    small = cv2.resize(face, (60, round(60 * height / size)), interpolation=cv2.INTER_AREA).astype(np.float32) * 0.4
    small *= np.array([1.15, 0.95, 0.75], dtype=np.float32)  # BGR: a blue cast
    small = np.clip(small, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 30])
    return cv2.resize(cv2.imdecode(data, cv2.IMREAD_COLOR), (size, height), interpolation=cv2.INTER_LINEAR)
