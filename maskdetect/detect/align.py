"""The crops the classifier judges: square, centred on the face, its eyes levelled by the detector's landmarks."""

import math

import cv2
import numpy as np


def aligned_face(image, face, size):
    """The crop the classifier judges: ``face``'s square with the eyes level (where the detector gives landmarks)."""
    return crop_face(image, face, size, angle=face.roll)


def crop_face(image, face, size, scale=1.0, shift=(0.0, 0.0), angle=0.0, flip=False):
    """A square, size x size crop of a face, centred on its box (any object with x1, y1, x2, y2).

    The crop's side is the box's longer side times ``scale``; ``shift`` moves the
    centre by a fraction of that side, ``angle`` rotates in degrees. Pixels past
    the image edge repeat the edge, so faces cut by the border stay usable.
    """
    side = max(face.x2 - face.x1, face.y2 - face.y1) * scale
    centre_x = (face.x1 + face.x2) / 2 + shift[0] * side
    centre_y = (face.y1 + face.y2) / 2 + shift[1] * side
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
