"""Tests of the pruning demo tab (`demos/pruning.py`).

Unmarked tests call the pure functions with a tiny untrained digits CNN
(filters 4 and 6: 36 + 216 + 60 = 312 prunable weights) and build (not
launch) the demo and the hub; they run on every backend. The
`@pytest.mark.demo` test launches the hub and calls its endpoint with
`gradio_client`. The bundled preset is not needed.
"""

import gradio as gr
import keras
import numpy as np
import pytest

from demos import hub as hub_module
from demos import pruning
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.pruning import PruningOptimizer
from zoo.pruning import is_prunable

SIZES = (36, 216, 60)  # the tiny model's kernels
NUM_SAMPLES = 60  # test digits the pure-function tests evaluate on
SPARSITY_ERROR = r"`sparsity` must be a number in \[0, 99\]"
METHOD_ERROR = "`method` must be one of"


@pytest.fixture(scope="module")
def model():
    return pruning.build_tiny_model()


@pytest.fixture(scope="module")
def data():
    x, y = pruning.digits_test()
    return x[:NUM_SAMPLES], y[:NUM_SAMPLES]


def _kernels(model):
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_variables
            if is_prunable(v)]


def _weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def _accuracy_with_masks(model, masks, x, y):
    """Accuracy of `model` with its kernels multiplied by `masks`."""
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    kernels = [v for v in clone.trainable_variables if is_prunable(v)]
    for v, m in zip(kernels, masks):
        v.assign(keras.ops.convert_to_numpy(v) * m)
    logits = keras.ops.convert_to_numpy(clone(x, training=False))
    return float(np.mean(logits.argmax(-1) == y))


def test_global_mp_keeps_the_largest_magnitudes(model, data):
    x, y = data
    result = pruning.prune_and_evaluate(model, "Global MP", 50, x, y)
    kernels = _kernels(model)
    flat = np.abs(np.concatenate([k.ravel() for k in kernels]))
    # k = round(312 * 0.5) = 156 kept: the 156 largest |w| (no ties).
    threshold = np.sort(flat)[-156]
    masks = [(np.abs(k) >= threshold).astype("float32") for k in kernels]
    assert result["zeros"] == 156 and result["prunable"] == 312
    assert result["sparsity"] == 0.5 and result["target"] == 0.5
    assert [r["weights"] for r in result["layers"]] == list(SIZES)
    assert [r["kept"] for r in result["layers"]] == [
        int(m.sum()) for m in masks]
    for row, size in zip(result["layers"], SIZES):
        assert row["sparsity"] == pytest.approx(1 - row["kept"] / size)
    np.testing.assert_array_equal(np.sort(result["kept_magnitudes"]),
                                  np.sort(flat[flat >= threshold]))
    assert result["pruned_magnitudes"].max() < (
        result["kept_magnitudes"].min())
    assert result["accuracy"] == _accuracy_with_masks(model, masks, x, y)
    assert result["dense_accuracy"] == _accuracy_with_masks(
        model, [np.ones_like(k) for k in kernels], x, y)
    assert result["min_weights"] == 0


def test_uniform_per_layer_mp_prunes_every_layer_alike(model, data):
    result = pruning.prune_and_evaluate(model, "Uniform per-layer MP", 50,
                                        *data)
    # Each kernel keeps round(n / 2) weights: 18, 108, 30.
    assert [r["kept"] for r in result["layers"]] == [18, 108, 30]
    assert [r["sparsity"] for r in result["layers"]] == [0.5, 0.5, 0.5]
    assert result["sparsity"] == 0.5


def test_mt_prevents_layer_collapse(model, data):
    # 99 %: round(312 * 0.01) = 3 weights kept in all.
    plain = pruning.prune_and_evaluate(model, "Global MP", 99, *data)
    mt = pruning.prune_and_evaluate(model, "Global MP + MT", 99, *data)
    assert sum(r["kept"] for r in plain["layers"]) == 3
    assert min(r["kept"] for r in plain["layers"]) == 0  # collapse
    assert mt["min_weights"] == pruning.mt_min_weights(312) == 1
    assert [r["kept"] for r in mt["layers"]] == [1, 1, 1]
    assert pruning.mt_min_weights(19360) == 9


