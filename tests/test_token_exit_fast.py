"""Compiled batch-1 DyVTE prefill (`zoo.token_exit.token_exit_fast`).

Run once per backend (jax, tensorflow, torch): the compiled removal path
(both executions) gives the logits, exit layer and router probabilities
of `TokenExitVLMBackbone.prefill_with_exit` + the answer head; the
compiled full model those of the masked path; the shim's
`compiled_function` those of the eager function.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo._inference_shim import compiled_function
from zoo.token_exit.token_exit_eval import add_prefill_speedup
from zoo.token_exit.token_exit_fast import EXECUTIONS
from zoo.token_exit.token_exit_fast import CompiledPrefill
from zoo.token_exit.token_exit_fast import measure_prefill_speedup

NUM_LAYERS = 3


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    backbone = zoo.TokenExitVLMBackbone(
        vocabulary_size=20, num_layers=NUM_LAYERS, num_heads=2,
        hidden_dim=16, intermediate_dim=32, image_size=6, patch_size=2,
        image_channels=3, num_prefix_tokens=1, num_text_tokens=4,
        router_hidden_dim=8)
    return zoo.TokenExitVLM(backbone, num_answers=7)


def _inputs(num=1, seed=0):
    rng = np.random.default_rng(seed)
    return {"images": rng.random((num, 6, 6, 3), "float32"),
            "token_ids": rng.integers(0, 20, (num, 5)).astype("int32")}


def _reference(model, x, threshold, exit_layer):
    out = model.backbone.prefill_with_exit(x, threshold, exit_layer)
    logits = model.answer_head(out["hidden_states"][:, -1])
    return keras.ops.convert_to_numpy(logits), out


def _check(got, model, x, threshold, exit_layer=None):
    logits, ref = _reference(model, x, threshold, exit_layer)
    assert got["exit_layer"] == ref["exit_layer"]
    assert got["logits"].shape == (1, 7)
    np.testing.assert_allclose(got["logits"], logits, atol=1e-5)
    np.testing.assert_allclose(got["exit_probs"], ref["exit_probs"],
                               atol=1e-5)
    return got["exit_layer"]


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def compiled(model):
    return {e: CompiledPrefill(model, e) for e in EXECUTIONS}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_equals_prefill_with_exit(model, compiled, execution):
    fast = compiled[execution]
    x = _inputs()
    # Full model: one compiled call, no routers.
    masked = keras.ops.convert_to_numpy(model.answer_logits(x))
    np.testing.assert_allclose(fast.full(x), masked, atol=1e-5)
    # Forced exits, every layer (-1 = no image at all).
    for k in range(-1, NUM_LAYERS):
        assert _check(fast(x, 0.5, exit_layer=k), model, x, 0.5, k) == k
    # Router exits: thresholds between the routers' probabilities give
    # every exit layer (the last one when no router fires).
    probs = np.array(model.backbone.prefill_with_exit(x, 1.0)[
        "exit_probs"])
    seen = set()
    for threshold in (0.0, 1.0, *(probs - 1e-4), *(probs + 1e-4)):
        threshold = float(np.clip(threshold, 0.0, 1.0))
        seen.add(_check(fast(x, threshold), model, x, threshold))
    assert NUM_LAYERS - 1 in seen and len(seen) >= 2
    # Other inputs, same compiled functions.
    for seed in (1, 2):
        _check(fast(_inputs(seed=seed), 0.5), model, _inputs(seed=seed), 0.5)


def test_bad_arguments(model, compiled):
    with pytest.raises(ValueError, match="execution"):
        CompiledPrefill(model, "graph")
    fast = compiled["fused"]
    with pytest.raises(ValueError, match="batch size 1"):
        fast(_inputs(2))
    with pytest.raises(ValueError, match="exit_layer"):
        fast(_inputs(), exit_layer=NUM_LAYERS)
    with pytest.raises(ValueError, match="threshold"):
        fast(_inputs(), threshold=1.5)
    with pytest.raises(ValueError, match="Expected images"):
        fast({"images": np.zeros((1, 8, 8, 3), "float32"),
              "token_ids": np.zeros((1, 5), "int32")})
    with pytest.raises(ValueError, match="repeats"):
        measure_prefill_speedup(model, _inputs(2), 2, repeats=0)


def test_measure_prefill_speedup_and_metric(model, compiled):
    x = _inputs(3)
    out = measure_prefill_speedup(compiled["fused"], x, num_questions=2,
                                  repeats=1, threshold=0.0)
    assert out["speedup"] > 0 and out["full_ms"] > 0 and out["exit_ms"] > 0
    np.testing.assert_array_equal(out["exit_layers"], [0, 0])
    forced = measure_prefill_speedup(compiled["steps"], x, num_questions=5,
                                     repeats=1, exit_layer=1)
    np.testing.assert_array_equal(forced["exit_layers"], [1, 1, 1])
    # The evaluators' helper (compiles its own `CompiledPrefill`).
    metrics = add_prefill_speedup(model, x, {"a": 1}, num_questions=2,
                                  repeats=1)
    assert metrics["a"] == 1 and metrics["prefill_speedup_batch1"] > 0
    assert 0 <= metrics["prefill_speedup_batch1_exit_layer"] < NUM_LAYERS


def test_compiled_function_equals_eager():
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense(3)
    dense.build((None, 4))

    def fn(x, scale):
        y = dense(x) * scale
        return keras.ops.cond(scale > 0, lambda: y, lambda: -y)

    compiled = compiled_function(fn, dense.variables)
    x = np.random.default_rng(0).random((2, 4), "float32")
    for scale in (np.float32(2.0), np.float32(-1.0)):
        eager = keras.ops.convert_to_numpy(fn(x, scale))
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(compiled(x, scale)), eager,
            atol=1e-6)
