"""Sparsity-informed Adaptive Pruning (SAP, Diao et al., ICLR 2023).

One SAP step on a group of `d` remaining weights: PQI `I`, the
retained-parameter bound `m` (`zoo.pruning.pqi.retained_bound`),
`ratio = clip(gamma * (1 - m / d), 0, beta)`, `c = floor(d * ratio)`,
`pivot` = the `c`-th smallest remaining `|w|` counting from 0 (so that
`c` weights lie below it when magnitudes are distinct), and every
weight with `|w| < pivot` is pruned (ties with the pivot are kept, as in
the reference code). The loop `sap_prune` trains with fixed masks,
prunes, and by default rewinds the kept weights to their initial values
(lottery-ticket style) before the next round. `imp_prune` is the
baseline the paper compares SAP to: lottery-ticket-style iterative
magnitude pruning (Frankle & Carbin), the same loop with a fixed
fraction of the remaining weights pruned per round.

Decisions where the specification leaves room (the paper's own text
is unverified here):
- `d` counts mask entries; a group with `d = 0` is left as it is.
- `floor` and `ceil` run in float64 with a 1e-9 relative slack, so
  that exact integers (`d - m` at `gamma = 1`) do not lose one to
  rounding. `c = d` (only with `beta = 1`) prunes the whole group.
- Rewinding restores every model weight (kernels, biases,
  normalisation statistics) to its value when `sap_prune` was called,
  times the mask, and resets the inner optimizer's state (momenta,
  iteration count), as the reference code's fresh optimizer per round.
- Each round trains `epochs_per_iteration` epochs and keeps the last
  weights (the reference code keeps the best checkpoint on its
  validation data).
- The PQI of the history is global-scope, whatever scope prunes.
- `imp_prune` with `rate` r: after round `i` (from 1) the scope keeps
  `round(n * (1 - r)^i)` of its `n` weights, the largest magnitudes
  (`zoo.pruning.magnitude_masks`), so the kept counts do not drift
  from `(1 - r)^i` by per-round rounding.
"""

import numpy as np
from keras import ops

from layers._checks import check_bool
from zoo._checks import check_int
from zoo._checks import check_real
from zoo._checks import check_str_choice
from zoo.pruning.magnitude import SCOPES as MAGNITUDE_SCOPES
from zoo.pruning.magnitude import magnitude_masks
from zoo.pruning.pqi import PQI_SCOPES
from zoo.pruning.pqi import _as_kernel_list
from zoo.pruning.pqi import _bound_from_pqi
from zoo.pruning.pqi import _check_nonnegative
from zoo.pruning.pqi import _check_pq
from zoo.pruning.pqi import _from_neuron_rows
from zoo.pruning.pqi import _pqi_rows
from zoo.pruning.pqi import _scope_units
from zoo.pruning.pqi import pqi
from zoo.pruning.pruning_utils import built_pruning_optimizer

_SLACK = 1e-9


def _check_sap_args(p, q, eta, gamma, beta, scope):
    p, q = _check_pq(p, q)
    eta = _check_nonnegative("eta", eta)
    gamma = _check_nonnegative("gamma", gamma)
    beta = check_real("beta", beta)
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"`beta` must be in [0, 1]. Received: beta={beta!r}")
    check_str_choice("scope", scope, PQI_SCOPES)
    return p, q, eta, gamma, beta


def _prune_rows(weights, masks, p, q, eta, gamma, beta):
    """One SAP step on every row of 2-D `weights`; returns new masks."""
    index, d = _pqi_rows(weights, masks, p, q)
    m = _bound_from_pqi(index, d, p, q, eta)
    safe_d = np.maximum(d, 1.0)
    ratio = np.clip(gamma * (1.0 - m / safe_d), 0.0, beta)
    count = np.floor(d * ratio + _SLACK * safe_d).astype(np.int64)
    magnitude = np.abs(weights)
    remaining = np.sort(np.where(masks, magnitude, np.inf), axis=1)
    padded = np.concatenate(
        [remaining, np.full((len(remaining), 1), np.inf)], axis=1)
    pivot = np.take_along_axis(padded, count[:, None], axis=1)
    return masks & ~(magnitude < pivot)


def _from_scope_units(rows, kernels, scope):
    """Inverse of `_scope_units` for one array of rows per group."""
    if scope == "global":
        ends = np.cumsum([k.size for k in kernels])[:-1]
        parts = np.split(rows[0].reshape(-1), ends)
        return [part.reshape(k.shape) for part, k in zip(parts, kernels)]
    if scope == "layer":
        return [r.reshape(k.shape) for r, k in zip(rows, kernels)]
    return [_from_neuron_rows(r, k.shape) for r, k in zip(rows, kernels)]


