"""Drawing labelled faces onto images, and blurring them."""

import cv2

from maskdetect.classify.judging import UNCERTAIN

_FONT = cv2.FONT_HERSHEY_SIMPLEX
# BGR colours: green for a mask, red for none, then distinct ones for any other class.
_NAMED_COLOURS = {"with_mask": (0, 200, 0), "without_mask": (0, 0, 230)}
# Faces not judged: a thin grey box when too small, a grey box marked 'uncertain' when the classifier is unsure.
_UNJUDGED_COLOUR = (160, 160, 160)
_OTHER_COLOURS = [(0, 165, 255), (255, 128, 0), (200, 0, 200), (0, 215, 215), (255, 0, 128), (128, 128, 255)]


def class_colours(class_names):
    """A colour per class name."""
    others = iter(_OTHER_COLOURS * (len(class_names) // len(_OTHER_COLOURS) + 1))
    return {name: _NAMED_COLOURS.get(name) or next(others) for name in class_names}


def draw_faces(image, faces, colours):
    """Draw each face's box and 'label: 97.3%' on ``image`` in place; returns it.

    A tracked face (one with a track ID) shows '#ID label', its person's voted label. A face not judged,
    and not known as a person, gets a thin grey box: plain when it is too small to judge, marked
    'uncertain: 62%' when the classifier was not sure enough for its size.
    """
    height, width = image.shape[:2]
    scale = max(0.4, min(width, height) / 700)
    thickness = max(1, round(scale * 2))
    for face in faces:
        tracked = face.track_id is not None
        label = face.person_label if tracked else face.label
        if label is None:
            cv2.rectangle(image, (face.x1, face.y1), (face.x2 - 1, face.y2 - 1), _UNJUDGED_COLOUR, 1)
            if face.reason == UNCERTAIN:
                _draw_label(image, f"uncertain: {face.probability * 100:.0f}%", face, _UNJUDGED_COLOUR, scale * 0.8, 1)
            continue
        colour = colours.get(label, (255, 255, 255))
        cv2.rectangle(image, (face.x1, face.y1), (face.x2 - 1, face.y2 - 1), colour, thickness)
        text = f"#{face.track_id} {label}" if tracked else f"{label}: {face.probability * 100:.1f}%"
        _draw_label(image, text, face, colour, scale, thickness)
    return image


def blur_faces(image, faces, margin=0.15):
    """Pixelate every face box of ``image``, grown by ``margin`` of its size, in place, beyond recognition; returns it."""
    height, width = image.shape[:2]
    for face in faces:
        grow_x, grow_y = round(face.width * margin), round(face.height * margin)
        x1, y1 = max(0, face.x1 - grow_x), max(0, face.y1 - grow_y)
        x2, y2 = min(width, face.x2 + grow_x), min(height, face.y2 + grow_y)
        region = image[y1:y2, x1:x2]
        if region.size:
            small = cv2.resize(region, (6, 6), interpolation=cv2.INTER_AREA)
            region[:] = cv2.resize(small, (region.shape[1], region.shape[0]), interpolation=cv2.INTER_NEAREST)
    return image


def _draw_label(image, text, box, colour, scale, thickness):
    height, width = image.shape[:2]
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    while text_w + 4 > width and scale > 0.3:
        scale *= 0.85
        (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    label_h = text_h + baseline + 4
    # Above the box when there is room, else just inside its top edge; never past the image.
    top = box.y1 - label_h if box.y1 - label_h >= 0 else min(box.y1, height - label_h)
    top = max(0, top)
    left = min(max(0, box.x1), max(0, width - text_w - 4))
    cv2.rectangle(image, (left, top), (left + text_w + 4, top + label_h), colour, cv2.FILLED)
    cv2.putText(image, text, (left + 2, top + text_h + 2), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)


class FaceBoxes:
    """An annotator: draws each face's box and label on the frame (``draw_faces``)."""

    def __init__(self, colours):
        self.colours = colours

    def annotate(self, frame, faces):
        return draw_faces(frame, faces, self.colours)


class FaceBlur:
    """An annotator: pixelates every face beyond recognition (``blur_faces``), before anything else is drawn."""

    def annotate(self, frame, faces):
        return blur_faces(frame, faces)
