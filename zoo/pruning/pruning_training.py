"""Training recipes of the pruning presets (Global MP + MT, fine-tuned).

A recipe loads the dense preset, prunes it (one-shot, or gradually along
a cubic `PolynomialDecay`) with a `PruningOptimizer` and Gupta et al.'s
minimum threshold while fine-tuning, strips the pruning wrapper,
re-estimates the moving statistics of the pruned network and evaluates
it.
"""

import math

import keras
import numpy as np

from layers.hyperzzw._common import _MOMENTUM
from zoo.preset_utils import load
from zoo.preset_utils import read_metadata
from zoo.pruning.pruning_optimizer import PruningOptimizer
from zoo.pruning.pruning_presets import preset_config
from zoo.pruning.pruning_schedules import PolynomialDecay
from zoo.pruning.pruning_utils import prune_once
from zoo.pruning.pruning_utils import sparsity_report
from zoo.pruning.pruning_utils import strip_pruning
from zoo.terminator.terminator_eval import evaluate_split
from zoo.terminator.terminator_presets import load_data
from zoo.terminator.terminator_presets import make_optimizer
from zoo.terminator.terminator_presets import preset_config as base_config
from zoo.training import fit_resumable


def _moving_statistics(model):
    """`(variable, momentum)` of every moving average of `model`."""
    found = []
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            found += [(layer.moving_mean, layer.momentum),
                      (layer.moving_variance, layer.momentum)]
        # The Terminator's local kernels average their context too.
        context = getattr(layer, "moving_context", None)
        if isinstance(context, keras.Variable):
            found.append((context, _MOMENTUM))
    return found


def recalibrate_statistics(model, x, batch_size=256):
    """Re-estimates the moving statistics from training-mode passes.

    Pruning changes the activations, and moving averages with momentum
    0.99 lag behind every mask update. This sets each moving average
    (batch normalisation's mean and variance, the Terminator local
    kernels' context) to the mean over `x` of its per-batch target,
    from forward passes with `training=True` and no weight update. Each
    target is read exactly by zeroing the average before the pass (the
    update then leaves `(1 - momentum) * target`).

    Args:
        model: a `keras.Model`.
        x: numpy inputs (the training split).
        batch_size: int. Batch size of the passes (the statistics are
            averaged over the batches, weighted by their sizes).

    Returns:
        The number of moving-average variables set.

    Example:

    ```python
    recalibrate_statistics(model, x_train)
    ```
    """
    stats = _moving_statistics(model)
    sums = [np.zeros(v.shape, "float64") for v, _ in stats]
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        for v, _ in stats:
            v.assign(np.zeros(v.shape, v.dtype))
        model(batch, training=True)
        for total, (v, momentum) in zip(sums, stats):
            total += len(batch) * np.asarray(v, "float64") / (1 - momentum)
    for total, (v, _) in zip(sums, stats):
        v.assign((total / len(x)).astype(v.dtype))
    return len(stats)


def pruning_schedule(cfg, epochs, steps_per_epoch):
    """The preset's `PolynomialDecay` (one mask update per epoch), or `None`.

    With `cfg["end_epoch"] == 0` the preset is pruned one-shot (Gupta
    et al.'s protocol: prune the trained network once, then fine-tune
    with fixed masks) and there is no schedule. Otherwise the ramp ends
    after `cfg["end_epoch"]` of `cfg["epochs"]` epochs (scaled to
    `epochs`, at least one), on a pruning step, so that the final
    sparsity is reached exactly.

    Args:
        cfg: dict. An entry of `pruning_presets.PRESETS`.
        epochs: int. Fine-tuning epochs.
        steps_per_epoch: int. Optimizer steps per epoch.

    Returns:
        A `zoo.pruning.PolynomialDecay`, or `None` (one-shot).

    Example:

    ```python
    pruning_schedule(dict(preset_config("terminator_2d_digits_globalmp90"),
                          end_epoch=18), 30, 20).end_step  # 360
    ```
    """
    if cfg["end_epoch"] == 0:
        return None
    end_epoch = min(epochs, max(1, round(
        cfg["end_epoch"] * epochs / cfg["epochs"])))
    return PolynomialDecay(cfg["initial_sparsity"], cfg["sparsity"], 0,
                           end_epoch * steps_per_epoch, power=cfg["power"],
                           frequency=steps_per_epoch)


