"""Preset format, checksums and offline loading."""

import json
import os
import shutil

import keras_hub
import numpy as np
import pytest

import zoo
from tests import harness
from zoo.preset_utils import PRESETS_DIR


def _tiny_preset(tmp_path, name="tiny"):
    model = zoo.get_model_spec("hyper_mlp_classifier").build_tiny(0)
    path = os.path.join(str(tmp_path), name)
    zoo.save_preset(model, path, {"dataset": "synthetic"})
    return model, path


def test_bundled_presets_are_listed():
    assert "hyper_mlp_digits" in zoo.list_presets()


def test_bundled_preset_files_and_metadata():
    path = os.path.join(PRESETS_DIR, "hyper_mlp_digits")
    files = set(os.listdir(path))
    assert {"config.json", "model.weights.h5", "metadata.json",
            "README.md", "task.json", "task.weights.h5"} <= files
    meta = zoo.read_metadata("hyper_mlp_digits")
    for key in ("keras_version", "hyperzoo_version", "parameter_count",
                "date_saved", "training_command", "dataset", "split",
                "metrics", "sha256"):
        assert key in meta, key
    assert set(meta["sha256"]) == files - {"metadata.json"}
    zoo.verify_preset("hyper_mlp_digits")


def test_bundled_preset_accuracy_is_computed_now():
    from zoo.hyper_mlp.hyper_mlp_eval import evaluate_digits

    model = zoo.load("hyper_mlp_digits")
    assert isinstance(model, zoo.HyperMLPClassifier)
    metrics = evaluate_digits(model, "test")
    assert metrics["num_examples"] == 540
    assert metrics["accuracy"] >= 0.97
    # Same weights on every backend: the stored figure is reproduced.
    stored = zoo.read_metadata("hyper_mlp_digits")["metrics"]["accuracy"]
    assert metrics["accuracy"] == pytest.approx(stored, abs=1.5 / 540)


def test_bundled_backbone_loads_through_keras_hub():
    path = os.path.join(PRESETS_DIR, "hyper_mlp_digits")
    backbone = keras_hub.models.Backbone.from_preset(path)
    assert isinstance(backbone, zoo.HyperMLPBackbone)
    task = zoo.HyperMLPClassifier.from_preset(path)
    assert isinstance(task, zoo.HyperMLPClassifier)


def test_round_trip_and_load_without_weights(tmp_path):
    model, path = _tiny_preset(tmp_path)
    x, _ = zoo.get_model_spec("hyper_mlp_classifier").example_batch(4, 0)
    loaded = zoo.load(path)
    np.testing.assert_allclose(
        harness.to_numpy(loaded.predict(x, verbose=0)),
        harness.to_numpy(model.predict(x, verbose=0)),
        rtol=1e-6, atol=1e-7,
    )
    fresh = zoo.load(path, load_weights=False)
    assert fresh.count_params() == model.count_params()


def test_unknown_name_lists_known_presets():
    with pytest.raises(zoo.PresetError, match="hyper_mlp_digits"):
        zoo.load("clowntown")
    with pytest.raises(zoo.PresetError, match="preset name or a directory"):
        zoo.load(42)


def test_directory_that_is_not_a_preset(tmp_path):
    with pytest.raises(zoo.PresetError, match="missing config.json"):
        zoo.load(str(tmp_path))


