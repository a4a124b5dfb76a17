"""DyVTE on keras-hub's PaliGemma: the batch-1 removal path.

`removal_forward` drives the decoder blocks' own sublayers with explicit
position ids and physically removes the image rows after the exit. On a
tiny random PaliGemma (the config of tests/test_token_exit.py) and a
PaliGemma-2-style one (post norms, attention soft cap, sliding window,
query scaling by hidden size) it must give:

1. with no exit, the text rows of the unmodified `backbone(inputs)`;
2. with an exit after block `k`, the text rows of the masked path
   `gated_forward(..., exit_layers=[k])` (masking the image keys equals
   removing the image rows when the positions are kept);
3. the masked path's router probabilities up to the exit;
4. a clear `ValueError` for bad input.

Tolerance: `atol = rtol = 1e-5` in float32. Both sides run the same
weights and the same float32 ops; they differ only in how the
reductions are grouped (keras-hub's fused layer call against the hook's
op-by-op call, and softmax / matmul rows with or without masked image
columns), which moves values of magnitude ~1-5 by a few 1e-7 (measured
<= 3.4e-6 after three blocks). An exit itself moves the text rows by
more than 1e-2, which the tests also assert, so the tolerance cannot
hide a wrong mask or wrong positions.
"""

import keras
import numpy as np
import pytest
from keras import ops

from tests.harness import to_numpy
from zoo.token_exit.keras_hub_hook import PaliGemmaTokenExitGates
from zoo.token_exit.keras_hub_hook import add_token_exit_gates
from zoo.token_exit.keras_hub_hook import gated_forward
from zoo.token_exit.keras_hub_hook import removal_forward

_TOL = dict(rtol=1e-5, atol=1e-5)

# The tiny config of tests/test_token_exit.py (`_check_paligemma_hook`).
_PALI_GEMMA = dict(
    vocabulary_size=64, image_size=16, num_layers=2, num_query_heads=2,
    num_key_value_heads=1, hidden_dim=32, intermediate_dim=64, head_dim=16,
    vit_patch_size=8, vit_num_heads=2, vit_hidden_dim=32, vit_num_layers=1,
    vit_intermediate_dim=64,
)
# PaliGemma 2 uses Gemma 2 decoders: every optional branch of the block.
_PALI_GEMMA_2 = dict(
    _PALI_GEMMA, num_layers=3, use_post_ffw_norm=True,
    use_post_attention_norm=True, attention_logit_soft_cap=2.0,
    use_sliding_window_attention=True, sliding_window_size=3,
    query_head_dim_normalize=False,
)
_CONFIGS = {"pali_gemma": _PALI_GEMMA, "pali_gemma_2": _PALI_GEMMA_2}