def sap_masks(weights, masks=None, p=0.5, q=1.0, eta=0.0, gamma=1.0,
              beta=0.9, scope="global"):
    """Masks after one SAP pruning step (Diao et al.).

    In every `scope` group of `d` remaining weights, SAP prunes
    `c = floor(d * clip(gamma * (1 - m / d), 0, beta))` of the smallest
    magnitudes, where `m` is `retained_bound` (see the module docstring
    for the pivot and the edge cases). Masks only shrink.

    Args:
        weights: a kernel (numpy array, tensor or `keras.Variable`) or a
            list of kernels.
        masks: `None` (nothing pruned yet) or the current masks, shaped
            like the kernels (nonzero = kept).
        p: float. PQI exponent, `0 < p < q`. Defaults to 0.5.
        q: float. Defaults to 1.0.
        eta: float >= 0. Bound tolerance `eta_r` (larger prunes more).
            Defaults to 0.
        gamma: float >= 0. Scales the prune ratio (larger prunes
            more). Defaults to 1.
        beta: float in `[0, 1]`. Largest fraction of a group pruned in
            one step. Defaults to 0.9.
        scope: `"global"` (one group), `"layer"` (one per kernel) or
            `"neuron"` (one per output unit of each kernel).

    Returns:
        float32 numpy masks (1 kept, 0 pruned): a list shaped like the
        kernels, or one array for a single kernel.

    Example:

    ```python
    masks = sap_masks([w1, w2], scope="layer")
    masks = sap_masks([w1, w2], masks, scope="layer")   # next round
    ```

    Reference:
    - [Diao et al., 2023](https://arxiv.org/abs/2302.05601), "Pruning
      Deep Neural Networks from a Sparsity Perspective" (ICLR 2023).
    """
    p, q, eta, gamma, beta = _check_sap_args(p, q, eta, gamma, beta, scope)
    kernels, masks, single = _as_kernel_list(weights, masks)
    rows = [_prune_rows(w, m, p, q, eta, gamma, beta)
            for w, m in _scope_units(kernels, masks, scope)]
    new = [m.astype(np.float32)
           for m in _from_scope_units(rows, kernels, scope)]
    return new[0] if single else new


def _pruning_optimizer(model):
    optimizer = built_pruning_optimizer(model)
    if optimizer.schedule is not None:
        raise ValueError(
            "SAP keeps the masks fixed while training: compile `model` "
            "with `PruningOptimizer(inner, schedule=None)`. Received: "
            f"schedule={optimizer.schedule!r}")
    if not optimizer.pruned_variables:
        raise ValueError("`model` has no prunable kernels (see "
                         "`zoo.pruning.pruning_optimizer.is_prunable`).")
    return optimizer


def _numpy(variables):
    return [np.array(ops.convert_to_numpy(v)) for v in variables]


def _accuracy(model, x, y, batch_size):
    predicted = np.argmax(model.predict(x, batch_size=batch_size,
                                        verbose=0), axis=-1)
    labels = np.asarray(y)
    if labels.ndim == predicted.ndim + 1:
        labels = np.argmax(labels, axis=-1)
    return float(np.mean(predicted == labels.reshape(predicted.shape)))


