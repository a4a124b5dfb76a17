"""`PruningOptimizer`: masks re-applied inside every optimizer step.

Wraps any Keras optimizer. After the wrapped update it multiplies each
prunable kernel by its mask (an optimizer variable, so JAX's stateless
train step carries it and `.keras` files save it) and, where a sparsity
schedule says so, first recomputes the masks by magnitude. Everything
happens in `apply`, i.e. inside the compiled train step of every
backend: no per-batch Python callback.
"""

import re

import keras
from keras import ops
from keras.src.saving import serialization_lib
from keras.src.utils import tracking

from zoo.pruning.magnitude import SCOPES
from zoo.pruning.magnitude import magnitude_masks
from zoo.pruning.wrapper_optimizer import WrapperOptimizer

# Default prunable weights: kernels with 2+ axes (Dense, EinsumDense,
# Conv*, DepthwiseConv, and the zoo layers' `*_kernel_<i>` weights);
# biases, norms and embeddings are left dense.
DEFAULT_INCLUDE = r"(^|/|_)(depthwise_)?kernel(_\d+)?$"


def is_prunable(variable, include=DEFAULT_INCLUDE, exclude=None):
    """Whether `variable` is pruned by default (a kernel with 2+ axes).

    Args:
        variable: a `keras.Variable`.
        include: str regex searched in `variable.path`.
        exclude: str regex or `None`; a match leaves the variable dense.

    Returns:
        bool.

    Example:

    ```python
    [v.path for v in model.trainable_variables if is_prunable(v)]
    ```
    """
    if len(variable.shape) < 2:
        return False
    if not re.search(include, variable.path):
        return False
    return not (exclude and re.search(exclude, variable.path))


