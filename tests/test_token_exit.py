"""Behaviour of the DyVTE visual-token exit: layers, VLM, hook, preset."""

import keras
import numpy as np
import pytest
from keras import ops

import layers
import zoo
from tests.harness import to_numpy
from zoo.data import digits_vqa as vqa
from zoo.token_exit.keras_hub_hook import add_token_exit_gates
from zoo.token_exit.keras_hub_hook import gated_forward
from zoo.token_exit.token_exit_eval import evaluate_digits_vqa
from zoo.token_exit.token_exit_eval import flops_saved
from zoo.token_exit.token_exit_training import choose_threshold

_SMALL = dict(vocabulary_size=10, num_layers=2, num_heads=2, hidden_dim=8,
              intermediate_dim=16, image_size=8, patch_size=2,
              num_prefix_tokens=1, num_text_tokens=3, router_hidden_dim=4)


def _model(seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    backbone = zoo.TokenExitVLMBackbone(**dict(_SMALL, **overrides))
    model = zoo.TokenExitVLM(backbone, num_answers=5)
    # Scale the weights up so that masking visibly changes the outputs.
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32")
                       for w in model.weights])
    return model


def _batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "images": rng.uniform(0, 1, (n, 8, 8, 1)).astype("float32"),
        "token_ids": rng.integers(0, 10, (n, 4)).astype("int32"),
    }


# ----------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------
def test_key_mask_masks_image_keys_after_the_exit_layer():
    mask = to_numpy(layers.visual_exit_key_mask(
        np.array([-1, 0, 2]), 1, 7, 1, 4))
    image = np.zeros(7, bool)
    image[1:5] = True
    np.testing.assert_array_equal(mask[0], ~image)  # exited before layer 0
    np.testing.assert_array_equal(mask[1], ~image)  # exited after layer 0
    np.testing.assert_array_equal(mask[2], np.ones(7, bool))  # still in


def test_label_rule_on_hand_cases():
    # Answers 0; full model confident on 0 with CE c.
    full = np.array([[2.0, 0.0]] * 4, "float32")
    exited = np.array([
        [2.0, 0.0],   # same argmax, same loss -> exit
        [0.0, 2.0],   # argmax disagrees -> keep
        [0.3, 0.0],   # same argmax, loss ratio >> 1.03 -> keep
        [2.05, 0.0],  # same argmax, lower loss -> exit
    ], "float32")
    y = to_numpy(layers.token_exit_labels(full, exited,
                                          np.zeros(4, "int32")))
    np.testing.assert_array_equal(y, [1, 0, 0, 1])
    # Agreement is measured between the two models, not against the
    # ground truth: both wrong in the same way is still "exit".
    y = to_numpy(layers.token_exit_labels(full[:1], exited[:1],
                                          np.ones(1, "int32")))
    np.testing.assert_array_equal(y, [1])
    # Sequences: one disagreeing answer position out of two gives
    # agreement 0.5 <= 0.99 -> keep; masking that position out -> exit.
    f = np.array([[[2.0, 0.0], [2.0, 0.0]]], "float32")
    e = np.array([[[2.0, 0.0], [0.0, 2.0]]], "float32")
    labels = np.zeros((1, 2), "int32")
    assert to_numpy(layers.token_exit_labels(f, e, labels))[0] == 0
    assert to_numpy(layers.token_exit_labels(
        f, e, labels, label_mask=np.array([[1, 0]])))[0] == 1


def test_router_features_and_text_mask():
    router = layers.TokenExitRouter(4, num_text_tokens=3)
    h = np.random.default_rng(0).normal(size=(2, 7, 5)).astype("float32")
    f = to_numpy(router.features(h))
    np.testing.assert_allclose(f[:, :5], h[:, -3:-1].mean(1), rtol=1e-6)
    np.testing.assert_allclose(f[:, 5:], h[:, -1], rtol=1e-6)
    # The same positions given as a mask; the last one set is "last".
    mask = np.zeros((2, 7), "int32")
    mask[:, 4:] = 1
    np.testing.assert_allclose(to_numpy(router.features(h, mask)), f,
                               rtol=1e-6, atol=1e-7)
    mask[1, 6] = 0  # shorter prompt: last prompt token at 5
    g = to_numpy(router.features(h, mask))
    np.testing.assert_allclose(g[1, 5:], h[1, 5], rtol=1e-6)
    np.testing.assert_allclose(g[1, :5], h[1, 4], rtol=1e-6)