def test_zero_sparsity_keeps_every_weight(model, data):
    result = pruning.prune_and_evaluate(model, "Global MP", "0", *data)
    assert result["sparsity"] == 0.0 and result["zeros"] == 0
    assert len(result["pruned_magnitudes"]) == 0
    assert len(result["kept_magnitudes"]) == 312
    assert result["accuracy"] == result["dense_accuracy"]


@pytest.mark.parametrize("method, sparsity, message", [
    ("Global MP", 100, SPARSITY_ERROR),
    ("Global MP", -1, SPARSITY_ERROR),
    ("Global MP", "ninety", SPARSITY_ERROR),
    ("Global MP", None, SPARSITY_ERROR),
    ("Global MP", True, SPARSITY_ERROR),
    ("Global MP", float("nan"), SPARSITY_ERROR),
    ("SAP", 50, r"`method` must be one of \['Global MP', "),
    (None, 50, METHOD_ERROR),
    (["Global MP"], 50, METHOD_ERROR),
])
def test_bad_inputs_are_user_errors(model, data, method, sparsity,
                                    message):
    with pytest.raises(gr.Error, match=message):
        pruning.prune_and_evaluate(model, method, sparsity, *data)


def test_the_model_is_never_modified(model, data):
    before = _weights(model)
    optimizer = model.optimizer
    for method, sparsity in (("Global MP", 90), ("Global MP + MT", 99),
                             ("Uniform per-layer MP", 60),
                             ("Global MP", 100), ("nope", 50)):
        try:
            pruning.prune_and_evaluate(model, method, sparsity, *data)
        except gr.Error:
            pass
    assert model.optimizer is optimizer
    assert not isinstance(model.optimizer, PruningOptimizer)
    for old, new in zip(before, _weights(model)):
        np.testing.assert_array_equal(old, new)


def test_predict_summary_and_pictures(model):
    summary, bars, histogram = pruning.predict("Global MP + MT", 90, model)
    assert "**Global MP + MT** (MT: at least 1 kept per layer)" in summary
    # round(312 * 0.1) = 31 kept: 281 zeros.
    assert "measured sparsity **90.06%** (281 of 312" in summary
    assert "Test accuracy **" in summary and "540 test digits" in summary
    for picture in (bars, histogram):
        assert picture.dtype == np.uint8 and picture.shape == (280, 640, 3)
    # The pictures follow the result.
    other_bars, other_histogram = pruning.predict("Global MP", 30,
                                                  model)[1:]
    assert np.any(bars != other_bars)
    assert np.any(histogram != other_histogram)


def test_pictures_with_empty_sides():
    rows = [{"path": "m/conv_0/kernel", "weights": 4, "kept": 4,
             "sparsity": 0.0}]
    assert pruning.sparsity_bars(rows, 0.0).shape == (280, 640, 3)
    assert pruning.magnitude_histogram(np.array([0.5]),
                                       np.array([])).shape == (280, 640, 3)
    assert pruning.magnitude_histogram(np.array([]),
                                       np.array([0.0])).shape == (
        280, 640, 3)


def test_demo_rejects_other_models():
    flat = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match=r"\(N, 8, 8, 1\) digits"):
        pruning.build_demo(flat)


def test_demo_and_hub_build(model):
    assert api_names(pruning.build_demo(model)) == ["prune"]
    assert hub_module.get_tab("pruning").preset == "cafa_digits_encoder"
    hub = hub_module.build_hub({"pruning": model})
    assert [(t.elem_id, t.label) for t in hub_tabs(hub)] == [
        ("tab-pruning", pruning.TITLE)]
    assert api_names(hub) == ["pruning_prune"]


@pytest.mark.demo
def test_hub_client_prune(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"pruning": model})
    with serve(hub) as client:
        summary, _, _ = client.predict("Uniform per-layer MP", 50,
                                       api_name="/pruning_prune")
        assert "measured sparsity **50.00%** (156 of 312" in summary
        for args, message in ((("Global MP", 99.5), SPARSITY_ERROR),
                              (("SAP", 50), METHOD_ERROR)):
            with pytest.raises(AppError, match=message):
                client.predict(*args, api_name="/pruning_prune")
