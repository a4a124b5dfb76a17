"""PQ Index (PQI): how sparse a set of weights is, for p < q.

For the `d` unmasked entries of `w` and `0 < p < q`:

    I_{p,q}(w) = 1 - d^(1/q - 1/p) * ||w||_p / ||w||_q

`I = 0` for a vector of equal magnitudes and approaches
`1 - d^(1/q - 1/p)` for a 1-sparse one; larger is sparser. `d` counts
the mask's entries (an unmasked exact zero still counts), `I = 0` where
`d = 0` or where every unmasked weight is zero, and values in
`(-1e-5, 0)` from rounding are clipped to 0, as in the reference code.

Pruning events happen outside the train step, so this is numpy (float64):
kernels may be numpy arrays, backend tensors or `keras.Variable`s.
"""

import numpy as np
from keras import ops

from zoo._checks import check_real
from zoo._checks import check_str_choice

PQI_SCOPES = ("global", "layer", "neuron")
# Rounding below zero that the reference code clips to 0.
_NEGATIVE_CLIP = -1e-5


def _check_pq(p, q):
    """Checks the PQI exponents: finite reals with `0 < p < q`.

    Args:
        p: the first exponent.
        q: the second exponent.

    Returns:
        `(float(p), float(q))`.

    Example:

    ```python
    p, q = _check_pq(0.5, 1.0)
    ```
    """
    p = check_real("p", p, positive=True)
    q = check_real("q", q, positive=True)
    if not p < q:
        raise ValueError(f"`q` must be > p. Received: q={q!r}, p={p!r}")
    return p, q


def _as_kernel_list(weights, masks=None):
    """Numpy float64 kernels and masks, checked against each other.

    Args:
        weights: a kernel (array, tensor or `keras.Variable`) or a
            non-empty list of them.
        masks: `None` (every entry counts), or one mask per kernel
            shaped like it (nonzero = kept), or a single mask when
            `weights` is a single kernel.

    Returns:
        A tuple `(kernels, masks, single)`: lists of float64 and bool
        numpy arrays, and whether `weights` was a single kernel.

    Example:

    ```python
    kernels, masks, single = _as_kernel_list([w1, w2])
    ```
    """
    single = not isinstance(weights, (list, tuple))
    if single:
        weights = [weights]
        masks = None if masks is None else [masks]
    if not weights:
        raise ValueError("`weights` must be a kernel or a non-empty list "
                         "of kernels. Received: weights=[]")
    kernels = [np.asarray(ops.convert_to_numpy(w), dtype=np.float64)
               for w in weights]
    if masks is None:
        return kernels, [np.ones(k.shape, bool) for k in kernels], single
    if not isinstance(masks, (list, tuple)) or len(masks) != len(kernels):
        received = (f"{len(masks)} masks" if isinstance(masks, (list, tuple))
                    else f"masks={masks!r}")
        raise ValueError(f"`masks` must be a list of {len(kernels)} masks, "
                         f"one per kernel. Received: {received}")
    out = []
    for i, (kernel, mask) in enumerate(zip(kernels, masks)):
        mask = np.asarray(ops.convert_to_numpy(mask)) != 0
        if mask.shape != kernel.shape:
            raise ValueError(f"`masks[{i}]` must have the kernel's shape "
                             f"{kernel.shape}. Received: {mask.shape}")
        out.append(mask)
    return kernels, out, single


def _neuron_rows(array):
    """A kernel as one row per output unit, shape `(out, -1)`.

    Keras kernels are channels-last (Dense `(in, out)`, Conv2D
    `(kh, kw, in, out)`), so the last axis moves to the front.

    Args:
        array: numpy array with at least 2 axes.

    Returns:
        A numpy array of shape `(array.shape[-1], -1)`.

    Example:

    ```python
    _neuron_rows(np.zeros((3, 3, 8, 16))).shape  # (16, 72)
    ```
    """
    if array.ndim < 2:
        raise ValueError("`weights` must be kernels with 2+ axes for "
                         "scope='neuron'. Received: a kernel of shape "
                         f"{array.shape}")
    return np.moveaxis(array, -1, 0).reshape(array.shape[-1], -1)


