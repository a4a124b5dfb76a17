"""`layers.special.lgamma` / `digamma` against scipy, on every backend."""

import keras
import numpy as np
from scipy import special as sp

from layers.special import digamma
from layers.special import lgamma

BACKEND = keras.backend.backend()
# Small, near the zeros of lgamma (1, 2), moderate and large arguments.
X = np.concatenate([
    np.logspace(-4, 6, 400), np.linspace(0.5, 3.0, 101), [1.0, 2.0],
]).astype("float32")


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _compiled(fn):
    # Op-by-op eager JAX compiles every op separately (slow on 2 CPUs).
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    return fn


def test_lgamma_and_digamma_match_scipy():
    x64 = X.astype("float64")
    # float32: relative error for large values, absolute near the zeros.
    both = _compiled(lambda v: (lgamma(v), digamma(v)))
    lg, dg = both(X)
    np.testing.assert_allclose(_np(lg).astype("float64"),
                               sp.gammaln(x64), rtol=4e-6, atol=2e-6)
    np.testing.assert_allclose(_np(dg).astype("float64"),
                               sp.digamma(x64), rtol=2e-6, atol=2e-6)
    got = _np(lgamma(np.array([0.5, 1.0, 2.0, 10.0], "float32")))
    np.testing.assert_allclose(
        got, [0.5 * np.log(np.pi), 0.0, 0.0, np.log(362880.0)], atol=1e-6,
        rtol=1e-6)
    np.testing.assert_allclose(
        _np(digamma(np.array([1.0], "float32"))), [-np.euler_gamma],
        atol=1e-6)


def test_dtypes_and_domain():
    assert _np(lgamma(np.ones(3, "float32"))).dtype == np.float32
    half = lgamma(np.ones(3, "float16"))
    assert keras.backend.standardize_dtype(half.dtype) == "float16"
    ints = lgamma(np.array([1, 2, 3], "int32"))
    assert keras.backend.standardize_dtype(ints.dtype) == "float32"
    out = _np(digamma(np.array([-1.0, 0.0, 2.0], "float32")))
    assert np.isnan(out[:2]).all() and np.isfinite(out[2])


def _gradient(fn, x):
    if BACKEND == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: fn(v).sum())(x))
    if BACKEND == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        fn(t).sum().backward()
        return t.grad.numpy()
    import tensorflow as tf

    t = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(fn(t))
    return tape.gradient(y, t).numpy()


def test_gradients_match_scipy():
    x = np.array([0.3, 1.0, 2.5, 7.0, 40.0], "float32")
    np.testing.assert_allclose(_gradient(lgamma, x), sp.digamma(x),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_gradient(digamma, x), sp.polygamma(1, x),
                               rtol=1e-4, atol=1e-4)