def prune_and_finetune(model, x, y, cfg, epochs, out_dir, verbose=2,
                       jit_compile="auto"):
    """Global MP + MT and fine-tuning; returns the pruned model.

    Compiles `model` (its own `compile`, e.g. the Terminator's loss) with
    a `PruningOptimizer` around the preset's warm-up + cosine optimizer,
    prunes it once (one-shot presets, `end_epoch=0`: masks fixed from
    then on) or along the preset's `PolynomialDecay`, fits with
    checkpoints (`zoo.training.fit_resumable`: a killed run resumes,
    masks included), strips the wrapper and recalibrates the
    moving statistics on `x`.

    Args:
        model: a Terminator classifier (any model whose `compile` takes
            `optimizer=` alone).
        x: training inputs.
        y: training labels.
        cfg: dict. An entry of `pruning_presets.PRESETS`.
        epochs: int. Fine-tuning epochs.
        out_dir: str. Run directory (log.csv, checkpoints).
        verbose: int. Keras verbosity.
        jit_compile: passed to `compile` (`False` skips the XLA
            compilation, for tiny models).

    Returns:
        `(model, schedule)`: the stripped model (plain optimizer, zeros
        in the kernels) and the `PolynomialDecay` used (`None` for a
        one-shot preset).

    Example:

    ```python
    cfg = preset_config("terminator_2d_digits_globalmp90")
    model, _ = prune_and_finetune(zoo.load(cfg["base_preset"]), x, y,
                                  cfg, 30, "runs/p")
    ```
    """
    steps_per_epoch = math.ceil(len(y) / cfg["batch_size"])
    schedule = pruning_schedule(cfg, epochs, steps_per_epoch)
    inner = make_optimizer(cfg["optimizer"], cfg["learning_rate"],
                           epochs * steps_per_epoch)
    model.compile(optimizer=PruningOptimizer(
        inner, schedule, scope=cfg["scope"],
        min_weights=cfg["min_weights"], exclude=cfg["exclude"]),
        jit_compile=jit_compile)
    if schedule is None:
        # One-shot. A resumed run restores its masks from the checkpoint.
        prune_once(model, cfg["sparsity"], cfg["scope"], cfg["min_weights"])
        recalibrate_statistics(model, x)
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=cfg["batch_size"], verbose=verbose)
    model = strip_pruning(model)
    recalibrate_statistics(model, x)
    return model, schedule


def _metadata(name, cfg, epochs, schedule, report):
    return {
        "description": (
            f"{cfg['base_preset']} with {cfg['sparsity']:.0%} of its "
            "prunable weights zero ("
            + ("one-shot" if schedule is None else "gradual")
            + " Global MP with a minimum threshold, fine-tuned)"
        ),
        "base_preset": cfg["base_preset"],
        "dataset": base_config(cfg["base_preset"])["dataset"],
        "split": read_metadata(cfg["base_preset"]).get("split"),
        "input_spec": read_metadata(cfg["base_preset"]).get("input_spec"),
        "method": (
            f"Global MP + MT (Gupta et al., 2022): scope "
            f"{cfg['scope']}, min_weights {cfg['min_weights']}, exclude "
            f"{cfg['exclude']!r}; moving statistics recalibrated on the "
            "train split after pruning"
        ),
        "schedule": (
            dict(type="one-shot", sparsity=cfg["sparsity"])
            if schedule is None
            else dict(type="PolynomialDecay", **schedule.get_config())),
        "epochs": epochs,
        "batch_size": cfg["batch_size"],
        "optimizer": (f"PruningOptimizer({cfg['optimizer']}, peak "
                      f"{cfg['learning_rate']}, 8% linear warm-up, cosine)"),
        "sparsity_report": report,
        "references": [
            "Gupta et al., 2022. Is Complexity Required for Neural "
            "Network Pruning? A Case Study on Global Magnitude Pruning. "
            "arXiv:2209.14624",
            "Zhu & Gupta, 2017. To prune, or not to prune. "
            "arXiv:1710.01878",
        ],
        "preset": name,
    }