@keras.saving.register_keras_serializable(package="hyperzoo")
class PruningOptimizer(WrapperOptimizer):
    """Wraps an optimizer so that prunable kernels keep their masks.

    Each step: the wrapped optimizer updates every variable; then, if
    `schedule(t + 1)` says so (`t` = the wrapped optimizer's iterations
    after the update), the masks are recomputed by magnitude from the
    updated kernels (`zoo.pruning.magnitude_masks`: Global MP, per-layer
    MP, or Global MP with Gupta et al.'s minimum threshold); finally
    every prunable kernel is multiplied by its mask, so momentum and
    weight decay cannot regrow a pruned weight between mask updates.
    The step counting is tfmot's (`prune_low_magnitude` with
    `UpdatePruningStep`): the mask of pruning step `t + 1` comes from
    the weights after `t` updates, pruned positions included, and step
    1 prunes the initial weights before the first update. With
    `schedule=None` the masks only change through `set_masks` (fixed
    masks for fine-tuning after one-shot pruning).

    Masks are float32 optimizer variables (ones until pruned), saved with
    the optimizer in `.keras` files. Under mixed precision the kernels
    are float32 master variables, so the mask is applied to them.

    Args:
        inner_optimizer: a `keras.optimizers.Optimizer`.
        schedule: `zoo.pruning.PolynomialDecay`, `ConstantSparsity` or
            `None`.
        scope: `"global"` or `"layer"`.
        min_weights: int. Global scope: minimum weights kept per layer
            (MT; 0 turns it off).
        include: str regex on variable paths (see `is_prunable`).
        exclude: str regex or `None`.
        name: str or `None`.

    Example:

    ```python
    schedule = zoo.pruning.PolynomialDecay(0.0, 0.9, 0, 1000, frequency=50)
    model.compile(optimizer=zoo.pruning.PruningOptimizer(
        keras.optimizers.Adam(1e-3), schedule))
    model.fit(x, y, epochs=5)
    model = zoo.pruning.strip_pruning(model)
    ```

    Reference:
    - [Gupta et al., 2022](https://arxiv.org/abs/2209.14624), "Is
      Complexity Required for Neural Network Pruning? A Case Study on
      Global Magnitude Pruning".
    - [Zhu & Gupta, 2017](https://arxiv.org/abs/1710.01878), "To prune,
      or not to prune".
    """

    def __init__(self, inner_optimizer, schedule=None, scope="global",
                 min_weights=0, include=DEFAULT_INCLUDE, exclude=None,
                 name=None, **kwargs):
        if scope not in SCOPES:
            raise ValueError(f"`scope` must be one of {SCOPES}. Received: "
                             f"scope={scope!r}")
        if isinstance(min_weights, bool) or not isinstance(min_weights, int) \
                or min_weights < 0:
            raise ValueError("`min_weights` must be an int >= 0. Received: "
                             f"min_weights={min_weights!r}")
        if scope == "layer" and min_weights:
            raise ValueError("`min_weights` (MT) needs scope='global'. "
                             f"Received: min_weights={min_weights}")
        re.compile(include)
        super().__init__(inner_optimizer, name=name, **kwargs)
        self.schedule = schedule
        self.scope = scope
        self.min_weights = min_weights
        self.include = include
        self.exclude = exclude

    @tracking.no_automatic_dependency_tracking
    def build(self, var_list):
        """Creates one mask per prunable variable, then the inner state.

        Args:
            var_list: list of the model's trainable variables.
        """
        self._pruned = [v for v in var_list
                        if is_prunable(v, self.include, self.exclude)]
        self._masks = [
            self.add_variable(v.shape, initializer="ones", dtype="float32",
                              aggregation="none",
                              name=f"mask_{i}_{v.name}")
            for i, v in enumerate(self._pruned)
        ]
        super().build(var_list)

    @property
    def pruned_variables(self):
        """The prunable variables, in the order of `masks`."""
        return list(self._pruned)

    @property
    def masks(self):
        """The mask variables (float32, 1 kept, 0 pruned)."""
        return list(self._masks)

    def set_masks(self, masks):
        """Sets the masks and zeroes the pruned weights now.

        Args:
            masks: list of arrays shaped like `pruned_variables`.
        """
        if len(masks) != len(self._masks):
            raise ValueError(f"Expected {len(self._masks)} masks, one per "
                             f"pruned variable. Received: {len(masks)}")
        for v, m, new in zip(self._pruned, self._masks, masks):
            if tuple(new.shape) != tuple(v.shape):
                raise ValueError(f"The mask of {v.path} must have shape "
                                 f"{tuple(v.shape)}. Received: "
                                 f"{tuple(new.shape)}")
            m.assign(ops.cast(new, "float32"))
        self._apply_masks()

    def _apply_masks(self):
        for v, m in zip(self._pruned, self._masks):
            v.assign(ops.cast(ops.cast(v, "float32") * m, v.dtype))

    def _update_masks(self, step, when=True):
        # As tfmot: from the raw kernels, pruned positions included (one
        # update can regrow a weight above the new threshold).
        should_prune, sparsity = self.schedule(step)
        should_prune = ops.logical_and(should_prune, when)
        kernels = [ops.cast(v, "float32") for v in self._pruned]
        old = [ops.convert_to_tensor(m) for m in self._masks]
        new = ops.cond(
            should_prune,
            lambda: magnitude_masks(kernels, sparsity, self.scope,
                                    self.min_weights),
            lambda: old,
        )
        for m, value in zip(self._masks, new):
            m.assign(value)

    def apply(self, grads, trainable_variables=None):
        self.ensure_built(trainable_variables)
        if self._pruned and self.schedule is not None:
            # Pruning step 1 (tfmot: before the first update) prunes the
            # initial weights.
            self._update_masks(
                1, ops.equal(self.inner_optimizer.iterations, 0))
            self._apply_masks()
        self.inner_optimizer.apply(grads, trainable_variables)
        if self._pruned:
            if self.schedule is not None:
                # Pruning step t + 1 sees the weights after update t,
                # as in tfmot (where it runs before the forward pass).
                self._update_masks(self.inner_optimizer.iterations + 1)
            self._apply_masks()

    def get_config(self):
        config = super().get_config()
        config.update({
            "schedule": serialization_lib.serialize_keras_object(
                self.schedule),
            "scope": self.scope,
            "min_weights": self.min_weights,
            "include": self.include,
            "exclude": self.exclude,
        })
        return config
