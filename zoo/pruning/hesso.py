"""HESSO structured pruning: zero-invariant groups and the optimizer.

A *group kind* is a list of `(variable, axis)` slices of equal length
`n` along `axis`: group `k` of the kind is slice `k` of every one of
them, removed together. Zeroing every trainable slice of a group leaves
the network's output unchanged when the group is physically removed
(`zoo.pruning.subnet.build_subnet`), provided each activation maps 0 to
0. The first slice of a kind is its *producer* (the kernel whose output
axis the group indexes). Groups are declared per architecture, as data:
`digits_cnn_groups` and `dense_unit_groups`.

`HESSOOptimizer` wraps any Keras optimizer and drives a chosen fraction
of the groups to exactly zero during training (Chen et al.'s Hybrid
Efficient Structured Sparse Optimizer, as in Only-Train-Once).
"""

import numbers

import keras
import numpy as np
from keras import ops
from keras.src.utils import tracking

from zoo._checks import check_int
from zoo.pruning.wrapper_optimizer import WrapperOptimizer

PROXIES = ("magnitude", "avg_magnitude", "cosine_similarity",
           "taylor_first_order", "taylor_second_order")
DEFAULT_IMPORTANCE = dict.fromkeys(PROXIES, 0.2)
_EPSILON = 1e-12


def _check_groups(groups):
    """Normalised copy of a group spec: lists of `(variable, axis)`."""
    if isinstance(groups, (str, bytes)) or not groups:
        raise ValueError("`groups` must be a non-empty list of group "
                         "kinds, each a list of (variable, axis) slices. "
                         f"Received: groups={groups!r}")
    kinds = []
    for kind in groups:
        slices = []
        if not isinstance(kind, (list, tuple)):
            raise ValueError("Every group kind in `groups` must be a list "
                             f"of slices. Received: groups={groups!r}")
        for item in kind:
            if not isinstance(item, (list, tuple)) or len(item) != 2 or \
                    isinstance(item[1], bool) or \
                    not isinstance(item[1], numbers.Integral):
                raise ValueError("Every slice in `groups` must be a "
                                 "(variable, int axis) pair. Received: "
                                 f"groups={groups!r}")
            slices.append((item[0], int(item[1])))
        if not slices:
            raise ValueError("`groups` has an empty group kind. "
                             f"Received: groups={groups!r}")
        kinds.append(slices)
    return kinds


def _check_variable_groups(groups):
    """`_check_groups` plus equal slice lengths (variables, not paths)."""
    kinds = _check_groups(groups)
    for slices in kinds:
        sizes = {int(v.shape[axis]) for v, axis in slices}
        if len(sizes) != 1:
            raise ValueError("The slices of a group kind must have one "
                             "length. Received: groups with lengths "
                             f"{sorted(sizes)} in "
                             f"{[(v.path, a) for v, a in slices]}")
    return kinds


def group_size(kind):
    """Number of groups in a kind (the length of its slices).

    Args:
        kind: list of `(variable, axis)` slices.

    Returns:
        int.
    """
    variable, axis = kind[0]
    return int(variable.shape[axis])


def _columns(value, axis):
    """`value` as a `(-1, n)` matrix whose column `k` is slice `k`."""
    value = ops.moveaxis(ops.cast(value, "float32"), axis, -1)
    return ops.reshape(value, (-1, value.shape[-1]))


def _along(vector, axis, rank):
    """Reshapes a `(n,)` vector to broadcast along `axis` of a `rank`-D."""
    shape = [1] * rank
    shape[axis] = -1
    return ops.reshape(vector, shape)


def zero_groups(groups):
    """Which groups are zero: every trainable slice exactly zero.

    Non-trainable slices (BatchNormalization moving statistics) are not
    looked at: a zero BN gamma and beta already make its output zero.

    Args:
        groups: list of group kinds, each a list of `(variable, axis)`.

    Returns:
        list of boolean numpy arrays, one per kind.

    Example:

    ```python
    [int(z.sum()) for z in zero_groups(digits_cnn_groups(model))]
    ```
    """
    result = []
    for slices in _check_variable_groups(groups):
        zero = np.ones(group_size(slices), bool)
        for variable, axis in slices:
            if variable.trainable:
                columns = ops.convert_to_numpy(_columns(variable, axis))
                zero &= ~np.any(columns != 0, axis=0)
        result.append(zero)
    return result


