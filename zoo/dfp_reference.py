"""Bit-exact numpy reference of dynamic fixed point (DFP) arithmetic.

A DFP tensor is a pair `(I, E_s)`: integer mantissas `I` (int16 for the
default 16 bits) and one shared exponent `E_s` for the whole tensor, with
value `I * 2**E_s` (Das et al., 2018). Products of two DFP tensors are
computed on the integers, `I_a * I_b` with exponent `E_a + E_b`,
accumulated in int32 in chunks of the reduction axis; every chunk's
partial sum is converted to float64 with the combined exponent and the
partials are summed in float64.

Decisions (the paper's details are unverified, see
`../shared/references/training-and-pruning.md` §6):

- Exponent: `E_fmax = floor(log2(max |x|))` (exact, from the float's
  exponent field), `E_s = E_fmax - (bits - 2)`, and `E_s + 1` when the
  largest value would round to `2**(bits-1)`; so `|I| <= 2**(bits-1) - 1`
  without clipping and the round-trip error is at most `2**(E_s - 1)`.
- Rounding: round half to even (numpy's, and `keras.ops.round` on every
  backend).
- `E_s >= -126` (the float32 normal range, so that `2**E_s` and
  `2**-E_s` are normal float32 numbers): a tensor whose largest magnitude
  is below `2**(-126 + bits - 2)` is quantised with that exponent. A zero
  tensor has zero mantissas and `E_s = -126`. `E_s` is not clamped to
  int8 (the paper's storage type).
- Overflow: an int32 accumulator overflows when one of its running sums,
  in the order of the reduction axis, leaves `[-2**31, 2**31 - 1]`
  (detected in int64). Its value is then the int32 wrap-around of the
  exact sum, as a two's-complement accumulator would hold.

Reference:
- [Das et al., 2018](https://arxiv.org/abs/1802.00930), "Mixed Precision
  Training of Convolutional Neural Networks using Integer Operations".
"""

import collections

import numpy as np

MIN_EXPONENT = -126
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# Reduction-axis block of the vectorised overflow scan (speed only).
_SCAN_BLOCK = 32

class DFPProduct(collections.namedtuple(
        "DFPProduct",
        ["value", "overflows", "overflows_unchunked", "accumulators"])):
    """Result of `dfp_matmul` / `dfp_einsum`.

    Fields: `value` (float64 product), `overflows` (int32 accumulators,
    one per output element and chunk, that overflowed),
    `overflows_unchunked` (output elements whose single accumulator over
    the whole reduction would overflow) and `accumulators` (number of
    chunked accumulators).

    Example:

    ```python
    out = dfp_matmul(a, b, chunk=64)
    out.value, out.overflows, out.overflows_unchunked
    ```
    """

    __slots__ = ()


def _check_bits(bits):
    if not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 24:
        raise ValueError(
            f"`bits` must be an int in [2, 24]. Received: bits={bits!r}"
        )
    return int(bits)


def dfp_exponent(x, bits=16):
    """The shared exponent `E_s` of a tensor in `bits`-bit DFP.

    Args:
        x: array-like of finite floats.
        bits: int. Mantissa width including the sign (2 to 24).

    Returns:
        Python int `E_s` (see the module docstring for the rule).

    Example:

    ```python
    dfp_exponent(np.array([1.0, -0.5]))  # -14: 1.0 -> 16384
    ```
    """
    bits = _check_bits(bits)
    x = np.asarray(x, "float64")
    if not np.all(np.isfinite(x)):
        raise ValueError("DFP needs finite values; got inf or nan.")
    m = float(np.max(np.abs(x))) if x.size else 0.0
    lowest = MIN_EXPONENT + bits - 2
    e_fmax = lowest if m == 0.0 else max(int(np.frexp(m)[1]) - 1, lowest)
    e_s = e_fmax - (bits - 2)
    if np.round(m * 2.0**-e_s) > 2 ** (bits - 1) - 1:
        e_s += 1
    return e_s


