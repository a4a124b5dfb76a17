"""Training utilities: precision policies, resumable fit, `train()`.

A *recipe* trains one preset of a family on its dataset and returns the
model, its test metrics and the metadata of the preset it becomes. Each
family declares its recipes in its `FAMILY` (`zoo.family.PresetSpec.train`,
called as `train(epochs, out_dir, seed, verbose)`); `train()` looks them
up in `zoo.registry`, sets the dtype policy once, runs the recipe and
writes the preset atomically. `python -m zoo train NAME` and the
`scripts/train_*.py` scripts call it.
"""

import contextlib
import csv
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import warnings

import keras

import zoo.registry as registry
from zoo.registry import list_recipes  # noqa: F401  (public here too)

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "dfp_int16")
RUN_FILE = "run.json"
# The learning-rate scaling rule of each optimizer class for
# `scale_learning_rate(rule="auto")`: the paper's (Granziol et al.):
# linear for SGD, square root for Adam and its variants.
PAPER_LR_RULES = {"SGD": "linear", "Adam": "sqrt", "AdamW": "sqrt",
                  "Adamax": "sqrt", "Nadam": "sqrt"}
# Other adaptive or sign-based optimizers: square root by extrapolation
# (their update is normalised per coordinate like Adam's), not the
# paper's result.
EXTRAPOLATED_LR_RULES = {"RMSprop": "sqrt", "Adagrad": "sqrt",
                         "Adadelta": "sqrt", "Adafactor": "sqrt",
                         "Lion": "sqrt", "Lamb": "sqrt", "Muon": "sqrt",
                         "Kar3": "sqrt"}
LR_RULES = ("linear", "sqrt", "auto")
# `zoo train --auto-scale-lr` warns above this fraction of the training
# set when no critical batch is given (see `TrainOptions`).
CRITICAL_BATCH_FRACTION = 0.125
_DFP_ACTIVE = False