# ----------------------------------------------------------------------
# VLM: the two execution paths
# ----------------------------------------------------------------------
def test_masked_path_equals_removal_path_on_batch_one():
    model = _model()
    backbone = model.backbone
    x = _batch(1)
    full = to_numpy(model.answer_logits(x))
    outputs = []
    for k in range(-1, backbone.num_layers):
        masked = to_numpy(model.answer_logits(x, np.array([k])))
        out = backbone.prefill_with_exit(x, exit_layer=k)
        removed = to_numpy(model.answer_head(out["hidden_states"][:, -1]))
        np.testing.assert_allclose(removed, masked, rtol=1e-5, atol=1e-5)
        assert out["exit_layer"] == k
        outputs.append(masked)
        # Position ids are kept, not renumbered: the prefix, then the
        # instruction at its original positions after the image.
        start = backbone.num_prefix_tokens + backbone.num_image_tokens
        np.testing.assert_array_equal(
            out["position_ids"],
            np.concatenate([np.arange(backbone.num_prefix_tokens),
                            np.arange(start, backbone.sequence_length)]))
        assert out["hidden_states"].shape[1] == len(out["position_ids"])
    # Exiting after the last layer is the full model; earlier exits are
    # not (the test has teeth).
    np.testing.assert_allclose(outputs[-1], full, rtol=1e-6, atol=1e-6)
    assert np.abs(outputs[0] - full).max() > 1e-3
    # The removal path with renumbered positions would differ: RoPE sees
    # the original positions.
    h = model.backbone.embed(ops.convert_to_tensor(x["images"]),
                             ops.convert_to_tensor(x["token_ids"]))
    keep = out["position_ids"]
    layer = backbone.transformer_layers[0]
    kept = to_numpy(layer(ops.take(h, keep, axis=1), position_ids=keep))
    renum = to_numpy(layer(ops.take(h, keep, axis=1)))
    assert np.abs(kept - renum).max() > 1e-4


def test_batched_exits_per_example_match_single_examples():
    model = _model()
    x = _batch(4)
    exits = np.array([-1, 0, 1, 1], "int32")
    batched = to_numpy(model.predict(dict(x, exit_layers=exits), verbose=0))
    for i, k in enumerate(exits):
        one = {n: v[i:i + 1] for n, v in x.items()}
        np.testing.assert_allclose(
            to_numpy(model.answer_logits(one, np.array([k]))), batched[i:i + 1],
            rtol=1e-5, atol=1e-5)


def test_threshold_inference_and_removal_agree():
    model = _model()
    x = _batch(3)
    for threshold in (0.0, 0.5, 1.0):
        out = model.predict_with_exit(x, threshold)
        for i in range(3):
            one = {n: v[i:i + 1] for n, v in x.items()}
            res = model.backbone.prefill_with_exit(one, threshold)
            assert res["exit_layer"] == out["exit_layers"][i]
            np.testing.assert_allclose(
                res["exit_probs"],
                out["exit_probs"][i, :len(res["exit_probs"])], atol=1e-5)
        if threshold == 0.0:
            assert np.all(out["exit_layers"] == 0)
        if threshold == 1.0:
            np.testing.assert_array_equal(out["exit_layers"], 1)
            np.testing.assert_allclose(out["logits"], out["full_logits"],
                                       rtol=1e-6, atol=1e-6)


