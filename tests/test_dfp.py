"""DFP INT16: numpy reference, keras quantisers, training wrappers."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from layers import dfp
from zoo import dfp_reference as ref
from zoo import dfp_training
from zoo import registry

BACKEND = keras.backend.backend()


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _grad(fn, x, upstream):
    """Gradient of `sum(fn(x) * upstream)` with respect to `x`."""
    x = ops.convert_to_tensor(x)
    upstream = ops.convert_to_tensor(upstream)
    if BACKEND == "jax":
        import jax

        return _np(jax.grad(lambda v: ops.sum(fn(v) * upstream))(x))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = ops.sum(fn(x) * upstream)
        return _np(tape.gradient(loss, x))
    x = x.detach().clone().requires_grad_(True)
    ops.sum(fn(x) * upstream).backward()
    return _np(x.grad)


def _tensors():
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(50, 7)).astype("float32") * 3.0,
        (rng.normal(size=(3, 4, 5)) * 1e-30).astype("float32"),
        (rng.standard_cauchy(200) * 1e5).astype("float32"),
        np.float32([1.9999999, 1.0, -0.5]),  # rounds to 2**15: E_s + 1
        np.float32([-65535.99, 3.0, 0.0]),
        np.zeros((2, 3), "float32"),
        np.float32([2.0**-115, -(2.0**-120)]),  # below the E_s floor
    ]


# ----------------------------------------------------------------------
# numpy reference
# ----------------------------------------------------------------------
@pytest.mark.parametrize("bits", [16, 8])
def test_reference_round_trip_bound_and_range(bits):
    for x in _tensors():
        i, e = ref.to_dfp(x, bits)
        assert i.dtype == np.int16
        assert np.max(np.abs(i.astype(int))) <= 2 ** (bits - 1) - 1
        assert e >= ref.MIN_EXPONENT
        err = np.abs(ref.from_dfp(i, e) - x.astype("float64"))
        assert np.all(err <= 2.0 ** (e - 1))


def test_reference_exponent_rule():
    assert ref.dfp_exponent(np.float32([1.0, -0.5])) == -14
    assert ref.to_dfp(np.float32([1.0, -0.5]))[0].tolist() == [16384, -8192]
    # 1.9999999 * 2**14 rounds to 2**15: the exponent goes up by one.
    assert ref.dfp_exponent(np.float32([1.9999999])) == -13
    assert ref.to_dfp(np.float32([1.9999999]))[0].tolist() == [16384]
    # A largest magnitude that is used fully: 32767 * 2**-14.
    i, e = ref.to_dfp(np.float64([32767 * 2.0**-14]))
    assert (i.tolist(), e) == ([32767], -14)
    # Round half to even.
    i, _ = ref.to_dfp(np.float64([1.0, 2.5 * 2.0**-14, 3.5 * 2.0**-14]))
    assert i.tolist() == [16384, 2, 4]


def test_reference_zero_tensor():
    i, e = ref.to_dfp(np.zeros((3, 2)))
    assert e == ref.MIN_EXPONENT and not np.any(i)
    out = ref.dfp_matmul(np.zeros((2, 3)), np.ones((3, 4)))
    assert np.array_equal(out.value, np.zeros((2, 4)))
    assert out.overflows == 0


def test_reference_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        ref.to_dfp(np.float32([1.0, np.nan]))
    with pytest.raises(ValueError, match="bits"):
        ref.to_dfp(np.ones(2), bits=32)


@pytest.mark.parametrize("chunk", [None, 1, 3, 16])
def test_reference_matmul_is_exact_without_overflow(chunk):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 5, 37))
    b = rng.normal(size=(37, 6))
    out = ref.dfp_matmul(a, b, chunk=chunk)
    expected = ref.quantize(a) @ ref.quantize(b)
    assert out.overflows == out.overflows_unchunked == 0
    assert np.array_equal(out.value, expected)
    chunks = 1 if chunk is None else -(-37 // chunk)
    assert out.accumulators == 10 * 6 * chunks


def test_reference_overflow_detected_and_avoided_by_chunking():
    # Max-magnitude mantissas: 32604**2 ~ 2**30, three terms overflow.
    a = np.full((2, 8), 1.99)
    b = np.full((8, 3), -1.99)
    full = ref.dfp_matmul(a, b)
    assert full.overflows == full.overflows_unchunked == 6
    exact = ref.quantize(a) @ ref.quantize(b)
    assert not np.allclose(full.value, exact)
    # The int32 wrap-around of the exact sum.
    ia, ea = ref.to_dfp(a)
    ib, eb = ref.to_dfp(b)
    total = int(ia[0].astype(np.int64) @ ib[:, 0].astype(np.int64))
    wrapped = (total + 2**31) % 2**32 - 2**31
    assert full.value[0, 0] == wrapped * 2.0 ** (ea + eb)
    chunked = ref.dfp_matmul(a, b, chunk=2)
    assert chunked.overflows == 0 and chunked.overflows_unchunked == 6
    assert np.array_equal(chunked.value, exact)
    # A running sum that overflows mid-chain counts, even if it returns.
    a = np.array([[1.99, 1.99, 1.99, -1.99, -1.99, -1.99]])
    b = np.full((6, 1), 1.99)
    assert ref.dfp_matmul(a, b).overflows == 1
    assert ref.dfp_matmul(a, b, chunk=3).overflows == 2  # both chunks
    assert ref.dfp_matmul(a, b, chunk=2).overflows == 0


def test_reference_einsum_matches_numpy():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(2, 4, 4, 3))
    v = rng.normal(size=(2, 4, 4, 3))
    out = ref.dfp_einsum("bhwc,bwvc->bhvc", z, v, chunk=2)
    expected = np.einsum("bhwc,bwvc->bhvc", ref.quantize(z), ref.quantize(v))
    assert np.array_equal(out.value, expected)
    k = rng.normal(size=(1, 3, 5))  # broadcast batch axis
    x = rng.normal(size=(4, 3))
    out = ref.dfp_einsum("bi,bio->bo", x, k)
    assert np.array_equal(
        out.value, np.einsum("bi,bio->bo", ref.quantize(x),
                             np.broadcast_to(ref.quantize(k), (4, 3, 5)))
    )


# ----------------------------------------------------------------------
# keras.ops quantisers (current backend)
# ----------------------------------------------------------------------
@pytest.mark.parametrize("bits", [16, 8])
def test_quantizers_match_the_reference_bit_for_bit(bits):
    for x in _tensors():
        i, e = dfp.dfp_mantissas(x, bits)
        ri, re_ = ref.to_dfp(x, bits)
        assert int(_np(e)) == re_
        assert np.array_equal(_np(i), ri)
        q = _np(dfp.dfp_quantize(x, bits))
        assert q.dtype == np.float32
        assert np.array_equal(q.astype("float64"), ref.quantize(x, bits))
        same = _np(dfp.dfp_quantize_gradient(x, bits))
        assert np.array_equal(same, x)


def test_quantizer_gradients():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5)).astype("float32")
    up = (rng.normal(size=(4, 5)) * 1e-3).astype("float32")
    # Straight-through: the gradient passes unchanged.
    assert np.array_equal(_grad(dfp.dfp_quantize, x, up), up)
    # The gradient of the identity is the DFP-quantised upstream.
    g = _grad(dfp.dfp_quantize_gradient, x, up)
    assert np.array_equal(g.astype("float64"), ref.quantize(up))
    assert not np.array_equal(g, up)


def test_quantizer_checks_bits():
    with pytest.raises(ValueError, match="bits"):
        dfp.dfp_quantize(np.ones(2, "float32"), bits=1)


# ----------------------------------------------------------------------
# enable_dfp / disable_dfp
# ----------------------------------------------------------------------
def _outputs(model, x):
    return [_np(t) for t in keras.tree.flatten(model(x, training=False))]


def _equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def _weights(model):
    return [_np(w) for w in model.weights]


@pytest.mark.parametrize("name", [
    "digits_cnn_classifier", "hyper_cl_classifier_chunked",
    "hyper_mlp_classifier",
])
def test_wrappers_without_quantisers_reproduce_the_float_model(name):
    # Guards the re-implemented calls against drift from the classes.
    spec = registry.get_model_spec(name)
    model = spec.build_tiny(0)
    x, _ = spec.example_batch(4, 0)
    base = _outputs(model, x)
    dfp_training._enable(model, None)
    assert _equal(_outputs(model, x), base)
    dfp_training.disable_dfp(model)


def test_enable_disable_round_trip_and_idempotence():
    spec = registry.get_model_spec("terminator_classifier_2d")
    model = spec.build_tiny(0)
    x, _ = spec.example_batch(4, 0)
    config = model.get_config()
    weights = _weights(model)
    base = _outputs(model, x)
    # Without quantisers the re-implemented calls are the float model.
    dfp_training._enable(model, None)
    assert _equal(_outputs(model, x), base)
    dfp_training.enable_dfp(model)
    wrapped = dfp_training.dfp_layers(model)
    names = {type(layer).__name__ for layer, _ in wrapped}
    assert {"TerminatorBlock", "ContextLocalConv", "Dense"} <= names
    quantised = _outputs(model, x)
    assert not _equal(quantised, base)
    assert all(np.allclose(q, b, atol=1e-2) for q, b in zip(quantised, base))
    dfp_training.enable_dfp(model)  # idempotent
    assert dfp_training.dfp_layers(model) == wrapped
    assert _equal(_outputs(model, x), quantised)
    assert model.get_config() == config
    assert _equal(_weights(model), weights)
    dfp_training.disable_dfp(model)
    assert dfp_training.dfp_layers(model) == []
    assert _equal(_outputs(model, x), base)
    dfp_training.disable_dfp(model)  # idempotent too
    assert dfp_training.dfp_layers(model) == []


def test_saved_enabled_model_loads_as_float_model(tmp_path):
    spec = registry.get_model_spec("hyper_cl_classifier_chunked")
    model = spec.build_tiny(0)
    x, _ = spec.example_batch(4, 0)
    base = _outputs(model, x)
    dfp_training.enable_dfp(model)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert dfp_training.dfp_layers(loaded) == []
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(_outputs(loaded, x)[0], base[0], atol=1e-6)


def test_dense_gradients_are_dfp_products():
    rng = np.random.default_rng(4)
    dense = keras.layers.Dense(3, use_bias=False)
    dense.build((5, 4))
    kernel = rng.normal(size=(4, 3)).astype("float32")
    dense.kernel.assign(kernel)
    dfp_training.enable_dfp(dense)
    x = rng.normal(size=(5, 4)).astype("float32")
    up = (rng.normal(size=(5, 3)) * 1e-2).astype("float32")
    expected = ref.quantize(x) @ ref.quantize(kernel)
    np.testing.assert_allclose(_np(dense(x)), expected, rtol=1e-5,
                               atol=1e-6)
    grad_x = _grad(dense, x, up)
    np.testing.assert_allclose(
        grad_x, ref.quantize(up) @ ref.quantize(kernel).T, rtol=1e-5,
        atol=1e-8,
    )


def test_jit_training_step_under_dfp():
    spec = registry.get_model_spec("hyper_mlp_classifier")
    x, y = spec.example_batch(8, 0)
    float_model = spec.build_tiny(0)
    dfp_model = spec.build_tiny(0)
    initial = _weights(dfp_model)
    for model in (float_model, dfp_model):
        model.train_on_batch(x, y)  # traces the float train function
    dfp_training.enable_dfp(dfp_model)
    for model in (float_model, dfp_model):
        model.train_on_batch(x, y)
    after = _weights(dfp_model)
    assert all(np.all(np.isfinite(w)) for w in after)
    assert not _equal(after, _weights(float_model))

    # The straight-through gradients reach the same weights as in float.
    def moved(weights):
        return [not np.array_equal(a, b) for a, b in zip(initial, weights)]

    assert moved(after) == moved(_weights(float_model))
    dfp_training.disable_dfp(dfp_model)
    assert dfp_training.dfp_layers(dfp_model) == []


def test_overflow_report_counts_int32_overflows():
    inputs = keras.Input((8,))
    outputs = keras.layers.Dense(3, kernel_initializer=keras.initializers
                                 .Constant(1.99), name="d")(inputs)
    model = keras.Model(inputs, outputs)
    x = np.full((2, 8), 1.99, "float32")
    rows = dfp_training.dfp_overflow_report(model, x, chunk=2)
    assert len(rows) == 1
    row = rows[0]
    assert (row["op"], row["reduction"], row["outputs"]) == ("matmul", 8, 6)
    assert row["overflows_unchunked"] == 6 and row["overflows"] == 0
    assert row["accumulators"] == 6 * 4
    assert dfp_training.dfp_layers(model) == []  # left as it was


def test_overflow_report_on_a_generated_kernel_model():
    spec = registry.get_model_spec("terminator_classifier_1d")
    model = spec.build_tiny(0)
    x, _ = spec.example_batch(4, 0)
    dfp_training.enable_dfp(model, bits=12)
    rows = dfp_training.dfp_overflow_report(model, x, chunk=8)
    ops_seen = {row["op"] for row in rows}
    assert {"matmul", "global", "sample_depthwise"} <= ops_seen
    assert all("error" not in row for row in rows)
    assert all(row["overflows"] <= row["accumulators"] for row in rows)
    assert {b for _, b in dfp_training.dfp_layers(model)} == {12}