def test_corrupted_weights_give_a_checksum_error(tmp_path):
    _, path = _tiny_preset(tmp_path)
    weights = os.path.join(path, "model.weights.h5")
    with open(weights, "r+b") as f:
        f.seek(os.path.getsize(weights) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(zoo.PresetChecksumError, match="model.weights.h5"):
        zoo.load(path)


def test_unlisted_or_missing_file(tmp_path):
    _, path = _tiny_preset(tmp_path)
    # A file that is not loaded is ignored, with a warning.
    with open(os.path.join(path, "extra.bin"), "wb") as f:
        f.write(b"x")
    with pytest.warns(UserWarning, match=r"'extra\.bin' \(not listed\)"):
        zoo.verify_preset(path)
    os.remove(os.path.join(path, "extra.bin"))
    os.remove(os.path.join(path, "README.md"))
    with pytest.warns(UserWarning, match=r"'README\.md' \(missing\)"):
        zoo.verify_preset(path)
    # A loaded file that is missing, or present but unlisted, is an error.
    os.remove(os.path.join(path, "task.weights.h5"))
    with pytest.raises(zoo.PresetChecksumError, match="task.weights.h5"):
        zoo.verify_preset(path)
    meta_path = os.path.join(path, "metadata.json")
    with open(meta_path) as f:
        meta = json.load(f)
    del meta["sha256"]["task.json"]
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    with pytest.raises(zoo.PresetChecksumError,
                       match="'task.json'.*not listed"):
        zoo.verify_preset(path)


def test_loaded_preset_declares_value_ranges(tmp_path):
    model = zoo.load("hyper_mlp_digits")
    assert model.input_value_ranges == {"features": (0.0, 1.0)}
    # A directory preset can declare its own ranges in its metadata.
    _, path = _tiny_preset(tmp_path)
    meta_path = os.path.join(path, "metadata.json")
    with open(meta_path) as f:
        meta = json.load(f)
    meta["input_range"] = {"features": [-1, 1]}
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    model = zoo.load(path)
    x = np.full((2, 12), 2.0, "float32")
    with pytest.raises(ValueError, match=r"values must be in \[-1, 1\].*"
                                         r"\(preset tiny\)"):
        model.predict(x, verbose=0)
    model.set_input_value_ranges({})
    assert model.predict(x, verbose=0).shape == (2, 3)


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    model, path = _tiny_preset(tmp_path)
    with pytest.raises(zoo.PresetError, match="already exists"):
        zoo.save_preset(model, path)
    before = sorted(os.listdir(tmp_path))

    class Boom(RuntimeError):
        pass

    def broken_save(*args, **kwargs):
        raise Boom()

    import zoo.preset_utils as pu

    original = pu._model_card
    pu._model_card = broken_save
    try:
        with pytest.raises(Boom):
            zoo.save_preset(model, path, overwrite=True)
    finally:
        pu._model_card = original
    # Nothing half-written: the old preset is intact, no temp dirs remain.
    assert sorted(os.listdir(tmp_path)) == before
    zoo.verify_preset(path)


def test_model_card_and_metadata_are_json(tmp_path):
    _, path = _tiny_preset(tmp_path)
    with open(os.path.join(path, "metadata.json")) as f:
        meta = json.load(f)
    assert meta["dataset"] == "synthetic"
    with open(os.path.join(path, "README.md")) as f:
        card = f.read()
    assert card.startswith("---\nlibrary_name: keras-hub")
    shutil.rmtree(path)


def _preset_classes(name):
    """(Task class, Backbone class) named in a bundled preset's configs."""
    import keras

    zoo.register_all()
    classes = []
    for config_file in ("task.json", "config.json"):
        with open(os.path.join(PRESETS_DIR, name, config_file)) as f:
            registered = json.load(f)["registered_name"]
        classes.append(keras.saving.get_registered_object(registered))
    return tuple(classes)


def test_every_bundled_preset_is_a_builtin_preset_of_its_classes():
    # Class-level resolution only (no weights loaded), for every preset.
    from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS

    names = zoo.list_presets()
    assert len(names) >= 10
    for name in names:
        task_cls, backbone_cls = _preset_classes(name)
        assert task_cls.__name__ == zoo.read_metadata(name)["architecture"]
        assert issubclass(task_cls, zoo.task.ZooTask), name
        assert issubclass(backbone_cls, keras_hub.models.Backbone), name
        assert name in task_cls.presets, name
        assert name in backbone_cls.presets, name
        assert BUILTIN_PRESETS[name]["kaggle_handle"] == os.path.join(
            PRESETS_DIR, name)
        assert zoo.preset_utils.bundled_preset_dir(name) == os.path.join(
            PRESETS_DIR, name)
    # Paths and URIs are left to keras-hub.
    path = os.path.join(PRESETS_DIR, "hyper_mlp_digits")
    assert zoo.preset_utils.bundled_preset_dir(path) is None
    assert zoo.preset_utils.bundled_preset_dir("hf://a/b") is None


@pytest.mark.parametrize("name,layout", [
    ("hyper_mlp_digits", "flat"),
    ("cafa_digits_encoder", "image"),
])
def test_from_preset_by_name_equals_zoo_load(name, layout):
    task_cls, backbone_cls = _preset_classes(name)
    x, _ = zoo.data.load_digits("test", layout=layout)
    x = x[:6]
    reference = zoo.load(name)
    model = task_cls.from_preset(name)
    assert type(model) is task_cls
    assert model.input_value_ranges == reference.input_value_ranges
    np.testing.assert_array_equal(
        harness.to_numpy(model.predict(x, verbose=0)),
        harness.to_numpy(reference.predict(x, verbose=0)),
    )
    # The base Task of the zoo picks the preset's class, as keras-hub does.
    assert type(zoo.task.ZooTask.from_preset(name)) is task_cls
    # Backbones: the family class and keras-hub's base class alike.
    for cls in (backbone_cls, keras_hub.models.Backbone):
        backbone = cls.from_preset(name)
        assert type(backbone) is backbone_cls
        for got, want in zip(backbone.get_weights(),
                             reference.backbone.get_weights()):
            np.testing.assert_array_equal(got, want)


def test_from_preset_unknown_name_lists_bundled_presets():
    with pytest.raises(zoo.PresetError, match="terminator_2d_digits"):
        zoo.HyperMLPClassifier.from_preset("clowntown")
    # keras-hub's own rules still apply: the Task base class is refused,
    # and a preset of another family names the class to use.
    with pytest.raises(ValueError, match="Task.from_preset"):
        keras_hub.models.Task.from_preset("hyper_mlp_digits")
    with pytest.raises(ValueError, match="HyperMLPBackbone"):
        zoo.TerminatorBackbone.from_preset("hyper_mlp_digits")
