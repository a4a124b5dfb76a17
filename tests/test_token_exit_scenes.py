"""The DyVTE tiny-scenes model: backbone options, recipe, inputs."""

import keras
import numpy as np
import pytest

import zoo
from zoo.data import tiny_scenes as ts
from zoo.token_exit import token_exit_scenes as scenes_recipe
from zoo.token_exit.token_exit_presets import build_scenes_model
from zoo.token_exit.token_exit_scenes_inputs import parse_scenes_document

_TINY = dict(num_layers=2, hidden_dim=8, intermediate_dim=8, num_heads=1,
             router_hidden_dim=4)


@pytest.fixture(scope="module")
def model():
    return build_scenes_model(0, **_TINY)


def test_rgb_patches_and_vision_stem():
    b = zoo.TokenExitVLMBackbone(
        vocabulary_size=5, num_layers=1, num_heads=1, hidden_dim=8,
        intermediate_dim=8, image_size=4, patch_size=2, image_channels=3,
        num_text_tokens=2, router_hidden_dim=4)
    images = np.arange(2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    patches = keras.ops.convert_to_numpy(b.patchify(images))
    assert patches.shape == (2, 4, 12)
    # Patch 1 is the top-right 2x2 block, row-major, channels last.
    np.testing.assert_array_equal(patches[0, 1],
                                  images[0, 0:2, 2:4].reshape(-1))
    stem = zoo.TokenExitVLMBackbone.from_config(
        dict(b.get_config(), vision_stem_channels=5))
    assert stem.get_config()["vision_stem_channels"] == 5
    assert keras.ops.convert_to_numpy(stem.patchify(images)).shape == (
        2, 4, 20)
    with pytest.raises(ValueError, match="vision_stem_channels"):
        zoo.TokenExitVLMBackbone.from_config(
            dict(b.get_config(), vision_stem_channels=0))
    with pytest.raises(ValueError, match="image_channels"):
        zoo.TokenExitVLMBackbone.from_config(
            dict(b.get_config(), image_channels=0))
    with pytest.raises(ValueError, match="images"):
        b.masked_forward({"images": np.zeros((1, 4, 4, 1), "float32"),
                          "token_ids": np.zeros((1, 3), "int32")})


def test_exit_aware_layers():
    rng = np.random.default_rng(0)
    assert (scenes_recipe.exit_aware_layers(50, 16, 0.0, rng) == 15).all()
    k = scenes_recipe.exit_aware_layers(400, 16, 1.0, rng)
    assert k.min() >= 4 and k.max() <= 15 and len(set(k)) == 12
    half = scenes_recipe.exit_aware_layers(4000, 16, 0.5, rng)
    # Random layers include 15 (keep) with probability 1/12.
    assert 0.40 < np.mean(half < 15) < 0.52
    with pytest.raises(ValueError, match="fraction"):
        scenes_recipe.exit_aware_layers(4, 16, 1.5, rng)


def test_stage_one_trains_on_fresh_chunks(model):
    before = [w.copy() for w in model.get_weights()]
    log = scenes_recipe.train_scenes_vlm(model, chunks=2, chunk_size=64,
                                         batch_size=32, verbose=0)
    assert [r["chunk"] for r in log] == [0, 1]
    assert all(np.isfinite(r["loss"]) for r in log)
    after = model.get_weights()
    routers = {id(w) for r in model.backbone.routers for w in r.weights}
    for w, b, a in zip(model.weights, before, after):
        if id(w) in routers:
            np.testing.assert_array_equal(a, b)  # frozen in stage 1
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))


def test_evaluator_matches_an_independent_count(model, monkeypatch):
    monkeypatch.setitem(scenes_recipe.SPLIT_SIZES, "val", 60)
    metrics = scenes_recipe.evaluate_scenes_vqa(model, "val", speed=False)
    x, y, info = scenes_recipe.scenes_split("val")
    assert len(y) == 60 == metrics["num_examples"]
    full = model.predict(dict(x, exit_layers=np.full(60, 1, "int32")),
                         verbose=0).argmax(-1)
    assert metrics["accuracy_full"] == pytest.approx(np.mean(full == y))
    for family in ts.FAMILIES:
        assert 0 <= metrics[f"mean_exit_layer_{family}"] <= 1
    with pytest.raises(ValueError, match="split"):
        scenes_recipe.scenes_split("trainval")


def test_predict_documents(model):
    x = parse_scenes_document({"scene_seed": 4, "question":
                               "Is the bar left of the circle?"}, model, {})
    assert x["images"].shape == (1, 24, 24, 3)
    image, _ = ts.make_scene(np.random.default_rng(4))
    np.testing.assert_array_equal(x["images"][0], image)
    assert x["exit_layers"].tolist() == [1]
    x = parse_scenes_document({"image": [image.tolist()] * 2,
                               "question": "how many red?",
                               "exit_layer": -1}, model, {})
    assert x["token_ids"].shape == (2, 9) and x["exit_layers"].tolist() == [
        -1, -1]
    for doc, message in (
        ({"question": "how many red?"}, "image"),
        ({"scene_seed": -1, "question": "how many red?"}, "scene_seed"),
        ({"scene_seed": 1, "question": "how many dogs?"}, "question"),
        ({"image": [[0.0] * 3] * 24, "question": "how many red?"}, "image"),
        ({"scene_seed": 1, "question": "how many red?", "exit_layer": 2},
         "exit_layer"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_scenes_document(doc, model, {})


def test_bundled_scenes_preset_metrics_are_reproduced():
    model = zoo.load("token_exit_vlm_scenes")
    assert model.backbone.num_layers >= 16
    metrics = scenes_recipe.evaluate_scenes_vqa(model, "test", speed=False)
    stored = zoo.read_metadata("token_exit_vlm_scenes")["metrics"]
    # 5000 questions: 2e-3 is 10 answers or exits flipped by a backend's
    # rounding near a decision boundary.
    for key in ("accuracy_full", "accuracy_exit", "flops_saved",
                "mean_exit_layer"):
        assert metrics[key] == pytest.approx(stored[key], abs=2e-3), key
    assert metrics["num_examples"] == 5000
