"""HyperDense through the shared harness, plus its own behaviour."""

import keras
import numpy as np
import pytest

import layers
from layers.hyper_dense import target_variance
from tests import harness


def test_equals_dense_given_generated_weights():
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    layer = layers.HyperDense(4, seed=0)
    y = harness.to_numpy(layer(x))
    kernel, bias = harness.to_numpy(layer.generate_weights())
    dense = keras.layers.Dense(4)
    dense.build((None, 6))
    dense.set_weights([kernel, bias])
    np.testing.assert_allclose(y, harness.to_numpy(dense(x)), atol=1e-5)


def test_per_sample_weights_differ_and_match_single_sample_calls():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6)).astype("float32")
    cond = rng.uniform(0, 1, (5, 2)).astype("float32")
    layer = layers.HyperDense(3, conditioning="input", seed=1)
    batched = harness.to_numpy(layer(x, condition=cond))
    kernels, _ = layer.generate_weights(cond)
    kernels = harness.to_numpy(kernels)
    assert kernels.shape == (5, 6, 3)
    assert not np.allclose(kernels[0], kernels[1])
    for i in range(5):
        single = harness.to_numpy(layer(x[i:i + 1], condition=cond[i:i + 1]))
        np.testing.assert_allclose(batched[i:i + 1], single, atol=1e-5)


def test_task_conditioning_selects_the_task_weights():
    x = np.ones((2, 4), "float32")
    layer = layers.HyperDense(3, conditioning="task", num_tasks=3, seed=2)
    y = harness.to_numpy(layer(x, condition=np.array([0, 2])))
    y0 = harness.to_numpy(layer(x[:1], condition=np.array([0])))
    y2 = harness.to_numpy(layer(x[:1], condition=np.array([2])))
    np.testing.assert_allclose(y[:1], y0, atol=1e-6)
    np.testing.assert_allclose(y[1:], y2, atol=1e-6)
    assert not np.allclose(y0, y2)


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(generation="chunked", chunk_size=50, hyper_units=(32,)),
     dict(conditioning="task", num_tasks=4)],
)
def test_hyperfan_init_matches_glorot_variance(kwargs):
    # The generated kernel's variance is random (it depends on the drawn
    # embedding); its mean over seeds must match the Glorot variance.
    ratios = []
    for seed in range(12):
        layer = layers.HyperDense(50, seed=seed, **kwargs)
        layer.build((None, 40))
        cond = None if "num_tasks" not in kwargs else np.arange(4)
        kernel, bias = layer.generate_weights(cond)
        kernel = harness.to_numpy(kernel)
        ratios.append(kernel.var() / target_variance("glorot", 40, 50))
        np.testing.assert_array_equal(harness.to_numpy(bias), 0.0)
    assert 0.75 < np.mean(ratios) < 1.3, ratios


def test_mip_encoding_removes_magnitude_proportionality():
    # A bias-free ReLU hypernet is 1-homogeneous in its input: scaling the
    # condition scales the generated weights. The cos/sin encoding keeps
    # the input norm constant, so the weight norm no longer tracks it.
    def kernel_norm(layer, g):
        k, _ = layer.generate_weights(np.full((1, 2), g, "float32"))
        return float(np.linalg.norm(harness.to_numpy(k)))

    raw = layers.HyperDense(8, conditioning="input", seed=3)
    raw.build((None, 8), (None, 2))
    assert kernel_norm(raw, 0.8) == pytest.approx(
        8 * kernel_norm(raw, 0.1), rel=1e-4
    )
    mip = layers.HyperDense(8, conditioning="input", seed=3,
                            input_encoding="cos_sin")
    mip.build((None, 8), (None, 2))
    enc = harness.to_numpy(layers.cos_sin_encoding(
        np.array([[0.1, 0.8], [0.5, 0.0]], "float32")))
    np.testing.assert_allclose(np.linalg.norm(enc, axis=1), np.sqrt(2),
                               rtol=1e-6)
    assert kernel_norm(mip, 0.8) != pytest.approx(8 * kernel_norm(mip, 0.1),
                                                  rel=0.05)


def test_residual_starts_near_theta0():
    layer = layers.HyperDense(6, residual=True, seed=4)
    layer.build((None, 5))
    kernel, _ = layer.generate_weights()
    theta0 = harness.to_numpy(layer.theta0_kernel)
    delta = harness.to_numpy(kernel) - theta0
    assert delta.std() < 0.3 * theta0.std()
    assert delta.std() > 0


def test_chunked_compresses():
    layer = layers.HyperDense(100, generation="chunked", chunk_size=100,
                              hyper_units=(16,))
    layer.build((None, 64))
    assert layer.num_chunks == 64
    # embedding 8, chunk embeddings 64*8, hidden 16*16+16, kernel head
    # 16*100+100, bias head 8*100+100; target 64*100+100.
    params = 8 + 64 * 8 + (16 * 16 + 16) + (16 * 100 + 100) + (8 * 100 + 100)
    assert layer.count_params() == params
    assert layer.compression_ratio == pytest.approx(params / 6500)
    assert layer.compression_ratio < 0.55


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(units=0), "`units` must be a positive integer"),
        (dict(units=4, conditioning="noise"), "`conditioning` must be one"),
        (dict(units=4, conditioning="task"), "`num_tasks` must be a positive"),
        (dict(units=4, num_tasks=3), "`num_tasks` is only used"),
        (dict(units=4, generation="chunked"), "`chunk_size` must be"),
        (dict(units=4, generation="chunked", chunk_size=4, hyper_units=()),
         "needs at least one hidden layer"),
        (dict(units=4, input_encoding="cos_sin"), "`input_encoding` is only"),
        (dict(units=4, target_init="xavier"), "`target_init` must be one"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.HyperDense(**kwargs)


def test_condition_errors_are_clear():
    layer = layers.HyperDense(3)
    with pytest.raises(ValueError, match="takes no `condition`"):
        layer(np.ones((2, 4), "float32"), condition=np.ones((2, 1)))
    layer = layers.HyperDense(3, conditioning="input")
    with pytest.raises(ValueError, match="needs a `condition`"):
        layer(np.ones((2, 4), "float32"))