def _from_neuron_rows(rows, shape):
    """Inverse of `neuron_rows`: rows `(out, -1)` back to `shape`.

    Args:
        rows: numpy array `(shape[-1], -1)`.
        shape: tuple. The kernel shape.

    Returns:
        A numpy array of shape `shape`.

    Example:

    ```python
    kernel = _from_neuron_rows(_neuron_rows(kernel), kernel.shape)
    ```
    """
    moved = (shape[-1],) + tuple(shape[:-1])
    return np.moveaxis(rows.reshape(moved), 0, -1)


def _scope_units(kernels, masks, scope):
    """The weights and masks that one PQI value describes, as rows.

    Args:
        kernels: list of numpy kernels.
        masks: list of bool numpy masks shaped like `kernels`.
        scope: `"global"`, `"layer"` or `"neuron"`.

    Returns:
        A list with one `(weights, masks)` pair of 2-D arrays per group:
        one group `(1, n)` for `"global"`, one `(1, n_i)` per kernel for
        `"layer"`, one `(out_i, -1)` per kernel for `"neuron"`.

    Example:

    ```python
    [(w, m)] = _scope_units(kernels, masks, "global")
    ```
    """
    if scope == "global":
        return [(np.concatenate([k.reshape(1, -1) for k in kernels], 1),
                 np.concatenate([m.reshape(1, -1) for m in masks], 1))]
    if scope == "layer":
        return [(k.reshape(1, -1), m.reshape(1, -1))
                for k, m in zip(kernels, masks)]
    return [(_neuron_rows(k), _neuron_rows(m)) for k, m in zip(kernels, masks)]


def _pqi_rows(weights, masks, p, q):
    """PQI of every row of a 2-D array over its masked entries.

    Args:
        weights: float numpy array `(rows, n)`.
        masks: bool numpy array `(rows, n)`.
        p: float. `0 < p < q`.
        q: float.

    Returns:
        A tuple `(index, d)`: float64 arrays `(rows,)`, the PQI and the
        number of mask entries of every row.

    Example:

    ```python
    index, d = _pqi_rows(np.ones((2, 4)), np.ones((2, 4), bool), 0.5, 1.0)
    ```
    """
    magnitude = np.abs(np.where(masks, weights, 0.0))
    d = masks.sum(axis=1).astype(np.float64)
    norm_p = np.sum(magnitude ** p, axis=1) ** (1.0 / p)
    norm_q = np.sum(magnitude ** q, axis=1) ** (1.0 / q)
    valid = (d > 0) & (norm_q > 0)
    safe_d = np.where(valid, d, 1.0)
    safe_q = np.where(valid, norm_q, 1.0)
    index = 1.0 - safe_d ** (1.0 / q - 1.0 / p) * norm_p / safe_q
    index = np.where(valid & np.isfinite(index), index, 0.0)
    index = np.where((index < 0) & (index > _NEGATIVE_CLIP), 0.0, index)
    return index, d


def _per_scope(weights, masks, scope, row_values, to_scalar):
    """`row_values(w, m)` of every `scope` group, laid out as `pqi` says.

    Args:
        weights: a kernel or a list of kernels.
        masks: `None` or masks shaped like the kernels.
        scope: `"global"`, `"layer"` or `"neuron"`.
        row_values: callable `(weights, masks) -> (rows,)` array on 2-D
            numpy arrays (see `_scope_units`).
        to_scalar: `float` or `int`, for the single values.

    Returns:
        A scalar (`"global"`, or `"layer"` of one kernel), one array per
        call (`"layer"`), or a list of arrays (`"neuron"`).
    """
    check_str_choice("scope", scope, PQI_SCOPES)
    kernels, masks, single = _as_kernel_list(weights, masks)
    values = [row_values(w, m)
              for w, m in _scope_units(kernels, masks, scope)]
    if scope == "global":
        return to_scalar(values[0][0])
    if scope == "layer":
        values = np.concatenate(values)
        return to_scalar(values[0]) if single else values
    return values[0] if single else values