def sap_prune(model, x, y, iterations, epochs_per_iteration, p=0.5, q=1.0,
              eta=0.0, gamma=1.0, beta=0.9, scope="global", rewind=True,
              batch_size=None, evaluation_data=None, verbose=0):
    """Iterative SAP: train with fixed masks, measure PQI, prune, rewind.

    Every iteration: (1) with `rewind`, every model weight goes back to
    its value at the call (kernels times the current masks) and the
    inner optimizer's state is reset; (2) `model.fit` for
    `epochs_per_iteration` epochs, the `PruningOptimizer` keeping pruned
    weights at zero; (3) accuracy on `evaluation_data` and the global
    PQI of the trained kernels are recorded; (4) `sap_masks` prunes and
    the new masks are set (`PruningOptimizer.set_masks`). The model ends
    with the last masks applied to the last trained weights (not
    retrained: fit once more, with `rewind` semantics of your choice).

    Args:
        model: a built Keras model compiled with
            `zoo.pruning.PruningOptimizer(inner, schedule=None)`.
        x: training inputs.
        y: training targets (class indices or one-hot, for accuracy).
        iterations: int >= 1. Pruning rounds (the paper uses 15-30).
        epochs_per_iteration: int >= 1. Training epochs per round.
        p: float. PQI exponent, `0 < p < q`. Defaults to 0.5.
        q: float. Defaults to 1.0.
        eta: float >= 0. See `sap_masks`. Defaults to 0.
        gamma: float >= 0. See `sap_masks`. Defaults to 1.
        beta: float in `[0, 1]`. See `sap_masks`. Defaults to 0.9.
        scope: `"global"`, `"layer"` or `"neuron"`. Defaults to
            `"global"`.
        rewind: bool. Rewind to the initial weights every round
            (lottery-ticket style, as the reference code). Defaults to
            `True`; `False` fine-tunes from the pruned weights.
        batch_size: int or `None`, passed to `fit` and `predict`.
        evaluation_data: `(x, y)` for the accuracy, or `None` for the
            training data.
        verbose: passed to `fit`.

    Returns:
        A dict of per-iteration lists: `"density"` (fraction of prunable
        weights kept while training), `"pqi"` (global PQI of the trained
        kernels), `"accuracy"`, `"pruned_density"` (after the round's
        pruning) and `"masks"` (bool numpy masks after the round, one per
        pruned variable: one byte per weight per round).

    Example:

    ```python
    model.compile(optimizer=zoo.pruning.PruningOptimizer(
        keras.optimizers.SGD(0.1, momentum=0.9)),
        loss="sparse_categorical_crossentropy")
    history = sap_prune(model, x, y, iterations=5, epochs_per_iteration=3)
    history["density"], history["pqi"]
    ```

    Reference:
    - [Diao et al., 2023](https://arxiv.org/abs/2302.05601), "Pruning
      Deep Neural Networks from a Sparsity Perspective" (ICLR 2023).
    """
    p, q, eta, gamma, beta = _check_sap_args(p, q, eta, gamma, beta, scope)

    def prune(kernels, masks, iteration):
        return sap_masks(kernels, masks, p, q, eta, gamma, beta, scope)

    return _iterative_prune(model, x, y, iterations, epochs_per_iteration,
                            prune, p, q, rewind, batch_size,
                            evaluation_data, verbose)


def _iterative_prune(model, x, y, iterations, epochs_per_iteration, prune,
                     p, q, rewind, batch_size, evaluation_data, verbose):
    """The loop of `sap_prune` and `imp_prune`; `prune` makes new masks.

    `prune(kernels, masks, iteration)` gets the trained kernels and the
    masks they were trained with (numpy) and returns the next masks.
    """
    iterations = check_int("iterations", iterations, 1)
    epochs_per_iteration = check_int("epochs_per_iteration",
                                     epochs_per_iteration, 1)
    rewind = check_bool("rewind", rewind)
    if evaluation_data is None:
        evaluation_data = (x, y)
    elif not isinstance(evaluation_data, (list, tuple)) \
            or len(evaluation_data) != 2:
        raise ValueError("`evaluation_data` must be a tuple (x, y) or None. "
                         f"Received: evaluation_data={evaluation_data!r}")
    optimizer = _pruning_optimizer(model)
    initial_weights = _numpy(model.weights)
    inner_state = _numpy(optimizer.inner_optimizer.variables)
    history = {key: [] for key in
               ("density", "pqi", "accuracy", "pruned_density", "masks")}
    for iteration in range(iterations):
        masks = _numpy(optimizer.masks)
        if rewind:
            model.set_weights(initial_weights)
            for variable, value in zip(optimizer.inner_optimizer.variables,
                                       inner_state):
                variable.assign(value)
            optimizer.set_masks(masks)
        model.fit(x, y, epochs=epochs_per_iteration, batch_size=batch_size,
                  verbose=verbose)
        kernels = _numpy(optimizer.pruned_variables)
        history["density"].append(_density(masks))
        history["pqi"].append(pqi(kernels, masks, p, q, "global"))
        history["accuracy"].append(
            _accuracy(model, *evaluation_data, batch_size))
        masks = prune(kernels, masks, iteration)
        optimizer.set_masks(masks)
        history["pruned_density"].append(_density(masks))
        history["masks"].append([m > 0 for m in masks])
    return history