def test_router_stage_trains_only_the_routers_through_stop_gradient():
    model = _model()
    model.set_stage("router")
    model.compile()
    assert len(model.trainable_weights) == 2 * model.backbone.num_layers
    # The router's features are a stop-gradient copy: even with the whole
    # model made trainable, a plain SGD step on the router loss moves the
    # routers and nothing else.
    for layer in ([model.backbone.token_embedding,
                   model.backbone.patch_embedding,
                   model.backbone.image_position_embedding,
                   model.backbone.final_norm, model.answer_head]
                  + list(model.backbone.transformer_layers)):
        layer.trainable = True
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    last = model.backbone.num_layers - 1
    exits = np.arange(6, dtype="int32") % (last + 1)
    x = dict(_batch(6), exit_layers=exits)
    y = np.arange(6, dtype="int32") % 5
    loss, labels, gate = model.router_loss(x, y)
    assert to_numpy(gate).shape == (6, 2)
    assert np.isfinite(to_numpy(loss))
    assert set(np.unique(to_numpy(labels))) <= {0, 1}
    # Exit after the last layer is always labelled "exit".
    assert np.all(to_numpy(labels)[exits == last] == 1)
    router_ids = {id(w) for r in model.backbone.routers for w in r.weights}
    before = {id(w): to_numpy(w).copy() for w in model.weights}
    model.train_on_batch(x, y)
    for w in model.weights:
        changed = not np.array_equal(to_numpy(w), before[id(w)])
        assert changed == (id(w) in router_ids), w.path


def test_flops_count():
    b = _model().backbone
    t, m, L = b.sequence_length, b.num_image_tokens, b.num_layers
    full = b.prefill_flops(L - 1, router_calls=False)
    assert full == L * b.layer_flops(t)
    assert b.prefill_flops(-1, router_calls=False) == L * b.layer_flops(
        t - m)
    saved = [flops_saved(b, [k]) for k in range(-1, L)]
    assert all(a > c for a, c in zip(saved, saved[1:]))
    assert saved[-1] < 0  # no exit: only the router cost remains
    # By hand for layer 0 of the small config (d=8, 2 heads of 4, ff 16).
    assert b.layer_flops(5) == 2 * 5 * 8 * 8 * 4 + 2 * 5 * 8 * 16 * 2 + (
        4 * 25 * 8)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="num_text_tokens"):
        layers.TokenExitRouter(4, num_text_tokens=1)
    with pytest.raises(ValueError, match="head_dim"):
        layers.TokenExitDecoderLayer(2, 8, head_dim=3)
    with pytest.raises(ValueError, match="inside the sequence"):
        layers.visual_exit_key_mask(np.array([0]), 1, 4, 1, 4)
    with pytest.raises(ValueError, match="same shape"):
        layers.token_exit_labels(np.zeros((2, 3)), np.zeros((2, 4)),
                                 np.zeros(2, "int32"))
    with pytest.raises(ValueError, match="patch_size"):
        zoo.TokenExitVLMBackbone(**dict(_SMALL, patch_size=3))
    with pytest.raises(ValueError, match="num_text_tokens"):
        zoo.TokenExitVLMBackbone(**dict(_SMALL, num_text_tokens=1))
    model = _model()
    with pytest.raises(ValueError, match="stage"):
        model.set_stage("both")
    with pytest.raises(ValueError, match="num_answers"):
        zoo.TokenExitVLM(model.backbone, num_answers=1)
    with pytest.raises(ValueError, match="batch size 1"):
        model.backbone.prefill_with_exit(_batch(2))
    with pytest.raises(ValueError, match="exit_layer"):
        model.backbone.prefill_with_exit(_batch(1), exit_layer=2)
    with pytest.raises(ValueError, match="threshold"):
        model.predict_with_exit(_batch(1), threshold=1.5)
    with pytest.raises(ValueError, match="token_ids"):
        model.answer_logits({"images": _batch(1)["images"],
                             "token_ids": np.zeros((1, 3), "int32")})
    with pytest.raises(ValueError, match="exit_layers"):
        model.router_loss(_batch(1), np.zeros(1, "int32"))
    with pytest.raises(ValueError, match="qtype"):
        vqa.encode_question("colour")
    with pytest.raises(ValueError, match="test set"):
        choose_threshold(model, "test")


def test_questions_and_answers():
    x, y, info = vqa.make_vqa("val", seed=0)
    assert len(y) == 180 * 4
    assert x["images"].shape == (720, 16, 16, 1)
    assert x["token_ids"].shape == (720, 6)
    # The last prompt token is "?" for every template.
    assert np.all(x["token_ids"][:, -1] == vqa.VOCABULARY.index("?"))
    img = np.zeros((8, 8), "float32")
    img[2, :3] = 1.0
    img[2, 3] = 0.5  # not bright (> 0.5 is)
    assert vqa.ANSWERS[vqa.answer(img, 3, "row_count", 2)] == "3"
    assert vqa.ANSWERS[vqa.answer(img, 3, "left_brighter")] == "yes"
    assert vqa.ANSWERS[vqa.answer(img, 5, "above_four")] == "yes"
    assert vqa.ANSWERS[vqa.answer(img, 4, "above_four")] == "no"
    # Upsampling keeps each pixel as one 2x2 patch.
    np.testing.assert_array_equal(
        vqa.upsample(img[None, :, :, None])[0, 4:6, 0:2, 0], 1.0)