def evaluate_pruned(model, dataset, shuffled=False, split="test",
                    exclude=None):
    """Test metrics of a pruned Terminator, sparsity measured now.

    Args:
        model: a classifier on the dataset's inputs.
        dataset: str. `"mnist1d"` or `"digits"`.
        shuffled: bool. Shuffled MNIST-1D.
        split: str. Data split.
        exclude: str regex or `None`, as in `sparsity_report`.

    Returns:
        `(metrics, report)`: the dict of
        `terminator_eval.evaluate_split` plus `sparsity`,
        `prunable_parameters` and `zero_parameters`, and the
        `zoo.pruning.sparsity_report`.

    Example:

    ```python
    metrics, _ = evaluate_pruned(model, "digits")
    ```
    """
    report = sparsity_report(model, exclude=exclude)
    metrics = evaluate_split(model, dataset, shuffled, split)
    metrics.update({key: report[key] for key in (
        "sparsity", "prunable_parameters", "zero_parameters")})
    return metrics, report


def train_pruned_terminator(name, epochs=None, out_dir=None, seed=0,
                            verbose=2):
    """Prunes a Terminator preset per `PRESETS[name]`; evaluates on test.

    Args:
        name: str. A key of `pruning_presets.PRESETS`.
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned. `test_metrics` adds `sparsity` (measured from the
            weights), `prunable_parameters` and `zero_parameters`.

    Example:

    ```python
    model, metrics, metadata = train_pruned_terminator(
        "terminator_2d_digits_globalmp90", out_dir="runs/p")
    ```
    """
    cfg = preset_config(name)
    epochs = cfg["epochs"] if epochs is None else epochs
    out_dir = out_dir or f"runs/{name}"
    keras.utils.set_random_seed(seed)
    base = base_config(cfg["base_preset"])
    data = (base["dataset"], base["shuffled"])
    x, y = load_data(data[0], "trainval", data[1])
    model, schedule = prune_and_finetune(
        load(cfg["base_preset"]), x, y, cfg, epochs, out_dir, verbose)
    metrics, report = evaluate_pruned(model, *data, exclude=cfg["exclude"])
    return model, metrics, _metadata(name, cfg, epochs, schedule, report)


def train_terminator_globalmp90(
        epochs=None, out_dir="runs/terminator_2d_digits_globalmp90",
        seed=0, verbose=2):
    """Recipe of `terminator_2d_digits_globalmp90` (90 % sparse).

    See `train_pruned_terminator` and the preset's entry in
    `pruning_presets.PRESETS`.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; see `train_pruned_terminator`.

    Example:

    ```python
    model, metrics, metadata = train_terminator_globalmp90(epochs=1)
    ```
    """
    return train_pruned_terminator("terminator_2d_digits_globalmp90",
                                   epochs, out_dir, seed, verbose)


def evaluate_terminator_globalmp90(model, split="test"):
    """Evaluator of `terminator_2d_digits_globalmp90` (`zoo eval`).

    Args:
        model: the pruned Terminator.
        split: str. Digits split.

    Returns:
        dict: the metrics of `evaluate_pruned` (batch-1 and batch-100
        accuracy, loss, parameters, and `sparsity` measured from the
        weights now, with the zero and prunable counts).

    Example:

    ```python
    evaluate_terminator_globalmp90(
        zoo.load("terminator_2d_digits_globalmp90"))["sparsity"]
    ```
    """
    cfg = preset_config("terminator_2d_digits_globalmp90")
    return evaluate_pruned(model, "digits", split=split,
                           exclude=cfg["exclude"])[0]
