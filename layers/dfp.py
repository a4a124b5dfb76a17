"""Dynamic fixed point (DFP) fake quantisers in `keras.ops`.

`dfp_quantize` rounds a tensor to `bits`-bit DFP (integer mantissas
sharing one exponent per tensor) and returns the dequantised float32
values, with a straight-through gradient; `dfp_quantize_gradient` is the
identity forward and quantises the gradient flowing back through it.
Both produce exactly the values of the numpy reference
`zoo.dfp_reference.quantize` (same exponent rule, round half to even,
`E_s >= -126`; see that module's docstring for the decisions).

Computation is in float32: the exponent is read from the float32
exponent field of `max |x|` (`keras.ops.view`) and the powers of two
are built from their bit patterns, so every step is exact. Inputs of
another float dtype are cast to float32 and the result is cast back
(exact for float64 inputs within float32 range; not exact in float16 or
bfloat16, whose mantissas are shorter than 16 bits).
"""

import keras
from keras import ops


def _check_bits(bits):
    if not isinstance(bits, int) or not 2 <= bits <= 24:
        raise ValueError(
            f"`bits` must be an int in [2, 24]. Received: bits={bits!r}"
        )
    return bits


def _as_tensor(x):
    """A tensor (a variable is read: TF's custom gradients reject them)."""
    if isinstance(x, keras.Variable):
        return ops.copy(x.value)
    return ops.convert_to_tensor(x)


def _pow2(exponent):
    """`2**exponent` in float32 for int32 `exponent` in [-126, 127]."""
    return ops.view(ops.left_shift(exponent + 127, 23), "float32")


def dfp_exponent(x, bits=16):
    """The shared DFP exponent `E_s` of a tensor, as an int32 scalar.

    Args:
        x: float tensor.
        bits: int. Mantissa width including the sign (2 to 24).

    Returns:
        int32 scalar tensor, equal to `zoo.dfp_reference.dfp_exponent`.

    Example:

    ```python
    layers.dfp.dfp_exponent(np.float32([1.0, -0.5]))  # -14
    ```
    """
    bits = _check_bits(bits)
    x = ops.cast(x, "float32")
    m = ops.max(ops.abs(x))
    field = ops.right_shift(ops.view(m, "int32"), 23)
    e_fmax = ops.maximum(field - 127, -126 + bits - 2)
    e_s = ops.cast(e_fmax - (bits - 2), "int32")
    top = ops.round(m * _pow2(-e_s))
    bump = ops.cast(top > 2.0 ** (bits - 1) - 1.0, "int32")
    return e_s + bump


def _fake_quantize(x, bits):
    """`(values, mantissas, exponent)` of `x` in float32."""
    x = ops.cast(x, "float32")
    e_s = dfp_exponent(x, bits)
    mantissas = ops.round(x * _pow2(-e_s))
    return mantissas * _pow2(e_s), mantissas, e_s


def _with_gradient(x, forward, backward):
    """`forward(x)` whose gradient is `backward(upstream)`.

    `ops.custom_gradient` passes the upstream gradient positionally on
    TensorFlow and as `upstream=` elsewhere: handled here, once.
    """

    @ops.custom_gradient
    def fn(value):
        def grad_fn(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return backward(upstream)

        return forward(value), grad_fn

    return fn(x)


def dfp_mantissas(x, bits=16):
    """DFP mantissas (as float32 integers) and exponent of a tensor.

    Args:
        x: float tensor.
        bits: int. Mantissa width including the sign.

    Returns:
        `(mantissas, exponent)`: float32 tensor of integers with
        `|i| <= 2**(bits-1) - 1` and an int32 scalar, equal to
        `zoo.dfp_reference.to_dfp`.

    Example:

    ```python
    i, e = layers.dfp.dfp_mantissas(np.float32([0.75, -1.5]))
    ```
    """
    _, mantissas, e_s = _fake_quantize(x, _check_bits(bits))
    return mantissas, e_s


def dfp_quantize(x, bits=16):
    """Fake-quantises a tensor to DFP, straight-through gradient.

    Forward: `I * 2**E_s` with `(I, E_s)` the `bits`-bit DFP form of `x`
    (one exponent for the whole tensor). Backward: the incoming gradient
    unchanged (straight-through estimator; no value is clipped, so no
    gradient is masked).

    Args:
        x: float tensor.
        bits: int. Mantissa width including the sign (2 to 24).

    Returns:
        Tensor of `x`'s shape and dtype.

    Example:

    ```python
    layers.dfp.dfp_quantize(np.float32([0.1, 1.0]))
    ```

    Reference:
    - [Das et al., 2018](https://arxiv.org/abs/1802.00930), "Mixed
      Precision Training of Convolutional Neural Networks using Integer
      Operations".
    """
    bits = _check_bits(bits)
    x = _as_tensor(x)
    dtype = x.dtype
    return _with_gradient(
        x, lambda value: ops.cast(_fake_quantize(value, bits)[0], dtype),
        lambda upstream: upstream)


def dfp_quantize_gradient(x, bits=16):
    """Identity forward; the gradient flowing back is DFP-quantised.

    Placed on the output of a product, it makes the backward products
    (input and weight gradients) take a DFP gradient, as in the paper's
    INT16 backward pass.

    Args:
        x: float tensor.
        bits: int. Mantissa width including the sign (2 to 24).

    Returns:
        `x` (same values); its gradient is `dfp_quantize(upstream)`.

    Example:

    ```python
    y = layers.dfp.dfp_quantize_gradient(ops.matmul(a, w))
    ```

    Reference:
    - [Das et al., 2018](https://arxiv.org/abs/1802.00930), "Mixed
      Precision Training of Convolutional Neural Networks using Integer
      Operations".
    """
    bits = _check_bits(bits)
    x = _as_tensor(x)
    return _with_gradient(
        x, lambda value: ops.multiply(value, 1.0),
        lambda upstream: ops.cast(_fake_quantize(upstream, bits)[0],
                                  upstream.dtype))