def _tiny_paligemma(config):
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.PaliGemmaBackbone(**config)
    # Larger weights than the initialisers' so that an exit visibly
    # changes the text rows (and the routers' outputs are not ~0.5).
    rng = np.random.default_rng(0)
    backbone.set_weights([rng.normal(0, 0.5, w.shape).astype("float32")
                          for w in backbone.weights])
    gates = add_token_exit_gates(backbone, router_hidden_dim=8)
    # Four prompt tokens, two response tokens, one padding token.
    inputs = {
        "images": rng.uniform(size=(1, 16, 16, 3)).astype("float32"),
        "token_ids": rng.integers(0, 64, (1, 7)).astype("int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 1, 1, 0]], "int32"),
        "response_mask": np.array([[0, 0, 0, 0, 1, 1, 0]], "int32"),
    }
    return backbone, gates, inputs


# JAX compiles every eager op on first use (~20 s per config against
# ~2 s on the other backends): JAX runs the PaliGemma-2 config (every
# branch of the block) in the `once` lane, as test_paligemma_hook_jax.
def _configs():
    if keras.backend.backend() == "jax":
        return [pytest.param("pali_gemma_2", marks=pytest.mark.once)]
    return list(_CONFIGS)


@pytest.fixture(scope="module", params=_configs())
def setup(request):
    backbone, gates, inputs = _tiny_paligemma(_CONFIGS[request.param])
    reference = to_numpy(backbone(inputs))
    return backbone, gates, inputs, reference


def _text(backbone, values):
    return to_numpy(values)[:, backbone.image_sequence_length:]


def _gated(backbone, gates, inputs, k):
    out, logits = gated_forward(backbone, gates, inputs, np.array([k]))
    probs = to_numpy(ops.softmax(logits))[0, :, 1]
    return _text(backbone, out), probs


def test_no_exit_equals_unmodified_backbone(setup):
    backbone, gates, inputs, reference = setup
    num_layers = len(backbone.transformer_layers)
    n = backbone.image_sequence_length
    expected = reference[:, n:]
    # Gates disabled; the last exit; a threshold no router can pass.
    for result in (removal_forward(backbone, None, inputs),
                   removal_forward(backbone, gates, inputs,
                                   exit_layer=num_layers - 1),
                   removal_forward(backbone, gates, inputs, threshold=1.0)):
        np.testing.assert_allclose(to_numpy(result["hidden_states"]),
                                   expected, **_TOL)
        assert result["exit_layer"] == num_layers - 1
        np.testing.assert_array_equal(result["position_ids"],
                                      np.arange(n, n + 7))
    assert removal_forward(backbone, None, inputs)["exit_probs"] == []
    assert len(result["exit_probs"]) == num_layers


def test_forced_exit_equals_masked_path(setup):
    backbone, gates, inputs, reference = setup
    num_layers = len(backbone.transformer_layers)
    n = backbone.image_sequence_length
    for k in range(-1, num_layers):
        masked, masked_probs = _gated(backbone, gates, inputs, k)
        result = removal_forward(backbone, gates, inputs, exit_layer=k)
        assert result["exit_layer"] == k
        np.testing.assert_array_equal(result["position_ids"],
                                      np.arange(n, n + 7))
        np.testing.assert_allclose(to_numpy(result["hidden_states"]),
                                   masked, **_TOL)
        # The routers before the exit read the same states.
        assert len(result["exit_probs"]) == k + 1
        np.testing.assert_allclose(result["exit_probs"],
                                   masked_probs[:k + 1], rtol=0, atol=1e-5)
        if k < num_layers - 1:
            # The exit changes the text rows: the check is not vacuous.
            assert np.abs(masked - reference[:, n:]).max() > 1e-2


def test_router_exit_follows_threshold(setup):
    backbone, gates, inputs, _ = setup
    num_layers = len(backbone.transformer_layers)
    probs = np.array(removal_forward(backbone, gates, inputs,
                                     threshold=1.0)["exit_probs"])
    assert probs.shape == (num_layers,)
    # Midpoints between the sorted probabilities: every exit layer the
    # routers can produce.
    values = np.sort(probs)
    for threshold in [0.0] + list((values[1:] + values[:-1]) / 2):
        fired = np.flatnonzero(probs > threshold)
        expected = int(fired[0]) if fired.size else num_layers - 1
        result = removal_forward(backbone, gates, inputs,
                                 threshold=float(threshold))
        assert result["exit_layer"] == expected
        np.testing.assert_allclose(result["exit_probs"],
                                   probs[:expected + 1], rtol=0, atol=1e-6)
        masked, _ = _gated(backbone, gates, inputs, expected)
        np.testing.assert_allclose(to_numpy(result["hidden_states"]),
                                   masked, **_TOL)


def test_bad_inputs_are_refused(setup):
    backbone, gates, inputs, _ = setup
    last = len(backbone.transformer_layers) - 1
    batch = {key: np.concatenate([value, value]) for key, value in
             inputs.items()}
    with pytest.raises(ValueError, match="batch size 1"):
        removal_forward(backbone, gates, batch)
    for exit_layer in (-2, last + 1, 0.5, True):
        with pytest.raises(ValueError, match="exit_layer"):
            removal_forward(backbone, gates, inputs, exit_layer=exit_layer)
    for threshold in (-0.1, 1.5, "0.5", None, True, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            removal_forward(backbone, gates, inputs, threshold=threshold)
    for key in inputs:
        partial = {k: v for k, v in inputs.items() if k != key}
        with pytest.raises(ValueError, match=key):
            removal_forward(backbone, gates, partial)
    with pytest.raises(ValueError, match="must be a dict"):
        removal_forward(backbone, gates, list(inputs.values()))
    short = dict(inputs, padding_mask=inputs["padding_mask"][:, :5])
    with pytest.raises(ValueError, match="padding_mask"):
        removal_forward(backbone, gates, short)
    with pytest.raises(ValueError, match="one router per decoder block"):
        removal_forward(backbone, PaliGemmaTokenExitGates(last + 2),
                        inputs)
    with pytest.raises(ValueError, match="PaliGemmaBackbone"):
        removal_forward(keras.layers.Dense(2), gates, inputs)
