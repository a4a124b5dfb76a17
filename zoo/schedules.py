"""Learning-rate schedules: UBA, multi-phase, and a schedule factory.

`UBA` is the unified budget-aware schedule of Tang et al. (NeurIPS
2025): one shape parameter `phi` moves it between a nearly constant rate
with a late drop (small `phi`), cosine annealing (`phi = 2`, exactly)
and a fast, step- or exponential-like early decay (large `phi`).
`PhaseSchedule` chains schedules with the step counter reset at each
phase, the paper's multi-phase use. `make_schedule` builds any schedule
of `SCHEDULES` from a peak rate and a step budget; `zoo train
--schedule` uses it.
"""

import math

import keras
from keras import ops

SCHEDULES = ("cosine", "uba", "step", "linear", "onecycle", "constant")


def _check_number(name, value, low=None, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number. Received: "
                         f"{name}={value!r}")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: "
                         f"{name}={value!r}")
    if low is not None and (value <= low if low_open else value < low):
        sign = ">" if low_open else ">="
        raise ValueError(f"`{name}` must be {sign} {low}. Received: "
                         f"{name}={value!r}")
    return value


def _check_steps(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or (
            value < minimum):
        raise ValueError(f"`{name}` must be an integer >= {minimum}. "
                         f"Received: {name}={value!r}")
    return value


@keras.saving.register_keras_serializable(package="hyperzoo")
class UBA(keras.optimizers.schedules.LearningRateSchedule):
    """Unified budget-aware (UBA) learning-rate schedule.

    After an optional linear warm-up from `initial_learning_rate` to
    `peak_learning_rate` over `warmup_steps`, with `t` counted from the
    end of the warm-up and `T = decay_steps`, `u = 1 + cos(pi t / T)`:

    `lr(t) = min_lr + (peak - min_lr) * 2u / (2 phi + (2 - phi) u)`,

    and `min_lr` after `T`. The factor falls monotonically from 1 to 0
    for every `phi > 0`; `phi = 2` is cosine annealing exactly (the
    factor is `u / 2`); small `phi` keeps the rate near its peak until a
    late, sharp drop; large `phi` decays fast early. For a quadratic with
    curvatures in `[mu, L]`, the min-max (Chebyshev) step sizes have this
    form with `phi = 2 L / mu`, which is why `phi` tracks the condition
    number.

    Decisions (the paper's defaults are not public, spec
    "unverified"): the closed form above is the one of the most careful
    third-party implementation, checked here against cosine at
    `phi = 2` (`keras.optimizers.schedules.CosineDecay` with
    `alpha = min_lr / peak`, the same warm-up semantics); `phi` defaults
    to 2 (a safe reference); the warm-up is linear like `CosineDecay`'s.

    Args:
        peak_learning_rate: float > 0. Rate at the end of the warm-up
            (`eta_max`).
        decay_steps: int >= 1. Steps of the decay after the warm-up
            (`T`).
        phi: float > 0. Shape parameter.
        min_learning_rate: float in `[0, peak]`. Final rate (`eta_min`).
        warmup_steps: int >= 0. Linear warm-up steps.
        initial_learning_rate: float >= 0. Rate at step 0 when
            `warmup_steps > 0`.
        name: str. Name of the schedule (kept in its config).

    Example:

    ```python
    schedule = zoo.schedules.UBA(1e-3, decay_steps=1000, phi=4.0)
    optimizer = keras.optimizers.Adam(schedule)
    ```

    Reference:
    - [Tang et al., 2025. Stepsize anything: A unified learning rate
      schedule for budgeted-iteration training. NeurIPS 2025,
      arXiv:2505.24452](https://arxiv.org/abs/2505.24452)
    """

    def __init__(self, peak_learning_rate, decay_steps, phi=2.0,
                 min_learning_rate=0.0, warmup_steps=0,
                 initial_learning_rate=0.0, name="uba"):
        super().__init__()
        _check_number("peak_learning_rate", peak_learning_rate, 0,
                      low_open=True)
        _check_steps("decay_steps", decay_steps, 1)
        _check_number("phi", phi, 0, low_open=True)
        _check_number("min_learning_rate", min_learning_rate, 0)
        if min_learning_rate > peak_learning_rate:
            raise ValueError(
                "`min_learning_rate` must be <= `peak_learning_rate`. "
                f"Received: min_learning_rate={min_learning_rate!r}, "
                f"peak_learning_rate={peak_learning_rate!r}"
            )
        _check_steps("warmup_steps", warmup_steps, 0)
        _check_number("initial_learning_rate", initial_learning_rate, 0)
        self.peak_learning_rate = float(peak_learning_rate)
        self.decay_steps = int(decay_steps)
        self.phi = float(phi)
        self.min_learning_rate = float(min_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.name = name

    def _decay(self, step):
        t = ops.minimum(ops.maximum(step - self.warmup_steps, 0.0),
                        float(self.decay_steps))
        u = 1.0 + ops.cos(math.pi * t / self.decay_steps)
        factor = 2.0 * u / (2.0 * self.phi + (2.0 - self.phi) * u)
        span = self.peak_learning_rate - self.min_learning_rate
        return self.min_learning_rate + span * factor

    def __call__(self, step):
        step = ops.cast(step, "float32")
        decayed = self._decay(step)
        if self.warmup_steps == 0:
            return decayed
        frac = step / self.warmup_steps
        warm = self.initial_learning_rate + frac * (
            self.peak_learning_rate - self.initial_learning_rate)
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "decay_steps": self.decay_steps,
            "phi": self.phi,
            "min_learning_rate": self.min_learning_rate,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="hyperzoo")
class PhaseSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Schedules run one after another, each from its own step 0.

    Phase `k` covers the steps `[start_k, start_k + phase_steps[k])`
    and is called with `step - start_k`; after the last boundary the
    last phase continues (with its own clamping). This is how a
    budget-aware schedule is used over several training phases (each
    phase a full UBA decay, with `t` reset).

    Args:
        schedules: list of `LearningRateSchedule`s (or floats for
            constant phases).
        phase_steps: list of ints >= 1, one per schedule but the last
            (the length of every phase except the last, which runs on).

    Example:

    ```python
    schedule = zoo.schedules.PhaseSchedule(
        [zoo.schedules.UBA(1e-3, 500, phi=4.0),
         zoo.schedules.UBA(3e-4, 500, phi=4.0)],
        phase_steps=[500],
    )
    ```

    Reference:
    - [Tang et al., 2025. Stepsize anything: A unified learning rate
      schedule for budgeted-iteration training. NeurIPS 2025,
      arXiv:2505.24452](https://arxiv.org/abs/2505.24452)
    """

    def __init__(self, schedules, phase_steps):
        super().__init__()
        schedules = list(schedules)
        phase_steps = list(phase_steps)
        if not schedules:
            raise ValueError("`schedules` must hold at least one schedule.")
        if len(phase_steps) != len(schedules) - 1:
            raise ValueError(
                "`phase_steps` must hold one length per schedule but the "
                f"last ({len(schedules) - 1}). Received: "
                f"phase_steps={phase_steps!r}"
            )
        for i, n in enumerate(phase_steps):
            _check_steps(f"phase_steps[{i}]", n, 1)
        for i, s in enumerate(schedules):
            if isinstance(s, dict):
                schedules[i] = keras.optimizers.schedules.deserialize(s)
            elif not isinstance(
                    s, (keras.optimizers.schedules.LearningRateSchedule,
                        int, float)) or isinstance(s, bool):
                raise ValueError(
                    f"`schedules[{i}]` must be a LearningRateSchedule or "
                    f"a float. Received: {s!r}"
                )
        self.schedules = schedules
        self.phase_steps = [int(n) for n in phase_steps]

    def _phase(self, k, step, start):
        schedule = self.schedules[k]
        if isinstance(schedule, (int, float)):
            return ops.full_like(step, float(schedule))
        return ops.cast(schedule(step - start), "float32")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        starts = [0]
        for n in self.phase_steps:
            starts.append(starts[-1] + n)
        value = self._phase(len(self.schedules) - 1, step, starts[-1])
        for k in reversed(range(len(self.schedules) - 1)):
            value = ops.where(step < starts[k + 1],
                              self._phase(k, step, starts[k]), value)
        return value

    def get_config(self):
        return {
            "schedules": [
                s if isinstance(s, (int, float))
                else keras.optimizers.schedules.serialize(s)
                for s in self.schedules
            ],
            "phase_steps": list(self.phase_steps),
        }


def make_schedule(kind, peak_learning_rate, total_steps, warmup_steps=0,
                  min_learning_rate=0.0, phi=2.0):
    """A learning-rate schedule of `SCHEDULES` for a step budget.

    Every kind starts from the same peak rate and ends at (or holds)
    `min_learning_rate` after `total_steps`, so that schedules can be
    compared under one budget:

    - `"cosine"`: linear warm-up, then cosine decay (`CosineDecay`).
    - `"uba"`: linear warm-up, then `UBA` with `phi`.
    - `"step"`: warm-up, then the peak divided by 10 at 50 % and at
      75 % of the decay steps (`PiecewiseConstantDecay` after the
      warm-up), the classic ResNet step schedule.
    - `"linear"`: warm-up, then linear decay to `min_learning_rate`
      (`PolynomialDecay`, power 1).
    - `"onecycle"`: Smith's one-cycle shape as in fastai's default:
      30 % of the steps of linear warm-up from peak / 25, then cosine
      decay to peak / 25e4 (`warmup_steps` and `min_learning_rate` are
      ignored: the policy sets both).
    - `"constant"`: warm-up, then the peak.

    Args:
        kind: str. One of `SCHEDULES`.
        peak_learning_rate: float > 0.
        total_steps: int >= 1. Warm-up plus decay steps.
        warmup_steps: int in `[0, total_steps)`.
        min_learning_rate: float >= 0. Final rate.
        phi: float > 0. UBA's shape parameter (`"uba"` only).

    Returns:
        A `keras.optimizers.schedules.LearningRateSchedule`.

    Example:

    ```python
    schedule = zoo.schedules.make_schedule("uba", 1e-3, 2000,
                                           warmup_steps=100, phi=4.0)
    ```

    Reference:
    - [Tang et al., 2025. Stepsize anything: A unified learning rate
      schedule for budgeted-iteration training. NeurIPS 2025,
      arXiv:2505.24452](https://arxiv.org/abs/2505.24452)
    """
    if kind not in SCHEDULES:
        raise ValueError(f"`kind` (--schedule) must be one of {SCHEDULES}. "
                         f"Received: kind={kind!r}")
    _check_number("peak_learning_rate", peak_learning_rate, 0,
                  low_open=True)
    _check_steps("total_steps", total_steps, 1)
    _check_steps("warmup_steps", warmup_steps, 0)
    if warmup_steps >= total_steps:
        raise ValueError(
            "`warmup_steps` must be < `total_steps`. Received: "
            f"warmup_steps={warmup_steps}, total_steps={total_steps}"
        )
    _check_number("min_learning_rate", min_learning_rate, 0)
    peak = float(peak_learning_rate)
    decay = total_steps - warmup_steps
    schedules = keras.optimizers.schedules
    if kind == "onecycle":
        warm = max(1, int(round(0.3 * total_steps)))
        return schedules.CosineDecay(
            peak / 25.0, max(1, total_steps - warm),
            alpha=1.0 / 25e4, warmup_target=peak, warmup_steps=warm)
    if kind == "uba":
        return UBA(peak, decay, phi=phi, min_learning_rate=min_learning_rate,
                   warmup_steps=warmup_steps)
    if kind == "cosine":
        if warmup_steps:
            return schedules.CosineDecay(
                0.0, decay, alpha=min_learning_rate / peak,
                warmup_target=peak, warmup_steps=warmup_steps)
        return schedules.CosineDecay(peak, decay,
                                     alpha=min_learning_rate / peak)
    if kind == "linear":
        main = schedules.PolynomialDecay(peak, decay, min_learning_rate,
                                         power=1.0)
    elif kind == "step":
        bounds = [max(1, decay // 2), max(2, (3 * decay) // 4)]
        main = schedules.PiecewiseConstantDecay(
            bounds, [peak, peak / 10.0, peak / 100.0])
    else:
        main = peak
    if not warmup_steps:
        return main if not isinstance(main, float) else PhaseSchedule(
            [main], [])
    ramp = schedules.PolynomialDecay(0.0, warmup_steps, peak, power=1.0)
    return PhaseSchedule([ramp, main], [warmup_steps])
