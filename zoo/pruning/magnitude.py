"""Magnitude masks: global or per-layer, with Gupta et al.'s minimum
threshold (MT) against layer collapse.

Everything is written with `keras.ops` on lists of kernels, so the same
code runs eagerly (one-shot pruning) and inside the compiled train step
(`zoo.pruning.PruningOptimizer`, gradual pruning) on every backend.

Counting convention (the same as tfmot's per-layer masks): at sparsity
`s` a scope of `n` weights keeps `k = max(round(n * (1 - s)), 1)` of
them (computed in float32, rounding half to even), the `k` largest
magnitudes, ties at the threshold kept (`|w| >= threshold`). Weights
that are exactly zero are the smallest magnitudes, so masks computed
from masked kernels only ever shrink while the sparsity grows.
"""

from keras import ops

# Rescale-and-clamp rounds of the MT refinement (it converges in a few:
# each round fixes every layer that the previous one pushed below the
# minimum).
_MT_ROUNDS = 20
SCOPES = ("global", "layer")


def _flat_abs(kernel):
    return ops.reshape(ops.abs(ops.cast(kernel, "float32")), (-1,))


def _keep_threshold(values, keep):
    """Threshold keeping the `keep` largest of flat `values` (inf: none)."""
    n = int(values.shape[0])
    keep = ops.cast(keep, "int32")
    ordered = ops.sort(values)
    index = ops.clip(n - keep, 0, n - 1)
    return ops.where(keep > 0, ops.take(ordered, index),
                     ops.convert_to_tensor(float("inf"), "float32"))


def _keep_count(n, sparsity):
    keep = ops.round(ops.cast(n, "float32")
                     * (1.0 - ops.cast(sparsity, "float32")))
    return ops.cast(ops.maximum(keep, 1.0), "int32")


def layer_sparsities(kernels, sparsity, min_weights=0):
    """Per-layer sparsities of a global magnitude pass, with MT.

    Without `min_weights` they are those of one global threshold. With
    it (Gupta et al.'s MT), layers smaller than `min_weights` are not
    pruned, and every other layer keeps at least `min_weights` weights;
    the others are rescaled so that the total pruned count stays at
    `sparsity` (rescale and clamp, repeated).

    Args:
        kernels: list of kernel tensors or variables.
        sparsity: float or float tensor in `[0, 1)`. Global target.
        min_weights: int. Minimum weights kept per layer (0: no MT).

    Returns:
        A float32 tensor `(len(kernels),)` of per-layer sparsities.

    Example:

    ```python
    s = layer_sparsities([w1, w2], 0.9, min_weights=10)
    ```
    """
    flats = [_flat_abs(k) for k in kernels]
    sizes = ops.convert_to_tensor([float(f.shape[0]) for f in flats],
                                  "float32")
    everything = ops.concatenate(flats)
    total = float(everything.shape[0])
    threshold = _keep_threshold(everything,
                                _keep_count(total, sparsity))
    pruned = ops.stack([
        ops.sum(ops.cast(ops.less(f, threshold), "float32")) for f in flats
    ])
    s = pruned / sizes
    if not min_weights:
        return s
    target = ops.cast(sparsity, "float32") * total
    small = ops.less(sizes, float(min_weights))
    cap = ops.where(small, 0.0, 1.0 - float(min_weights) / sizes)
    s = ops.minimum(s, cap)
    for _ in range(_MT_ROUNDS):
        achieved = ops.sum(s * sizes)
        free = ops.less(s, cap)
        fixed = ops.sum(ops.where(free, 0.0, s * sizes))
        scale = ops.where(achieved - fixed > 0,
                          (target - fixed)
                          / ops.maximum(achieved - fixed, 1e-12), 1.0)
        s = ops.minimum(ops.where(free, s * ops.maximum(scale, 0.0), s),
                        cap)
    return s


def magnitude_masks(kernels, sparsity, scope="global", min_weights=0):
    """Float masks (1 kept, 0 pruned) of the largest-magnitude weights.

    Args:
        kernels: list of kernel tensors or variables (already masked
            weights are zeros).
        sparsity: float or float tensor in `[0, 1)`.
        scope: `"global"` (one ranking over all kernels, Global MP) or
            `"layer"` (every kernel at `sparsity`, as tfmot).
        min_weights: int. Global scope only: Gupta et al.'s minimum
            threshold, the fewest weights a layer keeps (0: off).

    Returns:
        A list of float32 tensors shaped like `kernels`.

    Raises:
        ValueError: unknown `scope`, or `min_weights` with `"layer"`.

    Example:

    ```python
    masks = magnitude_masks([layer.kernel for layer in dense_layers], 0.9)
    ```

    Reference:
    - [Gupta et al., 2022](https://arxiv.org/abs/2209.14624), "Is
      Complexity Required for Neural Network Pruning? A Case Study on
      Global Magnitude Pruning".
    """
    if scope not in SCOPES:
        raise ValueError(f"`scope` must be one of {SCOPES}. Received: "
                         f"scope={scope!r}")
    if scope == "layer" and min_weights:
        raise ValueError("`min_weights` (MT) applies to the global scope "
                         f"only. Received: min_weights={min_weights!r}")
    if scope == "layer":
        sparsities = [sparsity] * len(kernels)
    elif min_weights:
        per_layer = layer_sparsities(kernels, sparsity, min_weights)
        sparsities = [per_layer[i] for i in range(len(kernels))]
    else:
        flats = [_flat_abs(k) for k in kernels]
        everything = ops.concatenate(flats)
        threshold = _keep_threshold(
            everything, _keep_count(float(everything.shape[0]), sparsity)
        )
        return [ops.cast(ops.greater_equal(ops.abs(ops.cast(k, "float32")),
                                           threshold), "float32")
                for k in kernels]
    masks = []
    for kernel, s in zip(kernels, sparsities):
        flat = _flat_abs(kernel)
        threshold = _keep_threshold(
            flat, _keep_count(float(flat.shape[0]), s)
        )
        masks.append(ops.cast(
            ops.greater_equal(ops.abs(ops.cast(kernel, "float32")),
                              threshold), "float32"))
    return masks