def to_dfp(x, bits=16):
    """Quantises a float tensor to DFP mantissas and a shared exponent.

    Args:
        x: array-like of finite floats.
        bits: int. Mantissa width including the sign (2 to 24).

    Returns:
        `(mantissas, exponent)`: an int16 array (int32 above 16 bits) of
        `x`'s shape with `|i| <= 2**(bits-1) - 1`, and the Python int
        `E_s`, so that `x ~= mantissas * 2**E_s`.

    Example:

    ```python
    i, e = to_dfp(np.array([0.75, -1.5]))  # [12288, -24576], -14
    ```
    """
    e_s = dfp_exponent(x, bits)
    x = np.asarray(x, "float64")
    mantissas = np.round(x * 2.0**-e_s)
    dtype = "int16" if bits <= 16 else "int32"
    return mantissas.astype(dtype), e_s


def from_dfp(mantissas, exponent):
    """The float64 values `mantissas * 2**exponent` of a DFP tensor.

    Args:
        mantissas: integer array.
        exponent: int. The shared exponent `E_s`.

    Returns:
        float64 array (exact).

    Example:

    ```python
    from_dfp(*to_dfp(x))  # x to within 2**(E_s - 1)
    ```
    """
    return np.asarray(mantissas, "float64") * 2.0**int(exponent)


def quantize(x, bits=16):
    """Round trip through DFP: `from_dfp(*to_dfp(x, bits))`.

    Args:
        x: array-like of finite floats.
        bits: int. Mantissa width including the sign.

    Returns:
        float64 array of `x`'s shape.

    Example:

    ```python
    quantize(np.float32([0.1, 1.0]))
    ```
    """
    return from_dfp(*to_dfp(x, bits))


def _wrap_int32(values):
    return ((values - INT32_MIN) % 2**32) + INT32_MIN


