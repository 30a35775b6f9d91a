"""The classifier model: members averaged in one graph, the rule saved with it, a save that is all or nothing."""

import keras
import numpy as np
import pytest

from maskdetect.classify.judging import JudgingRule
from maskdetect.classify.keras_backend import KerasClassifier
from maskdetect.training.model import build_classifier, save_classifier


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
def test_interrupted_save_keeps_the_previous_model(tmp_path, monkeypatch):
    path = tmp_path / "mask_detector.model"
    first = build_classifier(["with_mask", "without_mask"], weights="none").model
    save_classifier(first, path)
    second = build_classifier(["a", "b"], weights="none").model

    def save_then_interrupt(self, filepath, **kwargs):
        filepath.mkdir()
        (filepath / "config.json").write_text("{half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_classifier(second, path)
    monkeypatch.undo()
    assert KerasClassifier.load(path).class_names == ["with_mask", "without_mask"]
    assert [p.name for p in tmp_path.iterdir()] == ["mask_detector.model"]