def pqi(weights, masks=None, p=0.5, q=1.0, scope="global"):
    """PQ Index (PQI) of kernels: 0 for dense, larger for sparser.

    `I = 1 - d^(1/q - 1/p) * ||w||_p / ||w||_q` over the `d` mask
    entries of a group of weights (the module docstring gives the edge
    cases). Groups by `scope`: `"global"` = all kernels together,
    `"layer"` = each kernel, `"neuron"` = each output unit of each
    kernel (the last axis of a channels-last kernel; a Conv2D kernel
    `(kh, kw, in, out)` has `out` neurons of `kh * kw * in` weights;
    a DepthwiseConv2D kernel `(kh, kw, in, multiplier)` is grouped by
    its last axis too, i.e. per multiplier, not per output channel).

    Args:
        weights: a kernel (numpy array, tensor or `keras.Variable`) or a
            list of kernels.
        masks: `None` (all entries count), or masks shaped like the
            kernels (nonzero = kept; a single mask for a single kernel).
        p: float. First exponent, `0 < p < q`. Defaults to 0.5.
        q: float. Second exponent. Defaults to 1.0.
        scope: `"global"`, `"layer"` or `"neuron"`.

    Returns:
        `"global"`: a float. `"layer"`: a float64 array with one value
        per kernel (a float for a single kernel). `"neuron"`: a list with
        one float64 array `(out,)` per kernel (one array for a single
        kernel).

    Example:

    ```python
    pqi(np.ones(16))                               # 0.0
    pqi(np.eye(4).ravel())        # 1 - (4 / 16) ** (1 / 0.5 - 1) = 0.75
    pqi([layer.kernel for layer in model.layers[1:]], scope="layer")
    ```

    Reference:
    - [Diao et al., 2023](https://arxiv.org/abs/2302.05601), "Pruning
      Deep Neural Networks from a Sparsity Perspective" (ICLR 2023).
    """
    p, q = _check_pq(p, q)
    return _per_scope(weights, masks, scope,
                      lambda w, m: _pqi_rows(w, m, p, q)[0], float)


def _bound_from_pqi(index, d, p, q, eta):
    """The retained-parameter bound `m` from PQI values and counts.

    `m = ceil(d * (1 + eta)^(-q/(q-p)) * (1 - I)^(qp/(q-p)))`, computed
    in float64 with a 1e-9 relative slack before the ceiling (so that an
    exact integer such as `k` for a k-sparse vector does not round up by
    one ulp) and clipped to `[0, d]`.

    Args:
        index: float64 array of PQI values.
        d: float64 array of mask counts, same shape.
        p: float.
        q: float.
        eta: float >= 0.

    Returns:
        A float64 array of integers, shaped like `index`.

    Example:

    ```python
    m = _bound_from_pqi(np.array([0.5]), np.array([16.0]), 0.5, 1.0, 0.0)
    ```
    """
    m = (d * (1.0 + eta) ** (-q / (q - p))
         * (1.0 - index) ** (q * p / (q - p)))
    m = np.ceil(m - 1e-9 * np.maximum(m, 1.0))
    return np.clip(m, 0.0, d)


def retained_bound(weights, masks=None, p=0.5, q=1.0, eta=0.0,
                   scope="global"):
    """Lower bound `m` on the weights to retain (Diao et al.).

    `m = ceil(d * (1 + eta)^(-q/(q-p)) * (1 - I_{p,q})^(qp/(q-p)))`,
    i.e. `(1 + eta)^(-q/(q-p)) * (||w||_p / ||w||_q)^(pq/(q-p))`, the
    "effective number of non-zeros": a k-sparse vector of equal
    magnitudes gives `m = k` at `eta = 0`. `m = 0` where `d = 0`.

    Args:
        weights: a kernel or a list of kernels (see `pqi`).
        masks: `None` or masks shaped like the kernels.
        p: float. `0 < p < q`. Defaults to 0.5.
        q: float. Defaults to 1.0.
        eta: float >= 0. Tolerance `eta_r`: larger values give a
            smaller bound, i.e. more pruning. Defaults to 0.
        scope: `"global"`, `"layer"` or `"neuron"` (see `pqi`).

    Returns:
        An int for `"global"`; otherwise int64 arrays laid out as `pqi`
        returns them.

    Example:

    ```python
    retained_bound(np.array([1.0, 1.0, 0.0, 0.0]))   # 2
    ```

    Reference:
    - [Diao et al., 2023](https://arxiv.org/abs/2302.05601), "Pruning
      Deep Neural Networks from a Sparsity Perspective" (ICLR 2023).
    """
    p, q = _check_pq(p, q)
    eta = _check_nonnegative("eta", eta)

    def bound(w, m):
        return _bound_from_pqi(*_pqi_rows(w, m, p, q), p, q, eta).astype(
            np.int64)

    return _per_scope(weights, masks, scope, bound, int)


def _check_nonnegative(name, value):
    """Checks that `value` is a finite real `>= 0`; returns a float."""
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"`{name}` must be a finite real >= 0. Received: "
                         f"{name}={value!r}")
    return value
