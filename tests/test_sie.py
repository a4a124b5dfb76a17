"""Tests for the SIE predictors in `layers/sie.py`."""

import keras
import numpy as np

import layers


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _inputs(batch=5, dim=4, latent=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, dim)).astype("float32")
    z = rng.normal(size=(batch, latent)).astype("float32")
    return x, z


def test_linear_hypernet_weight_is_linear_in_z():
    layer = layers.HyperPredictor(dim=4, seed=0)
    x, z = _inputs()
    layer(x, z)
    z2 = _inputs(seed=1)[1]
    w1 = _np(layer.generate(z)[0])
    w2 = _np(layer.generate(z2)[0])
    w12 = _np(layer.generate(2.0 * z - 3.0 * z2)[0])
    np.testing.assert_allclose(w12, 2.0 * w1 - 3.0 * w2, atol=1e-5)
    w0 = _np(layer.generate(np.zeros_like(z))[0])
    np.testing.assert_allclose(w0, 0.0, atol=0)
    # The output is W(z) x per sample.
    y = _np(layer(x, z))
    np.testing.assert_allclose(y, np.einsum("bij,bj->bi", w1, x),
                               rtol=1e-5, atol=1e-5)


def test_predictors_are_per_sample_independent():
    for layer in (
            layers.HyperPredictor(dim=4, hidden_units=(3,), use_bias=True,
                                  seed=0),
            layers.ConcatPredictor(dim=4, hidden_units=(5,), seed=0)):
        x, z = _inputs()
        full = _np(layer(x, z))
        x_b, z_b = x.copy(), z.copy()
        x_b[1:] = 7.0
        z_b[1:] = -7.0
        single = _np(layer(x_b, z_b))
        np.testing.assert_allclose(single[0], full[0], rtol=1e-5,
                                   atol=1e-5)
        assert full.shape == (5, 4)


def test_config_round_trip():
    layer = layers.HyperPredictor(dim=3, hidden_units=(2,), use_bias=True,
                                  seed=4)
    clone = layers.HyperPredictor.from_config(layer.get_config())
    assert clone.hidden_units == (2,)
    assert clone.use_bias and clone.dim == 3