def imp_masks(weights, masks, density, scope="global"):
    """Masks keeping the largest remaining magnitudes at a density.

    The pruning step of iterative magnitude pruning: the scope keeps
    `round(n * density)` of its `n` weights (at least one), the largest
    magnitudes among those `masks` keeps (`magnitude_masks` on the
    masked kernels, so masks only shrink).

    Args:
        weights: a kernel (numpy array, tensor or `keras.Variable`) or a
            list of kernels.
        masks: `None` (nothing pruned yet) or the current masks, shaped
            like the kernels (nonzero = kept).
        density: float in `(0, 1]`. Fraction of the scope's weights
            kept.
        scope: `"global"` (one ranking over all kernels) or `"layer"`
            (every kernel at `density`).

    Returns:
        float32 numpy masks (1 kept, 0 pruned): a list shaped like the
        kernels, or one array for a single kernel.

    Example:

    ```python
    masks = imp_masks([w1, w2], None, 0.8)
    masks = imp_masks([w1, w2], masks, 0.64)   # next round
    ```
    """
    density = check_real("density", density)
    if not 0.0 < density <= 1.0:
        raise ValueError("`density` must be in (0, 1]. Received: "
                         f"density={density!r}")
    check_str_choice("scope", scope, MAGNITUDE_SCOPES)
    kernels, masks, single = _as_kernel_list(weights, masks)
    masked = [np.where(m, k, 0.0).astype(np.float32)
              for k, m in zip(kernels, masks)]
    new = [((np.asarray(ops.convert_to_numpy(n)) > 0) & m).astype(np.float32)
           for n, m in zip(magnitude_masks(masked, 1.0 - density, scope),
                           masks)]
    return new[0] if single else new


def imp_prune(model, x, y, iterations, epochs_per_iteration, rate=0.2,
              scope="global", rewind=True, batch_size=None,
              evaluation_data=None, verbose=0, p=0.5, q=1.0):
    """Lottery-ticket-style iterative magnitude pruning (IMP).

    Frankle & Carbin's procedure, the baseline Diao et al. compare SAP
    to, in the loop of `sap_prune` (same rewinding, same history): every
    round trains with fixed masks, then prunes the fraction `rate` of
    the weights that remain, by magnitude, over all prunable kernels
    (`scope="global"`) or in every kernel (`"layer"`). Round `i` (from
    0) trains at density `(1 - rate)^i` (see `imp_masks` for the
    counts). To end at a density `D` after `T` rounds, use
    `rate = 1 - D ** (1 / (T - 1))`.

    Args:
        model: a built Keras model compiled with
            `zoo.pruning.PruningOptimizer(inner, schedule=None)`.
        x: training inputs.
        y: training targets (class indices or one-hot, for accuracy).
        iterations: int >= 1. Pruning rounds.
        epochs_per_iteration: int >= 1. Training epochs per round.
        rate: float in `[0, 1)`. Fraction of the remaining weights
            pruned per round. Defaults to 0.2 (Frankle & Carbin's conv
            rate is 0.1-0.2).
        scope: `"global"` or `"layer"`. Defaults to `"global"`.
        rewind: bool. Rewind to the initial weights every round (the
            lottery-ticket procedure). Defaults to `True`.
        batch_size: int or `None`, passed to `fit` and `predict`.
        evaluation_data: `(x, y)` for the accuracy, or `None` for the
            training data.
        verbose: passed to `fit`.
        p: float. Exponent of the PQI recorded in the history (not used
            for pruning), `0 < p < q`. Defaults to 0.5.
        q: float. Defaults to 1.0.

    Returns:
        The dict of `sap_prune`: per-iteration `"density"`, `"pqi"`,
        `"accuracy"`, `"pruned_density"` and `"masks"`.

    Example:

    ```python
    model.compile(optimizer=zoo.pruning.PruningOptimizer(
        keras.optimizers.Adam(1e-3)),
        loss="sparse_categorical_crossentropy")
    history = imp_prune(model, x, y, iterations=5, epochs_per_iteration=3,
                        rate=0.2)
    history["density"]   # [1.0, 0.8, 0.64, 0.512, 0.4096] (rounded)
    ```

    Reference:
    - [Frankle and Carbin, 2019](https://arxiv.org/abs/1803.03635), "The
      Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural
      Networks" (ICLR 2019).
    """
    p, q = _check_pq(p, q)
    rate = check_real("rate", rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate!r}")
    check_str_choice("scope", scope, MAGNITUDE_SCOPES)

    def prune(kernels, masks, iteration):
        return imp_masks(kernels, masks, (1.0 - rate) ** (iteration + 1),
                         scope)

    return _iterative_prune(model, x, y, iterations, epochs_per_iteration,
                            prune, p, q, rewind, batch_size,
                            evaluation_data, verbose)


def _density(masks):
    return float(sum(np.sum(m) for m in masks)
                 / sum(np.size(m) for m in masks))
