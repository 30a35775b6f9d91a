"""The face record: boxes clipped to the image."""

from maskdetect.face import Face, clipped_face


def test_boxes_are_clipped_to_the_image_and_slivers_dropped():
    assert clipped_face(-5.4, 10.6, 120.2, 300, 100, 200, 0.9) == Face(0, 11, 100, 200, 0.9)
    assert clipped_face(95, 10, 140, 80, 100, 200) is None