def _bn_slices(norm):
    return [(w, 0) for w in (norm.gamma, norm.beta, norm.moving_mean,
                             norm.moving_variance) if w is not None]


def _producer_slices(layer):
    rank = len(layer.kernel.shape)
    slices = [(layer.kernel, rank - 1)]
    if layer.bias is not None:
        slices.append((layer.bias, 0))
    return slices


def digits_cnn_groups(model):
    """Zero-invariant groups of a `zoo.DigitsCNNClassifier`.

    One kind per conv block; group `k` of block `i` is conv `i`'s output
    channel `k` (kernel axis 3, and its bias if any), BatchNormalization
    `i`'s gamma, beta, moving mean and variance `[k]`, and the consumer's
    input slice `k`: the next conv's kernel axis 2, or after global
    average pooling the dense head's kernel row `k`. The head's outputs
    (the classes) are never grouped.

    Args:
        model: a `zoo.DigitsCNNClassifier`.

    Returns:
        list of group kinds (lists of `(variable, axis)`), block order.

    Example:

    ```python
    model = zoo.DigitsCNNClassifier(zoo.DigitsCNNBackbone(), 10)
    [group_size(kind) for kind in digits_cnn_groups(model)]  # [32, 64]
    ```
    """
    from zoo.baselines.digits_cnn import DigitsCNNClassifier

    if not isinstance(model, DigitsCNNClassifier):
        raise ValueError("`model` must be a zoo.DigitsCNNClassifier. "
                         f"Received: model={type(model).__name__}")
    convs, norms = model.backbone.convs, model.backbone.norms
    consumers = [(c.kernel, 2) for c in convs[1:]]
    consumers.append((model.output_dense.kernel, 0))
    return [_producer_slices(conv) + _bn_slices(norm) + [consumer]
            for conv, norm, consumer in zip(convs, norms, consumers)]


def _maps_zero_to_zero(activation):
    value = activation(ops.zeros((1,), "float32"))
    return float(ops.convert_to_numpy(value)[0]) == 0.0


def dense_unit_groups(model):
    """Zero-invariant groups of an MLP made of `Dense` layers.

    The model's `Dense` layers (in `model.layers` order) must form a
    chain, each feeding the next (activation and dropout layers may sit
    between them), and every hidden activation must map 0 to 0 (ReLU,
    tanh, GELU, linear; not sigmoid). Unit `k` of hidden layer `l` is
    one group: kernel `[:, k]`, bias `[k]` and the next kernel `[k, :]`.
    The last `Dense` layer (the classifier) is never grouped.

    Args:
        model: a `keras.Sequential` or functional model.

    Returns:
        list of group kinds, one per hidden `Dense` layer.

    Example:

    ```python
    model = keras.Sequential([keras.Input((8,)),
                              keras.layers.Dense(16, "relu"),
                              keras.layers.Dense(3)])
    [group_size(kind) for kind in dense_unit_groups(model)]  # [16]
    ```
    """
    denses = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.Dense):
            denses.append(layer)
        elif layer.weights:
            raise ValueError("`model` must hold only Dense layers with "
                             "weights. Received: a model with layer "
                             f"{layer.name} ({type(layer).__name__})")
        elif isinstance(layer, keras.layers.Activation) and \
                not _maps_zero_to_zero(layer.activation):
            raise ValueError("Hidden activations of `model` must map 0 to "
                             f"0. Received: layer {layer.name}")
    if len(denses) < 2:
        raise ValueError("`model` needs at least two Dense layers (a "
                         "hidden one and the classifier). Received: "
                         f"{len(denses)}")
    for layer, consumer in zip(denses, denses[1:]):
        if layer.kernel.shape[1] != consumer.kernel.shape[0]:
            raise ValueError("The Dense layers of `model` must form a "
                             f"chain. Received: {layer.name} has "
                             f"{layer.kernel.shape[1]} units but "
                             f"{consumer.name} takes "
                             f"{consumer.kernel.shape[0]} inputs")
        if not _maps_zero_to_zero(layer.activation):
            raise ValueError("Hidden activations of `model` must map 0 to "
                             f"0. Received: layer {layer.name}")
    return [_producer_slices(layer) + [(consumer.kernel, 0)]
            for layer, consumer in zip(denses, denses[1:])]