# ----------------------------------------------------------------------
# keras-hub hook (PaliGemma, tiny random config, offline)
# ----------------------------------------------------------------------
def _check_paligemma_hook():
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.PaliGemmaBackbone(
        vocabulary_size=64, image_size=16, num_layers=2, num_query_heads=2,
        num_key_value_heads=1, hidden_dim=32, intermediate_dim=64,
        head_dim=16, vit_patch_size=8, vit_num_heads=2, vit_hidden_dim=32,
        vit_num_layers=1, vit_intermediate_dim=64,
    )
    rng = np.random.default_rng(0)
    # Rows 2-3 repeat the prompts of rows 0-1 with other images; one
    # batch shape for every call (JAX eager compiles each new shape).
    images = rng.uniform(size=(4, 16, 16, 3)).astype("float32")
    prompts = rng.integers(0, 64, (2, 6)).astype("int32")
    padding = np.array([[1] * 6, [1, 1, 1, 1, 0, 0]], "int32")
    response = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]], "int32")
    x = {"images": images, "token_ids": np.tile(prompts, (2, 1)),
         "padding_mask": np.tile(padding, (2, 1)),
         "response_mask": np.tile(response, (2, 1))}
    reference = to_numpy(backbone(x))
    gates = add_token_exit_gates(backbone, router_hidden_dim=8)
    out, logits = gated_forward(backbone, gates, x, np.array([-1, 0, 0, 1]),
                                enabled=False)
    np.testing.assert_allclose(to_numpy(out), reference, rtol=1e-6,
                               atol=1e-6)
    assert tuple(logits.shape) == (4, 2, 2)
    # Exit after the last block changes nothing either.
    out, _ = gated_forward(backbone, None, x, np.full(4, 1))
    np.testing.assert_allclose(to_numpy(out), reference, rtol=1e-6,
                               atol=1e-6)
    # A forced exit: the text stops depending on the image after it.
    n = backbone.image_sequence_length
    text = to_numpy(gated_forward(backbone, None, x, np.full(4, -1))[0])
    np.testing.assert_allclose(text[:2, n:], text[2:, n:], rtol=1e-6,
                               atol=1e-6)
    text = to_numpy(gated_forward(backbone, None, x, np.full(4, 0))[0])
    assert np.abs(text[:2, n:] - text[2:, n:]).max() > 1e-3
    assert np.abs(text[:, n:] - reference[:, n:]).max() > 1e-3
    with pytest.raises(ValueError, match="PaliGemmaBackbone"):
        add_token_exit_gates(_model().backbone)


# Building and first calling a PaliGemma eagerly costs ~20 s on JAX (each
# op compiles) against ~1 s on TensorFlow and torch: per backend on those
# two, and once (the `once` lane runs on JAX) for JAX.
@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="JAX runs it in the once lane")
def test_paligemma_hook():
    _check_paligemma_hook()


@pytest.mark.once
@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="the other backends run test_paligemma_hook")
def test_paligemma_hook_jax():
    _check_paligemma_hook()


# ----------------------------------------------------------------------
# Preset
# ----------------------------------------------------------------------
@pytest.mark.once
def test_bundled_preset_metrics_are_reproduced():
    model = zoo.load("token_exit_vlm_digits")
    assert isinstance(model, zoo.TokenExitVLM)
    metrics = evaluate_digits_vqa(model, "test", speed=False)
    stored = zoo.read_metadata("token_exit_vlm_digits")["metrics"]
    for key in ("accuracy_full", "accuracy_exit", "flops_saved",
                "mean_exit_layer"):
        assert metrics[key] == pytest.approx(stored[key], abs=2e-3), key
    assert metrics["num_examples"] == 2160
