"""Sparsity schedules of gradual magnitude pruning.

Same semantics as tensorflow-model-optimization's
`tfmot.sparsity.keras.PolynomialDecay` and `ConstantSparsity` (checked
against tfmot 0.8.1 by `scripts/tfmot_oracle.py`): a schedule maps an
integer pruning step to `(should_prune, sparsity)`, both computed with
`keras.ops` so that the optimizer evaluates them inside the compiled
train step.
"""

import keras
from keras import ops

from layers._checks import check_rate


def _check_steps(begin_step, end_step, frequency):
    if isinstance(begin_step, bool) or not isinstance(begin_step, int) \
            or begin_step < 0:
        raise ValueError("`begin_step` must be an int >= 0. Received: "
                         f"begin_step={begin_step!r}")
    if isinstance(end_step, bool) or not isinstance(end_step, int) or not (
            end_step == -1 or end_step >= begin_step):
        raise ValueError("`end_step` must be -1 or an int >= begin_step. "
                         f"Received: end_step={end_step!r}, "
                         f"begin_step={begin_step}")
    if isinstance(frequency, bool) or not isinstance(frequency, int) \
            or frequency < 1:
        raise ValueError("`frequency` must be an int >= 1. Received: "
                         f"frequency={frequency!r}")


class PruningSchedule:
    """Base class: `schedule(step) -> (should_prune, sparsity)`.

    `should_prune` is true when `begin_step <= step` (and `step <=
    end_step` unless `end_step == -1`) and `(step - begin_step)` is a
    multiple of `frequency`, exactly as in tfmot. Subclasses define
    `sparsity(step)`.

    Args:
        begin_step: int. First step at which masks are updated.
        end_step: int. Last step at which masks are updated (-1: never
            stop).
        frequency: int. Masks are updated every `frequency` steps.

    Example:

    ```python
    schedule = zoo.pruning.PolynomialDecay(0.0, 0.9, 0, 1000)
    should_prune, sparsity = schedule(100)
    ```
    """

    def __init__(self, begin_step=0, end_step=-1, frequency=100):
        _check_steps(begin_step, end_step, frequency)
        self.begin_step = begin_step
        self.end_step = end_step
        self.frequency = frequency

    def should_prune(self, step):
        """Whether masks are updated at integer `step` (a bool tensor).

        Args:
            step: int or int tensor. The pruning step.
        """
        step = ops.cast(step, "int32")
        in_range = ops.greater_equal(step, self.begin_step)
        if self.end_step != -1:
            in_range = ops.logical_and(
                in_range, ops.less_equal(step, self.end_step)
            )
        turn = ops.equal(ops.mod(step - self.begin_step, self.frequency), 0)
        return ops.logical_and(in_range, turn)

    def sparsity(self, step):
        """Target sparsity at `step` (a float32 tensor).

        Args:
            step: int or int tensor. The pruning step.
        """
        raise NotImplementedError

    def __call__(self, step):
        return self.should_prune(step), self.sparsity(step)

    def get_config(self):
        return {"begin_step": self.begin_step, "end_step": self.end_step,
                "frequency": self.frequency}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="hyperzoo")
class ConstantSparsity(PruningSchedule):
    """Prunes to `target_sparsity` at every pruning step.

    Args:
        target_sparsity: float in `[0, 1)`. Fraction of zero weights.
        begin_step, end_step, frequency: when masks are updated, see
            `PruningSchedule`.

    Example:

    ```python
    schedule = zoo.pruning.ConstantSparsity(0.5, begin_step=0,
                                            frequency=10)
    ```

    Reference:
    - [Zhu & Gupta, 2017](https://arxiv.org/abs/1710.01878), "To prune,
      or not to prune".
    """

    def __init__(self, target_sparsity, begin_step=0, end_step=-1,
                 frequency=100):
        super().__init__(begin_step, end_step, frequency)
        self.target_sparsity = _check_sparsity("target_sparsity",
                                               target_sparsity)

    def sparsity(self, step):
        """The constant target sparsity (a float32 tensor).

        Args:
            step: int or int tensor (unused).
        """
        return ops.convert_to_tensor(self.target_sparsity, "float32")

    def get_config(self):
        config = super().get_config()
        config["target_sparsity"] = self.target_sparsity
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class PolynomialDecay(PruningSchedule):
    """Zhu-Gupta polynomial sparsity ramp (cubic by default).

    `s(t) = s_f + (s_i - s_f) * (1 - p)^power`, with
    `p = clip((t - begin_step) / (end_step - begin_step), 0, 1)`: fast
    pruning early, when the network has redundant weights, slower near
    the final sparsity.

    Args:
        initial_sparsity: float in `[0, 1)`. Sparsity at `begin_step`.
        final_sparsity: float in `[0, 1)`. Sparsity from `end_step` on.
        begin_step, end_step: the ramp's first and last pruning steps
            (`end_step > begin_step`; see `PruningSchedule`).
        power: float > 0. Exponent of the ramp. Defaults to 3.
        frequency: int. Masks are updated every `frequency` steps.

    Example:

    ```python
    schedule = zoo.pruning.PolynomialDecay(0.0, 0.9, begin_step=0,
                                           end_step=1000, frequency=100)
    float(schedule.sparsity(500))  # 0.7875
    ```

    Reference:
    - [Zhu & Gupta, 2017](https://arxiv.org/abs/1710.01878), "To prune,
      or not to prune".
    """

    def __init__(self, initial_sparsity, final_sparsity, begin_step,
                 end_step, power=3, frequency=100):
        super().__init__(begin_step, end_step, frequency)
        if end_step <= begin_step:
            raise ValueError("`end_step` must be > begin_step for a "
                             f"polynomial ramp. Received: end_step="
                             f"{end_step!r}, begin_step={begin_step}")
        if not isinstance(power, (int, float)) or isinstance(power, bool) \
                or not power > 0:
            raise ValueError(f"`power` must be a number > 0. Received: "
                             f"power={power!r}")
        self.initial_sparsity = _check_sparsity("initial_sparsity",
                                                initial_sparsity)
        self.final_sparsity = _check_sparsity("final_sparsity",
                                              final_sparsity)
        self.power = power

    def sparsity(self, step):
        """The ramp's sparsity at `step` (a float32 tensor).

        Args:
            step: int or int tensor. The pruning step.
        """
        step = ops.cast(step, "float32")
        p = ops.clip(
            (step - self.begin_step) / (self.end_step - self.begin_step),
            0.0, 1.0,
        )
        return ops.cast(
            self.final_sparsity + (self.initial_sparsity
                                   - self.final_sparsity)
            * ops.power(1.0 - p, self.power),
            "float32",
        )

    def get_config(self):
        config = super().get_config()
        config.update(initial_sparsity=self.initial_sparsity,
                      final_sparsity=self.final_sparsity, power=self.power)
        return config


def _check_sparsity(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: "
                         f"{name}={value!r}")
    return float(check_rate(name, value))
