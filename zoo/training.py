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
import os
import shlex
import shutil
import sys
import tempfile
import warnings

import keras

import zoo.registry as registry
from zoo.registry import list_recipes  # noqa: F401  (public here too)

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
RUN_FILE = "run.json"


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

    Args:
        precision: str. One of `PRECISIONS`.

    Example:

    ```python
    with zoo.training.precision_scope("mixed_bfloat16"):
        model = build()
    ```
    """
    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


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
        callbacks=[logger, backup, *callbacks],
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


def _check_resume(out_dir, run):
    """Refuses to resume a run directory trained with other arguments."""
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
                for key in ("family", "precision", "seed")
                if previous.get(key) != run[key]
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
    _write_json_atomic(path, {k: run[k] for k in ("family", "precision",
                                                  "seed", "backend")})


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

    Returns:
        `(preset_dir, metrics)`.

    Raises:
        ValueError: unknown family or precision; `out_dir` that is a file
            or cannot be written; an existing preset without `overwrite`;
            a run directory whose checkpoint comes from another family,
            precision or seed (recorded in `out_dir/run.json`), or has
            trained more epochs than `epochs`.

    Example:

    ```python
    zoo.training.train("hyper_mlp_digits", "runs/digits", epochs=2)
    ```
    """
    recipe = registry.get_preset_spec(family).train
    return run_recipe(family, recipe, out_dir, epochs=epochs,
                      precision=precision, seed=seed, verbose=verbose,
                      preset_name=preset_name, overwrite=overwrite,
                      training_command=training_command,
                      preset_dir=preset_dir)


def run_recipe(name, recipe, out_dir, epochs=None, precision="float32",
               seed=0, verbose=1, preset_name=None, overwrite=False,
               training_command=None, preset_dir=None):
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
            overwrite, training_command, preset_dir: as in `train`.

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
    _check_resume(out_dir, {"family": name, "precision": precision,
                            "seed": seed, "epochs": epochs,
                            "backend": keras.backend.backend()})
    keras.utils.set_random_seed(seed)
    with precision_scope(precision):
        model, metrics, metadata = recipe(
            epochs=epochs, out_dir=out_dir, seed=seed, verbose=verbose
        )
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
    save_preset(model, preset_dir, metadata, overwrite=overwrite)
    return preset_dir, metrics
