"""`lgamma` and `digamma` written with `keras.ops` (Keras has neither).

Both use the recurrence shift `Gamma(x + 1) = x Gamma(x)` to move the
argument to `x + 6 >= 6`, then an asymptotic (Stirling / de Moivre)
series there. Six shifts and four series terms give float32 accuracy
(relative error about 1e-7, absolute about 5e-7 near the zeros of
`lgamma` at 1 and 2) for every positive argument; gradients follow from
automatic differentiation of the same expressions on every backend.

Decision (the spec leaves the domain open): only `x > 0` is supported,
which is all the Dirichlet head needs (concentrations are positive).
Non-positive arguments return NaN instead of a reflection-formula value.
"""

import math

from keras import ops

_SHIFT = 6
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _prepare(x):
    x = ops.convert_to_tensor(x)
    dtype = x.dtype
    if "float" not in str(dtype):
        dtype = "float32"
    compute = "float64" if "64" in str(dtype) else "float32"
    return ops.cast(x, compute), dtype, compute


def _positive(x):
    # NaN outside the domain; the series is evaluated on a safe value so
    # that no inf/NaN reaches the gradient of valid entries.
    valid = ops.greater(x, 0.0)
    safe = ops.where(valid, x, ops.ones_like(x))
    return valid, safe


def _horner(t, coefficients):
    """`c0 + t (c1 + t (c2 + ...))` for Python-float coefficients."""
    out = ops.multiply(t, coefficients[-1])
    for c in reversed(coefficients[1:-1]):
        out = ops.multiply(t, ops.add(c, out))
    return ops.add(coefficients[0], out)


def _finish(out, valid, dtype):
    # NaN outside the domain, then back to the input's dtype.
    out = ops.where(valid, out, ops.full_like(out, float("nan")))
    return ops.cast(out, dtype)


def lgamma(x):
    """Natural log of the Gamma function for positive arguments.

    `lgamma(x) = log Gamma(x)`, computed as `lgamma(x + 6) - sum_{k<6}
    log(x + k)` with the Stirling series for `lgamma(z)`, `z >= 6`:
    `(z - 1/2) log z - z + log(2 pi)/2 + 1/(12 z) - 1/(360 z^3) +
    1/(1260 z^5) - 1/(1680 z^7)`. Only `keras.ops`, so it runs (and
    differentiates) on TensorFlow, JAX and PyTorch.

    Args:
        x: tensor or array of positive floats. float16/bfloat16 inputs
            are computed in float32 and cast back; float64 stays float64.

    Returns:
        A tensor of the dtype of `x` (float32 for integer inputs). NaN
        where `x <= 0` (not supported: see the module docstring).

    Example:

    ```python
    layers.special.lgamma(np.array([0.5, 1.0, 10.0], "float32"))
    # [0.5724, 0.0, 12.8018]
    ```
    """
    x, dtype, compute = _prepare(x)
    valid, x = _positive(x)
    # sum_{k<6} log(x + k) as two logs of products of three factors
    # (no overflow in float32 below x ~ 1e12).
    shift = ops.add(
        ops.log(ops.multiply(ops.multiply(x, ops.add(x, 1.0)),
                             ops.add(x, 2.0))),
        ops.log(ops.multiply(ops.multiply(ops.add(x, 3.0), ops.add(x, 4.0)),
                             ops.add(x, 5.0))),
    )
    z = ops.add(x, float(_SHIFT))
    inv = ops.divide(1.0, z)
    inv2 = ops.square(inv)
    series = ops.multiply(
        inv, _horner(inv2, (1.0 / 12.0, -1.0 / 360.0, 1.0 / 1260.0,
                            -1.0 / 1680.0))
    )
    out = ops.add(
        ops.subtract(ops.multiply(ops.subtract(z, 0.5), ops.log(z)), z),
        _HALF_LOG_2PI,
    )
    return _finish(ops.subtract(ops.add(out, series), shift), valid, dtype)


def digamma(x):
    """The digamma function `psi(x) = d/dx log Gamma(x)`, for `x > 0`.

    Computed as `psi(x + 6) - sum_{k<6} 1/(x + k)` with the asymptotic
    series for `z >= 6`: `log z - 1/(2 z) - 1/(12 z^2) + 1/(120 z^4) -
    1/(252 z^6) + 1/(240 z^8)`. Only `keras.ops`.

    Args:
        x: tensor or array of positive floats (same dtype rules as
            `lgamma`).

    Returns:
        A tensor of the dtype of `x`; NaN where `x <= 0`.

    Example:

    ```python
    layers.special.digamma(np.array([1.0, 2.0], "float32"))
    # [-0.5772, 0.4228]
    ```
    """
    x, dtype, compute = _prepare(x)
    valid, x = _positive(x)
    shift = ops.zeros_like(x)
    for k in range(_SHIFT):
        shift = ops.add(shift, ops.divide(1.0, ops.add(x, float(k))))
    z = ops.add(x, float(_SHIFT))
    inv = ops.divide(1.0, z)
    inv2 = ops.square(inv)
    series = ops.multiply(
        inv2, _horner(inv2, (-1.0 / 12.0, 1.0 / 120.0, -1.0 / 252.0,
                             1.0 / 240.0))
    )
    out = ops.subtract(ops.log(z), ops.multiply(0.5, inv))
    return _finish(ops.subtract(ops.add(out, series), shift), valid, dtype)