def check_precision(precision):
    """Validates a precision policy name.

    Args:
        precision: str. One of `PRECISIONS`.

    Returns:
        The name.

    Example:

    ```python
    zoo.training.check_precision("mixed_bfloat16")
    ```
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {PRECISIONS}. "
            f"Received: precision={precision!r}"
        )
    return precision


@contextlib.contextmanager
def precision_scope(precision):
    """Sets the global Keras dtype policy inside a `with` block.

    Models must be built inside the block; `compile()` then wraps the
    optimizer in a `LossScaleOptimizer` for `mixed_float16` by itself.
    `"dfp_int16"` sets the float32 policy and makes `fit_resumable`
    train with dynamic fixed point INT16 fake quantisation
    (`zoo.dfp_training.enable_dfp`).

    Args:
        precision: str. One of `PRECISIONS`.

    Example:

    ```python
    with zoo.training.precision_scope("mixed_bfloat16"):
        model = build()
    ```
    """
    global _DFP_ACTIVE
    check_precision(precision)
    previous = keras.config.dtype_policy()
    previous_dfp = _DFP_ACTIVE
    dfp = precision == "dfp_int16"
    # DFP INT16 keeps float32 master weights and compute; the layers
    # fake-quantise (zoo.dfp_training, switched on by fit_resumable).
    keras.config.set_dtype_policy("float32" if dfp else precision)
    _DFP_ACTIVE = dfp
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
        _DFP_ACTIVE = previous_dfp


def read_log(path):
    """Reads a training CSV log, keeping the last row of each epoch.

    A run killed after its checkpoint but before its log row, or resumed,
    may log an epoch twice; the later row wins.

    Args:
        path: str. CSV written by `fit_resumable`.

    Returns:
        A list of dicts ordered by epoch.

    Example:

    ```python
    rows = zoo.training.read_log("runs/x/log.csv")
    ```
    """
    if not os.path.isfile(path):
        return []
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "") == "epoch":
                continue
            rows[int(row["epoch"])] = row
    return [rows[k] for k in sorted(rows)]


def _optimizer_rule(optimizer):
    """`(rule, source)` of `scale_learning_rate(rule="auto")`."""
    if isinstance(optimizer, str):
        names = [optimizer]
    else:
        cls = optimizer if isinstance(optimizer, type) else type(
            _unwrap_optimizer(optimizer))
        names = [c.__name__ for c in cls.__mro__]
    for name in names:
        if name in PAPER_LR_RULES:
            return PAPER_LR_RULES[name], "paper"
        if name in EXTRAPOLATED_LR_RULES:
            return EXTRAPOLATED_LR_RULES[name], "extrapolated"
    known = sorted(PAPER_LR_RULES) + sorted(EXTRAPOLATED_LR_RULES)
    raise ValueError(
        "`rule='auto'` does not know the optimizer "
        f"{names[0]!r}: pass rule='linear' or rule='sqrt' (--lr-rule). "
        f"Known optimizers: {', '.join(known)}."
    )


def _unwrap_optimizer(optimizer):
    # LossScaleOptimizer and zoo's WrapperOptimizers keep the one that
    # owns the learning rate in `inner_optimizer`.
    seen = 0
    while hasattr(optimizer, "inner_optimizer") and seen < 8:
        optimizer = optimizer.inner_optimizer
        seen += 1
    return optimizer


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. "
                         f"Received: {name}={value!r}")
    return value


def scale_learning_rate(lr, batch, base_batch, rule="auto", optimizer=None,
                        critical_batch=None):
    """Rescales a learning rate tuned at `base_batch` to `batch`.

    Granziol et al. derive, from the spectrum of the batch Hessian, that
    the largest stable learning rate grows linearly with the batch size
    for SGD and as its square root for adaptive methods (Adam), both
    below a critical batch size beyond which the gradient noise no
    longer dominates. `rule="auto"` picks the rule from the optimizer's
    class: the paper's for SGD (linear) and Adam, AdamW, Adamax, Nadam
    (square root); square root by extrapolation for the other
    coordinate-wise adaptive or sign-based optimizers (RMSprop, Adagrad,
    Adadelta, Adafactor, Lion, Lamb, Muon, zoo's Kar3), which the paper
    does not cover; a `ValueError` for any other optimizer.

    Args:
        lr: float > 0. Learning rate tuned at `base_batch`.
        batch: int >= 1. New batch size.
        base_batch: int >= 1. Batch size `lr` was tuned at.
        rule: str. `"linear"`, `"sqrt"` or `"auto"`.
        optimizer: a `keras.optimizers.Optimizer` (wrappers are looked
            through), its class or its class name; needed for
            `rule="auto"`.
        critical_batch: int or `None`. A `UserWarning` is issued when
            `batch` exceeds it: the scaling rules do not hold there.

    Returns:
        float: `lr * batch / base_batch` (linear) or
        `lr * sqrt(batch / base_batch)` (sqrt).

    Example:

    ```python
    zoo.training.scale_learning_rate(1e-3, 256, 64, rule="sqrt")  # 2e-3
    zoo.training.scale_learning_rate(
        0.1, 512, 128, optimizer=keras.optimizers.SGD())  # 0.4
    ```

    Reference:
    - [Granziol, Zohren, Roberts, 2022. Learning Rates as a Function of
      Batch Size: A Random Matrix Theory Approach to Neural Network
      Training. JMLR 23, arXiv:2006.09092](
      https://arxiv.org/abs/2006.09092)
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (
            math.isfinite(lr) and lr > 0):
        raise ValueError("`lr` must be a positive finite number. "
                         f"Received: lr={lr!r}")
    _positive_int("batch", batch)
    _positive_int("base_batch", base_batch)
    if rule not in LR_RULES:
        raise ValueError(f"`rule` must be one of {LR_RULES}. "
                         f"Received: rule={rule!r}")
    if rule == "auto":
        if optimizer is None:
            raise ValueError("`rule='auto'` needs the `optimizer` (an "
                             "optimizer, its class or its class name).")
        rule, _ = _optimizer_rule(optimizer)
    if critical_batch is not None:
        _positive_int("critical_batch", critical_batch)
        if batch > critical_batch:
            warnings.warn(
                f"Batch size {batch} is above the critical batch size "
                f"{critical_batch}: the {rule} learning-rate scaling "
                "rule holds only below it (the gain from larger batches "
                "saturates there); check the learning rate.",
                UserWarning, stacklevel=2,
            )
    ratio = batch / base_batch
    return float(lr) * (ratio if rule == "linear" else math.sqrt(ratio))


class TrainOptions:
    """Recipe-independent training options (`zoo train` flags).

    Any recipe that trains through `fit_resumable` takes them: the
    learning-rate schedule is re-timed (or replaced) for the epochs and
    batch size actually run, keeping the recipe's peak rate, warm-up
    share and final rate. Recipes that do not train through
    `fit_resumable` declare `PresetSpec(train_options=False)` and
    refuse them.

    Args:
        schedule: str or `None`. `None` keeps the recipe's schedule
            (re-timed when the batch size changes); else one of
            `zoo.schedules.SCHEDULES`.
        phi: float > 0. UBA's shape parameter (`schedule="uba"`).
        batch_size: int or `None`. Training batch size (`None`: the
            recipe's).
        auto_scale_lr: bool. Rescale the recipe's learning rate from its
            batch size to `batch_size` (`scale_learning_rate`).
        lr_rule: str. `"auto"`, `"linear"` or `"sqrt"`.
        critical_batch: int or `None`. Warn above it when scaling; `None`
            uses `CRITICAL_BATCH_FRACTION` (1/8) of the training set,
            a stated default, not a measured critical batch.
        energy: bool. Log energy, power and CO2eq per epoch
            (`zoo.energy.EnergyTracker`).

    Example:

    ```python
    options = zoo.training.TrainOptions(schedule="uba", phi=4.0,
                                        batch_size=256, auto_scale_lr=True)
    zoo.training.train("hyper_mlp_digits", "runs/a", options=options)
    ```
    """

    # Options that change the trained weights (checked on resume).
    RESUME_KEYS = ("schedule", "phi", "batch_size", "auto_scale_lr",
                   "lr_rule", "critical_batch")

    def __init__(self, schedule=None, phi=2.0, batch_size=None,
                 auto_scale_lr=False, lr_rule="auto", critical_batch=None,
                 energy=False):
        from zoo.schedules import SCHEDULES

        if schedule is not None and schedule not in SCHEDULES:
            raise ValueError(
                f"`schedule` (--schedule) must be one of {SCHEDULES}. "
                f"Received: schedule={schedule!r}"
            )
        if isinstance(phi, bool) or not isinstance(phi, (int, float)) or (
                not math.isfinite(phi) or phi <= 0):
            raise ValueError("`phi` (--phi) must be a positive number. "
                             f"Received: phi={phi!r}")
        if phi != 2.0 and schedule != "uba":
            raise ValueError(
                "`phi` (--phi) only applies to schedule='uba' "
                f"(--schedule uba). Received: phi={phi!r}, "
                f"schedule={schedule!r}"
            )
        if batch_size is not None:
            _positive_int("batch_size", batch_size)
        if lr_rule not in LR_RULES:
            raise ValueError(f"`lr_rule` (--lr-rule) must be one of "
                             f"{LR_RULES}. Received: lr_rule={lr_rule!r}")
        if critical_batch is not None:
            _positive_int("critical_batch", critical_batch)
        if auto_scale_lr and batch_size is None:
            raise ValueError("`auto_scale_lr` (--auto-scale-lr) needs a "
                             "`batch_size` (--batch-size).")
        self.schedule = schedule
        self.phi = float(phi)
        self.batch_size = batch_size
        self.auto_scale_lr = bool(auto_scale_lr)
        self.lr_rule = lr_rule
        self.critical_batch = critical_batch
        self.energy = bool(energy)

    def get_config(self):
        """The options as a JSON-able dict (preset metadata, run.json).

        Returns:
            dict of the constructor's arguments.

        Example:

        ```python
        zoo.training.TrainOptions(schedule="uba").get_config()
        ```
        """
        return {"schedule": self.schedule, "phi": self.phi,
                "batch_size": self.batch_size,
                "auto_scale_lr": self.auto_scale_lr,
                "lr_rule": self.lr_rule,
                "critical_batch": self.critical_batch,
                "energy": self.energy}

    @property
    def is_default(self):
        """Whether the options change nothing of the recipe."""
        return self.get_config() == TrainOptions().get_config()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"TrainOptions({args})"


class _ActiveRun:
    """The options of the recipe that `run_recipe` is running."""

    def __init__(self, options):
        self.options = options
        self.applied = []


_ACTIVE = None


def _num_samples(x):
    first = next(iter(x.values())) if isinstance(x, dict) else x
    return len(first)


def _describe_schedule(optimizer):
    """`(peak, min_lr, warmup, total, kind)` of an optimizer's rate."""
    schedules = keras.optimizers.schedules
    from zoo.schedules import UBA

    lr = optimizer._learning_rate
    if isinstance(lr, UBA):
        return (lr.peak_learning_rate, lr.min_learning_rate,
                lr.warmup_steps, lr.warmup_steps + lr.decay_steps, "uba")
    if isinstance(lr, schedules.CosineDecay):
        warm = int(lr.warmup_steps or 0)
        peak = float(lr.warmup_target if warm and lr.warmup_target
                     is not None else lr.initial_learning_rate)
        return (peak, peak * float(lr.alpha), warm,
                warm + int(lr.decay_steps), "cosine")
    if isinstance(lr, schedules.LearningRateSchedule) or callable(lr):
        raise ValueError(
            f"The recipe's learning-rate schedule {type(lr).__name__} "
            "cannot be re-timed for --schedule/--batch-size (supported: "
            "a constant rate, CosineDecay, zoo.schedules.UBA)."
        )
    # A float32 variable: 7 significant digits give back the float.
    value = float(f"{float(keras.ops.convert_to_numpy(lr)):.7g}")
    # A decaying schedule replacing a constant rate decays to 0.
    return value, 0.0, 0, None, "constant"


def _apply_options(model, run, x, epochs, batch_size):
    """Applies `run.options` to a compiled model; returns the batch."""
    from zoo.schedules import make_schedule

    options = run.options
    base_batch = batch_size
    batch = options.batch_size or base_batch
    optimizer = _unwrap_optimizer(model.optimizer)
    if optimizer is None:
        raise ValueError("fit_resumable needs a compiled model.")
    if options.schedule is None and batch == base_batch:
        run.applied.append({"batch_size": batch})
        return batch
    n = _num_samples(x)
    peak, low, warm, total, kind = _describe_schedule(optimizer)
    record = {"base_batch_size": base_batch, "batch_size": batch,
              "base_peak_learning_rate": peak}
    if options.auto_scale_lr and batch != base_batch:
        critical = options.critical_batch or max(
            1, int(CRITICAL_BATCH_FRACTION * n))
        rule = options.lr_rule
        if rule == "auto":
            rule, source = _optimizer_rule(optimizer)
            record["lr_rule_source"] = source
        new_peak = scale_learning_rate(peak, batch, base_batch, rule=rule,
                                       critical_batch=critical)
        low *= new_peak / peak
        peak = new_peak
        record.update(lr_rule=rule, critical_batch=critical)
    steps = epochs * math.ceil(n / batch)
    new_kind = options.schedule or kind
    if kind == "constant" and new_kind == "constant":
        optimizer.learning_rate = peak
    else:
        if total:
            warm = int(round(warm * steps / total))
        warm = min(warm, steps - 1)
        schedule = make_schedule(new_kind, peak, steps, warmup_steps=warm,
                                 min_learning_rate=low, phi=options.phi)
        start = int(keras.ops.convert_to_numpy(optimizer.iterations))
        if start:
            from zoo.schedules import PhaseSchedule

            # A second fit_resumable on the same optimizer: the new
            # schedule starts from the current step.
            now = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            schedule = PhaseSchedule([now, schedule], [start])
        optimizer.learning_rate = schedule
        record["schedule"] = keras.optimizers.schedules.serialize(schedule)
    record.update(peak_learning_rate=peak, steps=steps, kind=new_kind)
    run.applied.append(record)
    return batch


@contextlib.contextmanager
def training_options(options):
    """Makes `fit_resumable` apply `options` inside a `with` block.

    `run_recipe` (so `train` and `python -m zoo train`) opens it around
    the recipe; use it directly to run a recipe function by hand.

    Args:
        options: `TrainOptions` or `None` (no change).

    Example:

    ```python
    with zoo.training.training_options(TrainOptions(schedule="uba")):
        model, metrics, meta = recipe(epochs=5, out_dir="runs/a")
    ```
    """
    global _ACTIVE
    if options is not None and not isinstance(options, TrainOptions):
        raise ValueError("`options` must be a zoo.training.TrainOptions or "
                         f"None. Received: {options!r}")
    previous = _ACTIVE
    _ACTIVE = _ActiveRun(options or TrainOptions())
    try:
        yield _ACTIVE
    finally:
        _ACTIVE = previous


class AtomicBackupAndRestore(keras.callbacks.Callback):
    """Checkpoints model and optimizer every epoch; restores on restart.

    Like `keras.callbacks.BackupAndRestore`, but a checkpoint (weights,
    optimizer state and the epoch counter) is written into a temporary
    directory and swapped in with renames, so a process killed while
    saving never leaves a corrupt checkpoint (Keras' callback writes the
    `.weights.h5` file in place; a kill during that write made the next
    run fail with an HDF5 error in our tests).

    Args:
        backup_dir: str. Directory holding `latest/` (and, transiently,
            `previous/`).

    Example:

    ```python
    model.fit(x, y, epochs=10,
              callbacks=[zoo.training.AtomicBackupAndRestore("ckpt")])
    ```
    """

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = backup_dir
        self._latest = os.path.join(backup_dir, "latest")
        self._previous = os.path.join(backup_dir, "previous")

    def _readable(self):
        for path in (self._latest, self._previous):
            if os.path.isfile(os.path.join(path, "state.json")):
                return path
        return None

    def on_train_begin(self, logs=None):
        path = self._readable()
        if path is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(path, "ckpt.weights.h5"))
        with open(os.path.join(path, "state.json")) as f:
            self.model._initial_epoch = json.load(f)["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=self.backup_dir)
        self.model.save_weights(os.path.join(tmp, "ckpt.weights.h5"))
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump({"epoch": epoch + 1}, f)
        if os.path.isdir(self._latest):
            shutil.rmtree(self._previous, ignore_errors=True)
            os.replace(self._latest, self._previous)
        os.replace(tmp, self._latest)
        shutil.rmtree(self._previous, ignore_errors=True)


def fit_resumable(
    model,
    x,
    y,
    epochs,
    out_dir,
    batch_size=32,
    validation_data=None,
    verbose=1,
    callbacks=(),
):
    """`model.fit` that checkpoints every epoch and resumes after a kill.

    Uses `AtomicBackupAndRestore` (model and optimizer state and the
    epoch counter, saved every epoch under `out_dir/checkpoints`) and
    a `CSVLogger` appending to `out_dir/log.csv`. Running the same call
    again after an interruption continues from the last finished epoch;
    running it after completion trains nothing more.

    Inside `training_options` (any recipe run by `train`/`run_recipe`),
    the `TrainOptions` apply here: `batch_size` is the recipe's (the
    base batch of the learning-rate scaling) unless the options set one,
    the optimizer's learning rate is re-timed or replaced, and
    `options.energy` adds a `zoo.energy.EnergyTracker`. Under the
    `"dfp_int16"` precision the model trains with DFP INT16 fake
    quantisation (`zoo.dfp_training.enable_dfp`).

    Args:
        model: a compiled `keras.Model`.
        x: training inputs (numpy arrays or a dict of arrays).
        y: training targets.
        epochs: int. Total number of epochs.
        out_dir: str. Run directory.
        batch_size: int. Batch size.
        validation_data: optional `(x_val, y_val)`.
        verbose: int. 1 shows Keras progress bars.
        callbacks: extra callbacks, run after the logging ones.

    Returns:
        The `History` of this call (only the epochs it ran).

    Example:

    ```python
    zoo.training.fit_resumable(model, x, y, epochs=40, out_dir="runs/a")
    ```
    """
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(
            f"`epochs` must be a positive integer. Received: epochs={epochs!r}"
        )
    first = []
    if _ACTIVE is not None:
        batch_size = _apply_options(model, _ACTIVE, x, epochs, batch_size)
        if _ACTIVE.options.energy:
            from zoo.energy import EnergyTracker

            # Before the CSVLogger, which writes the keys it adds.
            first.append(EnergyTracker())
    if _DFP_ACTIVE:
        from zoo.dfp_training import enable_dfp

        enable_dfp(model)
    os.makedirs(out_dir, exist_ok=True)
    backup = AtomicBackupAndRestore(os.path.join(out_dir, "checkpoints"))
    logger = keras.callbacks.CSVLogger(
        os.path.join(out_dir, "log.csv"), append=True
    )
    return model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        verbose=verbose,
        # The log row is written before the checkpoint: a kill between
        # the two re-runs that epoch (logged twice, `read_log` keeps the
        # later row) instead of leaving it out of the log.
        callbacks=[*first, logger, backup, *callbacks],
    )


def command_line(argv=None):
    """The command line of the current process, for metadata.

    A shell command that runs when pasted: `python -m zoo ARGS` for the
    CLI (however it was started), `python SCRIPT ARGS` for a script.

    Args:
        argv: list of str or `None` for `sys.argv`.

    Returns:
        str, quoted with `shlex.join`.

    Example:

    ```python
    zoo.training.command_line(["scripts/train_unem.py", "--seed", "1"])
    # 'python scripts/train_unem.py --seed 1'
    ```
    """
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return "python"
    head = os.path.basename(argv[0])
    if head == "__main__.py" or head in ("hyperzoo", "zoo"):
        return shlex.join(["python", "-m", "zoo"] + argv[1:])
    return shlex.join(["python"] + argv)


def _write_json_atomic(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _prepare_out_dir(out_dir):
    """Creates the run directory or explains why it cannot be used."""
    if not isinstance(out_dir, (str, os.PathLike)) or not os.fspath(out_dir):
        raise ValueError(
            "`out_dir` (--out) must be a directory path. "
            f"Received: {out_dir!r}"
        )
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(
            f"`out_dir` (--out) {out_dir!r} exists and is not a directory: "
            "give a new or existing run directory."
        )
    try:
        os.makedirs(out_dir, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(prefix=".write-test-",
                                            dir=out_dir)
        probe.close()
    except OSError as e:
        raise ValueError(
            f"`out_dir` (--out) {out_dir!r} cannot be used as a run "
            f"directory: {e.strerror or e}."
        ) from None
    return out_dir


def checkpoint_epoch(out_dir):
    """Epochs finished by the checkpoint of a run directory, or `None`.

    Args:
        out_dir: str. Run directory of `fit_resumable` / `train`.

    Returns:
        int or `None` when no checkpoint exists.

    Example:

    ```python
    zoo.training.checkpoint_epoch("runs/digits")  # e.g. 7
    ```
    """
    found = []
    for root, dirs, files in os.walk(out_dir):
        if "state.json" in files and os.path.basename(root) in (
                "latest", "previous"):
            try:
                with open(os.path.join(root, "state.json")) as f:
                    found.append(int(json.load(f)["epoch"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return max(found) if found else None


# run.json files written before training options existed.
_DEFAULT_RESUME = {"options": {k: TrainOptions().get_config()[k]
                               for k in TrainOptions.RESUME_KEYS}}


def _check_resume(out_dir, run):
    """Refuses to resume a run directory trained with other arguments."""
    run = dict(_DEFAULT_RESUME, **run)
    path = os.path.join(out_dir, RUN_FILE)
    done = checkpoint_epoch(out_dir)
    previous = None
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                previous = json.load(f)
        except (OSError, ValueError):
            previous = None
    if done is not None:
        if previous is None:
            warnings.warn(
                f"Run directory {out_dir!r} holds a checkpoint ({done} "
                f"epochs) without a readable {RUN_FILE}: its family, "
                "precision and seed cannot be checked; resuming it.",
                UserWarning, stacklevel=3,
            )
        else:
            diff = [
                f"{key} {previous.get(key)!r} (asked: {run[key]!r})"
                for key in ("family", "precision", "seed", "options")
                if previous.get(key, _DEFAULT_RESUME.get(key)) != run[key]
            ]
            if diff:
                raise ValueError(
                    f"Run directory {out_dir!r} holds a checkpoint of another "
                    f"run: {'; '.join(diff)}. Rerun with the same "
                    "arguments to resume it, or use a new --out (or delete "
                    "the directory) to start over."
                )
        if run["epochs"] is not None and done > run["epochs"]:
            raise ValueError(
                f"Run directory {out_dir!r} holds a checkpoint that has "
                f"already trained {done} epochs, more than the {run['epochs']} "
                "asked (--epochs). Ask for at least that many epochs to "
                "resume it, or use a new --out to start over."
            )
    _write_json_atomic(path, {k: run[k] for k in (
        "family", "precision", "seed", "backend", "options")})


def train(
    family,
    out_dir,
    epochs=None,
    precision="float32",
    seed=0,
    verbose=1,
    preset_name=None,
    overwrite=False,
    training_command=None,
    preset_dir=None,
    options=None,
):
    """Trains a family's recipe and writes its preset atomically.

    The run directory `out_dir` holds the CSV log and checkpoints; the
    preset is written to `out_dir/preset` (or `out_dir/<preset_name>`),
    first into a temporary directory, then renamed.

    Args:
        family: str. A name from `list_recipes()`.
        out_dir: str. Run directory.
        epochs: int or `None` for the recipe's default.
        precision: str. `"float32"`, `"mixed_bfloat16"` or
            `"mixed_float16"`.
        seed: int. Random seed.
        verbose: int. Keras verbosity (1 = progress bars).
        preset_name: str or `None`. Name of the preset directory.
        overwrite: bool. Replace an existing preset directory.
        training_command: str or `None`. Command recorded in the
            metadata (defaults to this process's command line).
        preset_dir: str or `None`. Explicit preset directory (overrides
            `preset_name`).
        options: `TrainOptions` or `None`: schedule, batch size,
            learning-rate scaling, energy logging.

    Returns:
        `(preset_dir, metrics)`.

    Raises:
        ValueError: unknown family or precision; `out_dir` that is a file
            or cannot be written; an existing preset without `overwrite`;
            a run directory whose checkpoint comes from another family,
            precision, seed or training options (recorded in
            `out_dir/run.json`), or has trained more epochs than
            `epochs`; options for a recipe that declares
            `train_options=False`.

    Example:

    ```python
    zoo.training.train("hyper_mlp_digits", "runs/digits", epochs=2)
    ```
    """
    spec = registry.get_preset_spec(family)
    if options is not None and not options.is_default and not getattr(
            spec, "train_options", True):
        raise ValueError(
            f"The {family!r} recipe does not train through "
            "zoo.training.fit_resumable and takes no training options "
            "(--schedule, --phi, --batch-size, --auto-scale-lr, "
            f"--energy). Received: {options!r}"
        )
    if precision == "dfp_int16" and not getattr(spec, "train_options",
                                                True):
        raise ValueError(
            f"The {family!r} recipe does not train through "
            "zoo.training.fit_resumable and cannot train with "
            "precision='dfp_int16'."
        )
    return run_recipe(family, spec.train, out_dir, epochs=epochs,
                      precision=precision, seed=seed, verbose=verbose,
                      preset_name=preset_name, overwrite=overwrite,
                      training_command=training_command,
                      preset_dir=preset_dir, options=options)


def run_recipe(name, recipe, out_dir, epochs=None, precision="float32",
               seed=0, verbose=1, preset_name=None, overwrite=False,
               training_command=None, preset_dir=None, options=None):
    """Runs a recipe callable and writes its preset atomically (`train`).

    `train` looks the recipe up by name; this runs any callable with the
    recipe contract of `zoo.family.PresetSpec` (`train`), e.g. the one
    `python -m zoo prune` builds, with the same run-directory checks,
    resumption, precision scope and metadata.

    Args:
        name: str. Recorded as the run's family in `run.json` and as
            `"recipe"` in the preset metadata (unless the recipe's
            metadata sets `"recipe"` itself).
        recipe: callable `(epochs, out_dir, seed, verbose) -> (model,
            test_metrics, metadata)`.
        out_dir, epochs, precision, seed, verbose, preset_name,
            overwrite, training_command, preset_dir, options: as in
            `train`.

    Returns:
        `(preset_dir, metrics)`.

    Example:

    ```python
    zoo.training.run_recipe("my_run", my_recipe, "runs/mine", epochs=2)
    ```
    """
    from zoo.preset_utils import save_preset

    check_precision(precision)
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(
            epochs, int) or epochs <= 0):
        raise ValueError(
            f"`epochs` must be a positive integer. Received: epochs={epochs!r}"
        )
    out_dir = _prepare_out_dir(out_dir)
    if preset_dir is None:
        preset_dir = os.path.join(out_dir, preset_name or "preset")
    if os.path.exists(preset_dir) and not overwrite:
        # Checked before training, not after it.
        raise ValueError(
            f"Preset directory {preset_dir!r} already exists; pass "
            "overwrite=True (--overwrite) to replace it, or another "
            "--preset-name."
        )
    if options is not None and not isinstance(options, TrainOptions):
        raise ValueError("`options` must be a zoo.training.TrainOptions or "
                         f"None. Received: {options!r}")
    options = options or TrainOptions()
    resume_options = {k: options.get_config()[k]
                      for k in TrainOptions.RESUME_KEYS}
    _check_resume(out_dir, {"family": name, "precision": precision,
                            "seed": seed, "epochs": epochs,
                            "backend": keras.backend.backend(),
                            "options": resume_options})
    keras.utils.set_random_seed(seed)
    with precision_scope(precision), training_options(options) as run:
        model, metrics, metadata = recipe(
            epochs=epochs, out_dir=out_dir, seed=seed, verbose=verbose
        )
    if not run.applied and (not options.is_default
                            or precision == "dfp_int16"):
        raise ValueError(
            f"The recipe {name!r} did not train through "
            "zoo.training.fit_resumable, so the training options "
            f"{options!r} / precision {precision!r} were not applied; "
            "no preset was written."
        )
    if precision == "dfp_int16":
        from zoo.dfp_training import disable_dfp

        # The preset holds the float32 master weights and the float
        # layers; the metrics above were measured with DFP on.
        disable_dfp(model)
    metadata = dict(metadata)
    metadata.setdefault("recipe", name)
    metadata.update(
        {
            "metrics": metrics,
            "backend": keras.backend.backend(),
            "precision": precision,
            "seed": seed,
            "training_command": training_command or command_line(),
        }
    )
    if not options.is_default:
        metadata["training_options"] = dict(options.get_config(),
                                            applied=run.applied)
    save_preset(model, preset_dir, metadata, overwrite=overwrite)
    return preset_dir, metrics