def _scan(ia, ib, chunk):
    """Integer batched matmul `(B, M, K) @ (B, K, N)` with int32 chunks.

    Returns the per-chunk int32 partial sums `(B, M, N, chunks)` as
    int64 (wrapped where they overflowed), the chunked overflow count and
    the unchunked overflow count.
    """
    bsz, m, k = ia.shape
    n = ib.shape[-1]
    chunk = k if chunk is None else int(chunk)
    if chunk <= 0:
        raise ValueError(f"`chunk` must be positive. Received: {chunk}")
    num_chunks = max(1, -(-k // chunk))
    partials = np.zeros((bsz, m, n, num_chunks), "int64")
    full = np.zeros((bsz, m, n), "int64")
    full_over = np.zeros((bsz, m, n), bool)
    part_over = np.zeros((bsz, m, n, num_chunks), bool)
    for c in range(num_chunks):
        acc = np.zeros((bsz, m, n), "int64")
        over = np.zeros((bsz, m, n), bool)
        stop = min(k, (c + 1) * chunk)
        for start in range(c * chunk, stop, _SCAN_BLOCK):
            end = min(stop, start + _SCAN_BLOCK)
            terms = (ia[:, :, start:end, None]
                     * ib[:, None, start:end, :])  # (B, M, k, N)
            run = np.cumsum(terms, axis=2)
            for total, flag in ((acc, over), (full, full_over)):
                sums = total[:, :, None, :] + run
                flag |= np.any(
                    (sums > INT32_MAX) | (sums < INT32_MIN), axis=2
                )
                total += run[:, :, -1, :]
        partials[..., c] = _wrap_int32(acc)
        part_over[..., c] = over
    return partials, int(part_over.sum()), int(full_over.sum())


def _product(ia, ea, ib, eb, chunk):
    partials, over, over_full = _scan(
        ia.astype("int64"), ib.astype("int64"), chunk
    )
    scale = 2.0 ** (ea + eb)
    value = np.sum(partials.astype("float64") * scale, axis=-1)
    return value, over, over_full, partials.size


def dfp_matmul(a, b, chunk=None, bits=16):
    """DFP product `a @ b` with int32 accumulation in chunks.

    Both operands are quantised to DFP (one exponent each); the mantissa
    products are accumulated in int32 over blocks of `chunk` entries of
    the reduction axis, and the partial sums are converted to float64
    with the exponent `E_a + E_b` and summed.

    Args:
        a: array `(..., K)`.
        b: array `(K, N)`.
        chunk: int or `None`. Reduction entries per int32 accumulator
            (`None`: one accumulator over all `K`).
        bits: int. Mantissa width.

    Returns:
        `DFPProduct(value, overflows, overflows_unchunked, accumulators)`;
        `value` has shape `(..., N)`. Without overflow `value` equals the
        float64 product of the dequantised operands exactly.

    Example:

    ```python
    out = dfp_matmul(x, w, chunk=64)
    out.value.shape, out.overflows, out.overflows_unchunked
    ```
    """
    a = np.asarray(a, "float64")
    b = np.asarray(b, "float64")
    if b.ndim != 2 or a.ndim < 1 or a.shape[-1] != b.shape[0]:
        raise ValueError(
            "`dfp_matmul` needs a (..., K) and b (K, N). Received: "
            f"{a.shape} and {b.shape}"
        )
    ia, ea = to_dfp(a, bits)
    ib, eb = to_dfp(b, bits)
    lead = a.shape[:-1]
    value, over, over_full, count = _product(
        ia.reshape(1, -1, a.shape[-1]), ea, ib[None], eb, chunk
    )
    return DFPProduct(value.reshape(lead + (b.shape[1],)), over, over_full,
                      count)


def _parse(equation):
    lhs, out = equation.replace(" ", "").split("->")
    left, right = lhs.split(",")
    for letters in (left, right, out):
        if "." in letters or len(set(letters)) != len(letters):
            raise ValueError(
                "`dfp_einsum` takes explicit subscripts, each letter once "
                f"per operand. Received: {equation!r}"
            )
    return left, right, out


def dfp_einsum(equation, a, b, chunk=None, bits=16):
    """DFP two-operand einsum, reduced with chunked int32 accumulators.

    The subscripts are split into batch letters (in both operands and
    the output), reduced letters (in both operands, not the output) and
    free letters (one operand and the output); the product is then a
    batched integer matmul as in `dfp_matmul`. Size-1 batch axes
    broadcast.

    Args:
        equation: str such as `"bhwc,bwvc->bhvc"` (no ellipsis).
        a: array, left operand.
        b: array, right operand.
        chunk: int or `None`. Reduction entries per int32 accumulator.
        bits: int. Mantissa width.

    Returns:
        `DFPProduct` whose `value` is the einsum's output.

    Example:

    ```python
    dfp_einsum("bhwc,bwvc->bhvc", z, v, chunk=16).overflows
    ```
    """
    left, right, out = _parse(equation)
    a = np.asarray(a, "float64")
    b = np.asarray(b, "float64")
    ia, ea = to_dfp(a, bits)
    ib, eb = to_dfp(b, bits)
    batch = [c for c in out if c in left and c in right]
    reduced = [c for c in left if c in right and c not in out]
    free_a = [c for c in out if c in left and c not in right]
    free_b = [c for c in out if c in right and c not in left]
    sizes = {}
    for letters, arr in ((left, a), (right, b)):
        for c, n in zip(letters, arr.shape):
            sizes[c] = max(sizes.get(c, 1), n)
    # Letters in one operand only and not in the output are summed first
    # (a pre-reduction that DFP does not model).
    for letters, name in ((left, "a"), (right, "b")):
        extra = [c for c in letters if c not in out and c not in reduced]
        if extra:
            raise ValueError(
                f"Letters {extra} of operand {name} are summed away "
                f"alone; not supported. Received: {equation!r}"
            )

    def arrange(arr, letters, middle, last):
        order = batch + middle + last
        arr = np.transpose(arr, [letters.index(c) for c in order])
        shape = [sizes[c] for c in order]
        arr = np.broadcast_to(arr, shape)
        nb = int(np.prod([sizes[c] for c in batch]))
        return arr.reshape(nb, int(np.prod([sizes[c] for c in middle])),
                           int(np.prod([sizes[c] for c in last])))

    xa = arrange(ia, left, free_a, reduced)  # (B, M, K)
    xb = arrange(ib, right, reduced, free_b)  # (B, K, N)
    value, over, over_full, count = _product(xa, ea, xb, eb, chunk)
    value = value.reshape([sizes[c] for c in batch + free_a + free_b])
    perm = [(batch + free_a + free_b).index(c) for c in out]
    return DFPProduct(np.transpose(value, perm), over, over_full, count)
