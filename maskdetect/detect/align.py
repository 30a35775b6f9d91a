"""The crops the classifier judges: square, centred on the face, its eyes levelled by the detector's landmarks.

A two-view classifier also judges the lower face: the band from just under the eyes to past the chin,
the face's full width, cut from the same aligned crop and stacked under the face (``classifier_crop``).
"""

import math

import cv2
import numpy as np

# Where the eye line and the mouth lie in a YuNet box, as shares of its height from the top (medians over
# 475 dataset faces): the lower face of a face found without landmarks (SSD) is placed by them.
EYE_LINE = 0.365
MOUTH_LINE = 0.739
# The lower-face band, in eye-to-mouth distances: from this far under the eye line to this far under the
# mouth (past the chin, where a mask pulled down sits).
BAND_TOP = 0.2
BAND_BOTTOM = 0.8
# The band's height in the classifier's input, as a share of the face view's side: 96 rows at 128 px, the
# band's own proportions (0.6 of a face's height by its full width).
BAND_ROWS_SHARE = 0.75
# The lower face is cut from an aligned crop this many times the face view's side, so that it keeps the
# detail of the photo up to that zoom.
DETAIL_FACTOR = 2


def crop_shape(size, lower_face):
    """(height, width) of what a classifier with face views of ``size`` pixels judges."""
    return (size + (band_rows(size) if lower_face else 0), size)


def band_rows(size):
    """The lower-face band's rows under a face view of ``size`` pixels."""
    return int(round(size * BAND_ROWS_SHARE))


def aligned_face(image, face, size):
    """The crop the classifier judges: ``face``'s square with the eyes level (where the detector gives landmarks)."""
    return crop_face(image, face, size, angle=face.roll)


def classifier_crop(image, face, size, lower_face):
    """What a classifier with face views of ``size`` pixels judges: the aligned face, with its lower face
    stacked under it when ``lower_face``."""
    if not lower_face:
        return aligned_face(image, face, size)
    crop, band = aligned_view(image, face, size * DETAIL_FACTOR, angle=face.roll)
    return stacked_views(crop, band, size)


def aligned_view(image, face, side, scale=1.0, shift=(0.0, 0.0), angle=0.0, flip=False):
    """A crop as ``crop_face`` cuts it, and the lower face's rectangle (x1, y1, x2, y2) in its pixels."""
    crop = crop_face(image, face, side, scale, shift, angle, flip)
    band = lower_face_band(face, _crop_matrix(face, side, scale, shift, angle), scale)
    if flip:
        band = (side - band[2], band[1], side - band[0], band[3])
    return crop, band


def stacked_views(crop, band, size):
    """The face view (``crop`` shrunk to ``size``) with the lower face (``band`` of ``crop``) stacked under it."""
    face_view = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    rows = band_rows(size)
    x1, y1, x2, y2 = band
    scale_x, scale_y = size / (x2 - x1), rows / (y2 - y1)
    matrix = np.float32([[scale_x, 0, -x1 * scale_x], [0, scale_y, -y1 * scale_y]])
    if min(scale_x, scale_y) < 0.5:
        # As in crop_face: shrink by area averaging first, warpAffine only interpolates.
        factor = 2 ** math.ceil(math.log2(0.5 / min(scale_x, scale_y)))
        crop = cv2.resize(crop, (crop.shape[1] // factor, crop.shape[0] // factor), interpolation=cv2.INTER_AREA)
        matrix[:, :2] *= factor
    lower = cv2.warpAffine(crop, matrix, (size, rows), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(np.vstack([face_view, lower]))


def lower_face_band(face, matrix, scale=1.0):
    """The lower face's rectangle in a crop whose pixels ``matrix`` maps the image's to: from just under the eyes
    to past the chin (by the landmarks where the detector gives them, else by a face box's usual proportions),
    the face's full width; a view zoomed out by ``scale`` shows it zoomed out as much."""
    zoom = math.hypot(matrix[0, 0], matrix[0, 1])
    centre_x, centre_y = matrix @ np.array([(face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2, 1.0])
    height, width = face.height * zoom, face.width * zoom
    eye_y = centre_y + (EYE_LINE - 0.5) * height
    mouth_y = centre_y + (MOUTH_LINE - 0.5) * height
    if face.landmarks is not None:
        points = np.asarray(face.landmarks, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]
        eyes, mouth = points[:2, 1].mean(), points[3:, 1].mean()
        # Landmarks of a face seen from above or below, or guessed on no face, can squeeze the band to nothing.
        if mouth - eyes > 0.15 * height:
            eye_y, mouth_y = eyes, mouth
    distance = mouth_y - eye_y
    top, bottom = eye_y + BAND_TOP * distance, mouth_y + BAND_BOTTOM * distance
    middle, half_height, half_width = (top + bottom) / 2, (bottom - top) / 2 * scale, width / 2 * scale
    return (centre_x - half_width, middle - half_height, centre_x + half_width, middle + half_height)


def _crop_square(face, scale, shift):
    """The side and centre, in the image's pixels, of the square ``crop_face`` cuts."""
    side = max(face.x2 - face.x1, face.y2 - face.y1) * scale
    return side, (face.x1 + face.x2) / 2 + shift[0] * side, (face.y1 + face.y2) / 2 + shift[1] * side


def _crop_matrix(face, size, scale, shift, angle):
    """The affine map from the image's pixels to those of ``crop_face``'s crop (before any flip)."""
    side, centre_x, centre_y = _crop_square(face, scale, shift)
    matrix = cv2.getRotationMatrix2D((centre_x, centre_y), angle, size / side)
    matrix[0, 2] += size / 2 - centre_x
    matrix[1, 2] += size / 2 - centre_y
    return matrix


def crop_face(image, face, size, scale=1.0, shift=(0.0, 0.0), angle=0.0, flip=False):
    """A square, size x size crop of a face, centred on its box (any object with x1, y1, x2, y2).

    The crop's side is the box's longer side times ``scale``; ``shift`` moves the
    centre by a fraction of that side, ``angle`` rotates in degrees. Pixels past
    the image edge repeat the edge, so faces cut by the border stay usable.
    """
    side, centre_x, centre_y = _crop_square(face, scale, shift)
    zoom = size / side
    if zoom < 0.5:
        # warpAffine only interpolates, which aliases when shrinking a lot: first halve the face's
        # surroundings with area averaging (several times faster than shrinking by any other factor)
        # until warpAffine is left a zoom between 0.5 and 1. The surroundings reach past the corners
        # of a crop turned 45°.
        halvings = math.ceil(math.log2(0.5 / zoom))
        factor = 2**halvings
        reach = 0.75 * side + factor
        left, top = max(0, int(centre_x - reach)), max(0, int(centre_y - reach))
        right = min(image.shape[1], int(centre_x + reach) + 1)
        bottom = min(image.shape[0], int(centre_y + reach) + 1)
        image = image[top : bottom - (bottom - top) % factor, left : right - (right - left) % factor]
        for _ in range(halvings):
            image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
        centre_x, centre_y = (centre_x - left) / factor, (centre_y - top) / factor
        zoom *= factor
    matrix = cv2.getRotationMatrix2D((centre_x, centre_y), angle, zoom)
    matrix[0, 2] += size / 2 - centre_x
    matrix[1, 2] += size / 2 - centre_y
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(crop[:, ::-1]) if flip else crop
