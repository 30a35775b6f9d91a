"""Faces levelled by their landmarks and stood upright, judged by a calibrated rule, by averaged members."""

import json

import cv2
import numpy as np
import pytest
from conftest import ROOT, bundled_images, run_script

from maskdetect.classify.judging import TOO_SMALL, UNCERTAIN, JudgingRule
from maskdetect.detect.align import aligned_face
from maskdetect.detect.detectors import YUNET_MODEL, YuNetFaceDetector
from maskdetect.io.images import list_images, read_image
from maskdetect.training.calibration import calibrate, threshold_for


def turned(image, angle):
    """``image`` turned ``angle`` degrees counter-clockwise on a canvas that holds all of it."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(height * sin + width * cos), int(height * cos + width * sin))
    matrix[0, 2] += size[0] / 2 - width / 2
    matrix[1, 2] += size[1] / 2 - height / 2
    return cv2.warpAffine(image, matrix, size, borderMode=cv2.BORDER_REPLICATE)


def portraits(count=12):
    """Upright close-up photos of unmasked faces, enlarged to at least 240 px."""
    images = []
    for path in bundled_images("without_mask", "fmd", count):
        image = read_image(path)
        scale = max(1.0, 240 / max(image.shape[:2]))
        images.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
    return images


def angle_error(found, expected):
    return abs((found - expected + 180) % 360 - 180)


def test_yunet_landmarks_are_the_ones_opencv_gives():
    from maskdetect.shipped_files import FACE_DETECTOR_DIR

    ours = YuNetFaceDetector()
    opencv = cv2.FaceDetectorYN.create(str(FACE_DETECTOR_DIR / YUNET_MODEL), "", (320, 320), ours.confidence, 0.3, 5000)
    compared = 0
    for path in list_images(ROOT / "data" / "scenes" / "images")[:15]:
        image = read_image(path)
        opencv.setInputSize((image.shape[1], image.shape[0]))
        rows = opencv.detect(image)[1]
        found = ours.detect(image)
        if rows is None:
            continue
        rows = rows[np.argsort(-rows[:, -1])]
        for box, row in zip(found, rows):
            assert np.allclose(np.ravel(box.landmarks), row[4:14], atol=0.05)
            compared += 1
    assert compared > 30


def test_a_tilted_face_is_cropped_with_its_eyes_level():
    detector = YuNetFaceDetector()
    leaning = levelled = 0
    for image in portraits():
        before, tilted = detector.detect(image), turned(image, -20)
        found = detector.detect(tilted)
        if not (before and found):
            continue
        leaning += found[0].roll > before[0].roll + 5  # the landmarks see the lean
        again = detector.detect(cv2.resize(aligned_face(tilted, found[0], 128), (256, 256)))
        levelled += bool(again) and abs(again[0].roll) < 6
    assert leaning >= 10 and levelled >= 9


def test_a_face_lying_on_its_side_is_stood_upright():
    detector = YuNetFaceDetector()
    right = searched = 0
    for image in portraits():
        for angle in (90, -90):
            found = detector.detect(turned(image, angle))
            if not found:
                continue
            searched += 1
            found[0].angle = detector.upright_angle(turned(image, angle), found[0])
            # Turned counter-clockwise by 90 degrees, a face is levelled by turning it back: -90.
            right += angle_error(found[0].roll, -angle) < 25
    assert searched >= 12
    assert right / searched >= 0.7


def test_an_upright_face_stays_upright():
    detector = YuNetFaceDetector()
    for image in portraits(6):
        found = detector.detect(image)
        assert angle_error(detector.upright_angle(image, found[0]), found[0].roll) < 10  # no quarter turn


def test_masked_faces_are_not_turned_a_quarter_turn_by_the_upright_search():
    # Masked faces score low in YuNet's eyes upright as well as turned: only a clearly better turn is taken.
    detector = YuNetFaceDetector()
    searched = turned_wrongly = 0
    for path in bundled_images("with_mask", "fmd", 12):
        image = read_image(path)
        scale = max(1.0, 240 / max(image.shape[:2]))
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        found = detector.detect(image)
        if not found:
            continue
        searched += 1
        turned_wrongly += angle_error(detector.upright_angle(image, found[0]), found[0].roll) > 45
    assert searched >= 8 and turned_wrongly == 0


def test_the_threshold_judges_the_most_faces_that_reach_the_target():
    probabilities = np.array([[0.99, 0.01], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]])
    truths = np.array([0, 0, 1, 1, 0])
    # The three most confident are right, the next two wrong.
    assert threshold_for(probabilities, truths, target=0.97, min_share=0.2) == pytest.approx(0.8)
    assert threshold_for(probabilities, truths, target=0.5, min_share=0.2) == 0.0
    assert threshold_for(probabilities, truths, target=0.97, min_share=0.9) is None


def test_every_class_must_reach_the_target_not_only_the_faces_pooled():
    # 20 masked faces all right and sure; 5 unmasked faces, the least sure of them wrong.
    probabilities = np.array([[0.99, 0.01]] * 20 + [[0.1, 0.9]] * 4 + [[0.7, 0.3]])
    truths = np.array([0] * 20 + [1] * 5)
    # Pooled, 24 of 25 right (0.96) passes a 0.95 target; unmasked alone, 4 of 5 (0.8) does not.
    assert threshold_for(probabilities, truths, target=0.95, min_share=0.2, by_class=False) == 0.0
    assert threshold_for(probabilities, truths, target=0.95, min_share=0.2) == pytest.approx(0.9)


def test_a_hard_source_makes_the_rule_stricter_for_all():
    rng = np.random.default_rng(1)
    count = 600
    truths = rng.integers(0, 2, count)
    sources = np.array(["easy"] * 400 + ["hard"] * 200)

    def probabilities_at(height):
        # The hard source's faces are wrong a fifth of the time, at middling confidence.
        wrong = (sources == "hard") & (rng.random(count) < 0.2)
        confidence = np.where(wrong, rng.uniform(0.5, 0.75, count), rng.uniform(0.7, 1.0, count))
        label = np.where(wrong, 1 - truths, truths)
        rows = np.zeros((count, 2))
        rows[np.arange(count), label] = confidence
        rows[np.arange(count), 1 - label] = 1 - confidence
        return rows

    pooled, _ = calibrate(probabilities_at, truths, target=0.97)
    by_source, measured = calibrate(probabilities_at, truths, target=0.97, sources=sources)
    for loose, strict in zip(pooled.thresholds, by_source.thresholds):
        # Pooled, the easy source's faces hide the hard one's errors; by source, they are left unjudged.
        assert loose is not None and strict is not None and strict >= 0.7 and strict > loose
    assert all(cell["accuracy_judged"] >= 0.97 for cell in measured.values())


def test_a_rule_gives_each_face_its_reason_by_size_and_probability():
    rule = JudgingRule((None, 0.9, 0.6, 0.0))
    assert rule.reason(20, 0.999) == TOO_SMALL
    assert rule.reason(30, 0.85) == UNCERTAIN and rule.reason(30, 0.95) is None
    assert rule.reason(60, 0.61) is None and rule.reason(500, 0.34) is None
    assert JudgingRule.from_dict(json.loads(rule.to_json())) == rule
    assert JudgingRule.fixed_size(24) == JudgingRule((None, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError):
        JudgingRule.from_dict({"size_bands": ["<24"], "min_probability": [0.5]})


def test_calibration_judges_less_where_the_classifier_errs():
    rng = np.random.default_rng(0)
    truths = rng.integers(0, 2, 400)

    def probabilities_at(height):
        # Sure and right on big faces; on small ones a third are confidently wrong.
        wrong = rng.random(400) < (0.33 if height is not None and height < 24 else 0.0)
        confidence = np.where(wrong, rng.uniform(0.5, 0.8, 400), rng.uniform(0.6, 1.0, 400))
        label = np.where(wrong, 1 - truths, truths)
        rows = np.zeros((400, 2))
        rows[np.arange(400), label] = confidence
        rows[np.arange(400), 1 - label] = 1 - confidence
        return rows

    rule, measured = calibrate(probabilities_at, truths, target=0.97)
    assert rule.thresholds[-1] == 0.0 and measured[">=80"]["judged_share"] == 1.0
    assert rule.thresholds[0] is None or rule.thresholds[0] >= 0.8
    assert measured["<24"]["judged_share"] < 0.6


def test_members_are_averaged_in_one_graph_and_the_rule_travels_with_the_model(tmp_path):
    from maskdetect.classify.keras_backend import KerasClassifier
    from maskdetect.quiet_tensorflow import tf
    from maskdetect.training.model import build_classifier, save_classifier

    parts = build_classifier(["with_mask", "without_mask"], weights="none", members=2)
    faces = np.random.default_rng(1).uniform(0, 255, (3, 224, 128, 3)).astype("float32")
    features = parts.lower(faces)
    expected = np.mean([member.upper(features) for member in parts.members], axis=0)
    assert np.allclose(parts.model(faces)["probabilities"], expected, atol=1e-6)
    rule = JudgingRule((None, 0.9, 0.7, 0.0))
    for name in ("model_folder.model", "zipped.keras"):
        save_classifier(parts.model, tmp_path / name, rule)
        loaded = KerasClassifier.load(tmp_path / name)
        assert loaded.judging_rule == rule
        assert np.allclose(
            loaded.probabilities([face.astype(np.uint8)[:, :, ::-1] for face in faces]),
            parts.model(tf.constant(faces.astype(np.uint8).astype("float32")))["probabilities"],
            atol=1e-5,
        )


@pytest.mark.slow
def test_training_calibrates_a_rule_that_detection_applies(tiny_training, tmp_path):
    from maskdetect.classify.backends import load_classifier

    result, outputs = tiny_training
    assert result.returncode == 0, result.stderr
    report = json.loads(outputs["report"].read_text())
    assert report["settings"]["members"] == 3
    assert report["judging"]["size_bands"] == ["<24", "24-40", "40-80", ">=80"]
    assert set(report["judging"]["validation_by_size"]) == {"<24", "24-40", "40-80", ">=80"}
    rule = JudgingRule.from_dict(report["judging"])
    for backend in ("onnx", "litert", "keras"):
        assert load_classifier(outputs["model"], backend).judging_rule == rule
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in bundled_images("with_mask", "fmd", 4, offset=300):
        cv2.imwrite(str(photos / path.name), read_image(path))
    run = run_script(
        "detect_mask_image.py",
        "-i",
        photos,
        "--model",
        outputs["model"],
        "-o",
        tmp_path / "annotated",
        "--json",
        tmp_path / "faces.json",
        "-q",
    )
    assert run.returncode == 0, run.stderr
    faces = [face for record in json.loads((tmp_path / "faces.json").read_text()) for face in record["faces"]]
    assert faces
    for face in faces:
        height = face["box"][3] - face["box"][1]
        assert face["reason"] == rule.reason(height, face["probability"] if face["probability"] is not None else 1.0)
        assert (face["label"] is None) == (face["reason"] is not None)


def test_the_lower_face_runs_from_under_the_eyes_to_past_the_mouth_and_needs_no_landmarks():
    from dataclasses import replace

    from maskdetect.detect.align import BAND_ROWS_SHARE, _crop_matrix, classifier_crop, lower_face_band

    detector = YuNetFaceDetector()
    checked = 0
    for image in portraits(6):
        faces = detector.detect(image)
        if not faces or faces[0].landmarks is None:
            continue
        face = faces[0]
        matrix = _crop_matrix(face, 256, 1.0, (0.0, 0.0), face.roll)
        x1, y1, x2, y2 = lower_face_band(face, matrix)
        points = np.asarray(face.landmarks) @ matrix[:, :2].T + matrix[:, 2]
        eyes, nose, mouth = points[:2, 1].mean(), points[2, 1], points[3:, 1].mean()
        assert eyes < y1 < nose < mouth < y2
        assert x1 < points[:, 0].min() and points[:, 0].max() < x2
        # Without landmarks (the SSD detector), a face box's usual proportions place nearly the same band.
        guessed = lower_face_band(replace(face, landmarks=None), matrix)
        overlap = (min(x2, guessed[2]) - max(x1, guessed[0])) * (min(y2, guessed[3]) - max(y1, guessed[1]))
        union = (x2 - x1) * (y2 - y1) + (guessed[2] - guessed[0]) * (guessed[3] - guessed[1]) - overlap
        assert overlap / union > 0.6
        crop = classifier_crop(image, face, 128, lower_face=True)
        assert crop.shape == (128 + round(128 * BAND_ROWS_SHARE), 128, 3)
        assert np.array_equal(crop[:128], cv2.resize(crop_at(image, face, 256), (128, 128), interpolation=cv2.INTER_AREA))
        checked += 1
    assert checked >= 4


def crop_at(image, face, size):
    from maskdetect.detect.align import crop_face

    return crop_face(image, face, size, angle=face.roll)


def test_both_views_of_a_training_face_are_mirrored_and_degraded_together():
    from maskdetect.detect.align import aligned_view, stacked_views
    from maskdetect.training.augment import augmented_face

    image = read_image(bundled_images("without_mask", "fmd", 1)[0])
    face = YuNetFaceDetector().detect(cv2.resize(image, None, fx=2, fy=2))[0].scaled(0.5)
    plain = stacked_views(*aligned_view(image, face, 256, angle=face.roll), 128)
    mirrored = stacked_views(*aligned_view(image, face, 256, angle=face.roll, flip=True), 128)
    assert np.abs(mirrored[:, ::-1].astype(int) - plain).mean() < 4
    views = [augmented_face(image, face, 128, np.random.default_rng(seed), 1.0, lower_face=True) for seed in range(6)]
    assert all(view.shape == (224, 128, 3) for view in views)
    # One degradation for both views: the face view's light is the lower face's (a dim view is dim in both).
    light = np.array([[view[:128].mean(), view[128:].mean()] for view in views])
    assert np.corrcoef(light[:, 0], light[:, 1])[0, 1] > 0.8


def test_a_rule_carries_the_not_a_face_threshold_and_older_rules_still_load():
    from maskdetect.classify.judging import NOT_A_FACE, face_probabilities

    rule = JudgingRule((None, 0.9, 0.7, 0.0), not_a_face=(0.99, 0.95, 0.83, 0.6))
    again = JudgingRule.from_dict(json.loads(rule.to_json()))
    assert again == rule and again.is_face(50, 0.8) and not again.is_face(50, 0.9)
    # Each size band has its own threshold: a small blurred face looks more like no face than a large one.
    assert again.is_face(20, 0.98) and not again.is_face(100, 0.7)
    older = JudgingRule.from_dict({"size_bands": ["<24", "24-40", "40-80", ">=80"], "min_probability": [None, 0.9, 0.7, 0.0]})
    assert older.not_a_face is None and older.is_face(50, 0.49) and not older.is_face(50, 0.5)
    faces, no_face = face_probabilities(np.array([[0.6, 0.3, 0.1], [0.0, 0.5, 0.5]]), [NOT_A_FACE, "with_mask", "without_mask"])
    assert np.allclose(faces, [[0.75, 0.25], [0.5, 0.5]]) and np.allclose(no_face, [0.6, 0.0])
    plain, none = face_probabilities(np.array([[0.2, 0.8]]), ["with_mask", "without_mask"])
    assert np.allclose(plain, [[0.2, 0.8]]) and np.allclose(none, [0.0])