def _check_importance(importance):
    if importance == "default":
        return importance
    if not isinstance(importance, dict) or not importance or \
            not set(importance) <= set(PROXIES) or any(
                isinstance(w, bool) or not isinstance(w, numbers.Real)
                or w < 0 for w in importance.values()) or \
            not any(importance.values()):
        raise ValueError("`importance` must be 'default' or a dict of "
                         f"non-negative weights over {PROXIES}, one of "
                         "them positive. Received: "
                         f"importance={importance!r}")
    return {k: float(w) for k, w in importance.items()}


@keras.saving.register_keras_serializable(package="hyperzoo")
class HESSOOptimizer(WrapperOptimizer):
    """Wraps an optimizer so that it zeroes whole groups progressively.

    Pruning runs for `pruning_periods` periods of `D = pruning_steps //
    pruning_periods` updates each, from update number
    `start_pruning_step + 1` on (the wrapped optimizer's `iterations`
    counts updates). The target is `int(G * min(target_group_sparsity,
    0.999))` of the `G` groups, capped so that every kind keeps at least
    one group; each period takes `target // pruning_periods` new groups
    (the last one the remainder).

    Each update, inside the compiled train step:
    1. At a period's first update, score every group from the weights
       and gradients before the update and mark the lowest-scoring
       groups not yet pruned as *redundant* (each kind's best surviving
       group is never picked).
    2. The wrapped optimizer updates every variable.
    3. The redundant groups' trainable slices are multiplied by
       `(D - t - 1) / (D - t)`, `t` = 0..D-1 the update's index in the
       period: a linear decay that reaches exactly 0 at the period's
       last update, where the redundant groups become *pruned*.
    4. Pruned groups are multiplied by 0 (BN gamma and beta included),
       so momentum and weight decay cannot regrow them.

    The score is a weighted sum of five proxies computed per group over
    its trainable slices `x` with gradient `g`, each divided by its L2
    norm over all groups: `||x||`, `||x|| / size`, `cos(x, g) + 1`,
    `|<x, g>|` and `0.5 <x, g>^2` (weights 0.2 each by default).

    Design notes. All state (per-kind `kept` and `redundant` masks,
    float32 vectors of length `n`) lives in optimizer variables and the
    period logic is `keras.ops` (`ops.cond`, `argsort`) in `apply`, so
    it runs inside `fit`'s compiled step on JAX (the masks travel
    through `stateless_apply`), TensorFlow and PyTorch; no callback.
    Only slices of the trainable variables the optimizer is built on
    are scored and zeroed; non-trainable slices (BN moving statistics)
    matter only to `build_subnet`. The groups are stored as variable
    paths, so `get_config` round-trips. Unlike OTO's `step`, `t` counts
    from 0 at a period's first update (OTO's index starts at 1 and so
    zeroes the new groups at once when `D > 1`); OTO's
    `group_divisible` and its own SGD/Adam variants are not reproduced:
    any Keras optimizer does the update. Optimizer moments of pruned
    slices are not reset; the slices are zeroed after every update.

    Args:
        inner_optimizer: a `keras.optimizers.Optimizer`.
        groups: list of group kinds, each a list of `(variable, axis)`
            slices (`digits_cnn_groups`, `dense_unit_groups`); variables
            may be given by their `path`.
        target_group_sparsity: float in `[0, 1)`. Fraction of groups to
            prune.
        start_pruning_step: int >= 0. Updates before pruning starts.
        pruning_steps: int >= 1. Updates pruning lasts.
        pruning_periods: int in `[1, pruning_steps]`.
        importance: `"default"` or a dict of weights over `PROXIES`.
        name: str or `None`.

    Example:

    ```python
    model = zoo.DigitsCNNClassifier(zoo.DigitsCNNBackbone(), 10)
    model.compile(optimizer=HESSOOptimizer(
        keras.optimizers.SGD(0.05, momentum=0.9),
        digits_cnn_groups(model), target_group_sparsity=0.6,
        start_pruning_step=100, pruning_steps=200, pruning_periods=4))
    model.fit(x, y, epochs=10)
    small = zoo.pruning.subnet.build_subnet(model,
                                            digits_cnn_groups(model))
    ```

    Reference:
    - [Chen et al., 2024](https://arxiv.org/abs/2409.09085), "HESSO:
      Towards Automatic Efficient and User Friendly Any Neural Network
      Training and Pruning".
    """

    def __init__(self, inner_optimizer, groups, target_group_sparsity=0.5,
                 start_pruning_step=0, pruning_steps=1, pruning_periods=1,
                 importance="default", name=None, **kwargs):
        groups = [[(getattr(v, "path", v), axis) for v, axis in kind]
                  for kind in _check_groups(groups)]
        if any(not isinstance(p, str) for kind in groups for p, _ in kind):
            raise ValueError("`groups` slices must name keras Variables "
                             f"or variable paths. Received: {groups!r}")
        if isinstance(target_group_sparsity, bool) or not isinstance(
                target_group_sparsity, numbers.Real) or \
                not 0.0 <= target_group_sparsity < 1.0:
            raise ValueError("`target_group_sparsity` must be a float in "
                             "[0, 1). Received: target_group_sparsity="
                             f"{target_group_sparsity!r}")
        start_pruning_step = check_int("start_pruning_step",
                                        start_pruning_step, 0)
        pruning_steps = check_int("pruning_steps", pruning_steps, 1)
        pruning_periods = check_int("pruning_periods", pruning_periods, 1)
        if pruning_periods > pruning_steps:
            raise ValueError("`pruning_periods` must be <= pruning_steps "
                             f"({pruning_steps}). Received: "
                             f"pruning_periods={pruning_periods}")
        super().__init__(inner_optimizer, name=name, **kwargs)
        self.groups = [[[p, axis] for p, axis in kind] for kind in groups]
        self.target_group_sparsity = float(target_group_sparsity)
        self.start_pruning_step = start_pruning_step
        self.pruning_steps = pruning_steps
        self.pruning_periods = pruning_periods
        self.importance = _check_importance(importance)
        self.period_length = pruning_steps // pruning_periods

    @tracking.no_automatic_dependency_tracking
    def build(self, var_list):
        """Resolves the group paths and creates the group masks.

        Args:
            var_list: list of the model's trainable variables.
        """
        by_path = {}
        for v in var_list:
            by_path.setdefault(v.path, []).append(v)
        self._kinds = []
        for kind in self.groups:
            slices = []
            for path, axis in kind:
                found = by_path.get(path, [])
                if len(found) > 1:
                    raise ValueError(f"`groups` path {path!r} names "
                                     f"{len(found)} trainable variables; "
                                     "give the layers unique names.")
                if found:
                    slices.append((found[0], axis))
            if not slices:
                raise ValueError("A group kind of `groups` has no trainable "
                                 f"variable among {kind}.")
            self._kinds.append(_check_variable_groups([slices])[0])
        sizes = [group_size(kind) for kind in self._kinds]
        total = sum(sizes)
        target = int(total * min(self.target_group_sparsity, 0.999))
        self._target = min(target, total - len(sizes))
        per_period = self._target // self.pruning_periods
        self._period_counts = [per_period] * (self.pruning_periods - 1) + [
            self._target - per_period * (self.pruning_periods - 1)]
        self._kept = [self.add_variable((n,), initializer="ones",
                                        dtype="float32", aggregation="none",
                                        name=f"hesso_kept_{i}")
                      for i, n in enumerate(sizes)]
        self._redundant = [self.add_variable((n,), initializer="zeros",
                                             dtype="float32",
                                             aggregation="none",
                                             name=f"hesso_redundant_{i}")
                           for i, n in enumerate(sizes)]
        super().build(var_list)

    @property
    def target_num_groups(self):
        """Number of groups pruned at the end (after `build`)."""
        return self._target

    @property
    def kept_masks(self):
        """Per kind, float32 `(n,)`: 0 for pruned groups, else 1."""
        return list(self._kept)

    @property
    def redundant_masks(self):
        """Per kind, float32 `(n,)`: 1 for groups decaying this period."""
        return list(self._redundant)

    def _scores(self, grads, var_list):
        """Normalised importance of every group, concatenated by kind."""
        grad_of = {id(v): g for v, g in zip(var_list, grads)}
        proxies = {name: [] for name in PROXIES}
        for kind in self._kinds:
            n = group_size(kind)
            sq_x = sq_g = dot = ops.zeros((n,), "float32")
            size = 0
            for variable, axis in kind:
                grad = grad_of.get(id(variable))
                if grad is None:
                    continue
                x = _columns(variable, axis)
                g = _columns(grad, axis)
                sq_x = sq_x + ops.sum(x * x, axis=0)
                sq_g = sq_g + ops.sum(g * g, axis=0)
                dot = dot + ops.sum(x * g, axis=0)
                size += int(x.shape[0])
            norm_x = ops.sqrt(sq_x)
            proxies["magnitude"].append(norm_x)
            proxies["avg_magnitude"].append(norm_x / max(size, 1))
            proxies["cosine_similarity"].append(dot / ops.maximum(
                norm_x * ops.sqrt(sq_g), _EPSILON) + 1.0)
            proxies["taylor_first_order"].append(ops.abs(dot))
            proxies["taylor_second_order"].append(0.5 * dot * dot)
        weights = (DEFAULT_IMPORTANCE if self.importance == "default"
                   else self.importance)
        score = 0.0
        for name, weight in weights.items():
            if weight:
                values = ops.concatenate(proxies[name], axis=0)
                norm = ops.sqrt(ops.sum(values * values)) + _EPSILON
                score = score + weight * values / norm
        return score

    def _select(self, grads, var_list, period):
        """New redundant masks: the period's lowest-scoring live groups."""
        score = self._scores(grads, var_list)
        kept = ops.concatenate([ops.convert_to_tensor(k)
                                for k in self._kept], axis=0)
        # Each kind's best surviving group stays (a width of at least 1).
        protected, start = [], 0
        for mask in self._kept:
            n = int(mask.shape[0])
            live = ops.where(mask > 0, score[start:start + n], -np.inf)
            protected.append(ops.one_hot(ops.argmax(live), n))
            start += n
        excluded = ops.logical_or(
            kept <= 0, ops.concatenate(protected, axis=0) > 0)
        score = ops.where(excluded, np.inf, score)
        rank = ops.argsort(ops.argsort(score))
        count = ops.take(ops.convert_to_tensor(self._period_counts, "int32"),
                         period)
        chosen = ops.cast(rank < count, "float32")
        splits = np.cumsum([int(m.shape[0]) for m in self._kept])[:-1]
        return ops.split(chosen, splits.tolist(), axis=0)

    def apply(self, grads, trainable_variables=None):
        self.ensure_built(trainable_variables)
        var_list = (self._trainable_variables if trainable_variables is None
                    else list(trainable_variables))
        length = self.period_length
        window = length * self.pruning_periods
        u = ops.cast(self.inner_optimizer.iterations, "int32") - \
            self.start_pruning_step
        in_window = ops.logical_and(u >= 0, u < window)
        t = ops.mod(ops.clip(u, 0, window - 1), length)
        period = ops.floor_divide(ops.clip(u, 0, window - 1), length)
        if self._target:
            old = [ops.convert_to_tensor(r) for r in self._redundant]
            new = ops.cond(ops.logical_and(in_window, ops.equal(t, 0)),
                           lambda: self._select(grads, var_list, period),
                           lambda: old)
            for r, value in zip(self._redundant, new):
                r.assign(value)
        self.inner_optimizer.apply(grads, trainable_variables)
        t = ops.cast(t, "float32")
        ratio = ops.where(in_window, (length - t - 1.0) / (length - t), 1.0)
        is_end = ops.logical_and(in_window, ops.equal(t, length - 1.0))
        trainable = {id(v) for v in var_list}
        for kind, kept_var, redundant_var in zip(self._kinds, self._kept,
                                                 self._redundant):
            kept = ops.convert_to_tensor(kept_var)
            redundant = ops.convert_to_tensor(redundant_var)
            factor = kept * (1.0 - redundant * (1.0 - ratio))
            for variable, axis in kind:
                if id(variable) in trainable:
                    f = _along(factor, axis, len(variable.shape))
                    variable.assign(variable * ops.cast(f, variable.dtype))
            kept_var.assign(ops.where(is_end, kept * (1.0 - redundant),
                                      kept))
            redundant_var.assign(ops.where(is_end, 0.0, redundant))

    def get_config(self):
        config = super().get_config()
        config.update({
            "groups": [[list(s) for s in kind] for kind in self.groups],
            "target_group_sparsity": self.target_group_sparsity,
            "start_pruning_step": self.start_pruning_step,
            "pruning_steps": self.pruning_steps,
            "pruning_periods": self.pruning_periods,
            "importance": (self.importance if isinstance(
                self.importance, str) else dict(self.importance)),
        })
        return config
