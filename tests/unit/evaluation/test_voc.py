"""VOC annotations read as faces."""

from maskdetect.evaluation.voc import read_annotation


def test_voc_boxes_are_read_inclusive(tmp_path):
    xml = tmp_path / "a.xml"
    xml.write_text(
        "<annotation><object><name>without_mask</name><bndbox><xmin>10</xmin><ymin>20</ymin>"
        "<xmax>29</xmax><ymax>49</ymax></bndbox></object></annotation>"
    )
    (face,) = read_annotation(xml)
    assert face.label == "without_mask" and (face.width, face.height) == (20, 30)
