"""Recipe and evaluator of the `digits_cnn_hesso` preset (HESSO).

The recipe trains a wide dense digits CNN (a `zoo.DigitsCNNClassifier`,
conv 128 - pool - conv 256 - GAP - dense 10) on the digits train split,
fine-tunes it with `zoo.pruning.hesso.HESSOOptimizer` over Adam, which
drives whole conv channels (with their BatchNormalization slices and
the consumer's input slice) to exactly zero, and
`zoo.pruning.subnet.build_subnet` then rebuilds a physically smaller
`DigitsCNNClassifier` with the surviving filters.

Why a wide dense network: on 8x8 inputs the batch-1 latency of a small
CNN is mostly fixed per-call cost, even for a jitted forward (see the
smallest networks of `scripts/results/results-pruning-hesso.csv`), so
pruning a small CNN cannot make it faster; a dense network whose compute
dominates that floor can be.
"""

import csv
import os
import time

import keras
import numpy as np

from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data import load_digits
from zoo.pruning.hesso import HESSOOptimizer
from zoo.pruning.hesso import digits_cnn_groups
from zoo.pruning.hesso import zero_groups
from zoo.pruning.subnet import build_subnet
from zoo.training import fit_resumable
from zoo.training import read_log

DENSE_FILTERS = (128, 256)
DENSE_EPOCHS = 30
DENSE_BATCH_SIZE = 64
DENSE_LEARNING_RATE = 1e-3
HESSO_EPOCHS = 40
HESSO_BATCH_SIZE = 64
HESSO_LEARNING_RATE = 1e-3
HESSO_TARGET_GROUP_SPARSITY = 0.75
HESSO_PRUNING_PERIODS = 5
LATENCY_MODES = ("compiled", "predict_on_batch")


def hesso_schedule(epochs, steps_per_epoch,
                   periods=HESSO_PRUNING_PERIODS):
    """The recipe's pruning window, in optimizer updates.

    Pruning starts after the first tenth of the epochs and ends at half
    of them (OTO's rule of thumb, shifted later so that the second half
    fine-tunes the pruned network), in `periods` periods (fewer when
    the window has fewer updates).

    Args:
        epochs: int. Total fine-tuning epochs.
        steps_per_epoch: int. Updates per epoch.
        periods: int. Pruning periods.

    Returns:
        dict with `start_pruning_step`, `pruning_steps` and
        `pruning_periods` (the `HESSOOptimizer` arguments).

    Example:

    ```python
    hesso_schedule(40, 17)
    # {'start_pruning_step': 68, 'pruning_steps': 272,
    #  'pruning_periods': 5}
    ```
    """
    start = (epochs // 10) * steps_per_epoch
    steps = max(1, (epochs // 2) * steps_per_epoch - start)
    return {"start_pruning_step": start, "pruning_steps": steps,
            "pruning_periods": max(1, min(periods, steps))}


def hesso_finetune(model, x, y, epochs, out_dir,
                   target_group_sparsity=HESSO_TARGET_GROUP_SPARSITY,
                   batch_size=HESSO_BATCH_SIZE,
                   learning_rate=HESSO_LEARNING_RATE,
                   validation_data=None, verbose=0):
    """Compiles `model` with HESSO over Adam and fine-tunes it in place.

    The pruning window is `hesso_schedule(epochs, ceil(len(x) /
    batch_size))`; training is resumable (`zoo.training.fit_resumable`
    in `out_dir`).

    Args:
        model: a `zoo.DigitsCNNClassifier`.
        x: float32 images `(N, H, W, C)`.
        y: int labels `(N,)`.
        epochs: int. Fine-tuning epochs.
        out_dir: str. Run directory (log.csv, checkpoints).
        target_group_sparsity: float. Fraction of the conv channels
            (over all blocks) to remove.
        batch_size: int.
        learning_rate: float. Adam's learning rate.
        validation_data: optional `(x_val, y_val)`, logged.
        verbose: int. Keras verbosity.

    Returns:
        The group kinds (`digits_cnn_groups(model)`), whose zero
        groups `build_subnet` removes.

    Example:

    ```python
    groups = hesso_finetune(model, x, y, epochs=40, out_dir="runs/h")
    small = build_subnet(model, groups)
    ```
    """
    groups = digits_cnn_groups(model)
    steps_per_epoch = -(-len(x) // batch_size)
    optimizer = HESSOOptimizer(
        keras.optimizers.Adam(learning_rate), groups,
        target_group_sparsity=target_group_sparsity,
        **hesso_schedule(epochs, steps_per_epoch))
    model.compile(optimizer=optimizer)
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=batch_size, validation_data=validation_data,
                  verbose=verbose)
    return groups


def _accuracy(model, x, y):
    logits = model.predict(x, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _with_filters(model, filters, seed=0):
    """`model`'s architecture rebuilt with other `filters` (fresh).

    The input value-range checks of `model` (set by `zoo.load`) are
    copied, so both models do the same work per call.
    """
    backbone = model.backbone
    config = backbone.get_config()
    config.update(filters=list(filters), seed=seed)
    config = dict(model.get_config(), backbone=keras.saving.
                  serialize_keras_object(type(backbone).from_config(config)))
    other = type(model).from_config(config)
    other.set_input_value_ranges(model.input_value_ranges)
    return other


def build_dense_digits_cnn(filters=DENSE_FILTERS, seed=0):
    """The recipe's dense digits CNN, untrained and compiled.

    Args:
        filters: tuple of int. Filters of each conv block.
        seed: int. Seed of the kernel initialisers.

    Returns:
        A `zoo.DigitsCNNClassifier` (10 classes) compiled with
        `Adam(DENSE_LEARNING_RATE)` and the classifier's default loss
        and accuracy metric.

    Example:

    ```python
    model = build_dense_digits_cnn((128, 256))
    model.count_params()  # 300170
    ```
    """
    model = DigitsCNNClassifier(
        DigitsCNNBackbone(filters=tuple(filters), seed=seed), 10)
    model.compile(optimizer=keras.optimizers.Adam(DENSE_LEARNING_RATE))
    return model


def train_dense_digits_cnn(out_dir, epochs=DENSE_EPOCHS,
                           filters=DENSE_FILTERS, seed=0,
                           batch_size=DENSE_BATCH_SIZE,
                           validation_data=None, verbose=0):
    """Trains the dense reference on the digits train split (resumable).

    `build_dense_digits_cnn(filters, seed)` trained with Adam for
    `epochs` epochs with `zoo.training.fit_resumable` in `out_dir`
    (the data order is seeded by `seed`); a finished run is restored
    from its checkpoint instead of trained again.

    Args:
        out_dir: str. Run directory (log.csv, checkpoints).
        epochs: int. Training epochs.
        filters: tuple of int. Filters of each conv block.
        seed: int. Seeds the initialisers and the data order.
        batch_size: int.
        validation_data: optional `(x_val, y_val)`, logged.
        verbose: int. Keras verbosity.

    Returns:
        The trained `zoo.DigitsCNNClassifier`.

    Example:

    ```python
    dense = train_dense_digits_cnn("runs/dense", epochs=30)
    ```
    """
    keras.utils.set_random_seed(seed)
    x, y = load_digits("train", layout="image")
    model = build_dense_digits_cnn(filters, seed)
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=batch_size, validation_data=validation_data,
                  verbose=verbose)
    return model


def digits_cnn_macs(model):
    """Multiply-accumulates of one forward pass of a digits CNN, per image.

    Counts the convolutions (output pixels x kernel size) and the dense
    head's kernel; BatchNormalization, pooling and biases are left out.

    Args:
        model: a `zoo.DigitsCNNClassifier`.

    Returns:
        int.

    Example:

    ```python
    digits_cnn_macs(zoo.load("cafa_digits_encoder"))  # 313984
    ```
    """
    macs = int(np.prod(model.output_dense.kernel.shape))
    for conv in model.backbone.convs:
        pixels = int(np.prod(conv.output.shape[1:-1]))
        macs += pixels * int(np.prod(conv.kernel.shape))
    return macs


def batch1_latencies(reference, model, x, repeats=15, calls=20,
                     mode="compiled"):
    """Median batch-1 latencies of `reference` and `model`, in seconds.

    With `mode="compiled"` each model runs
    `zoo._inference_shim.compiled_forward(m)(x)` (the backend's compiled
    inference: `jax.jit`, XLA `tf.function`, or eager PyTorch under
    `no_grad`); with `mode="predict_on_batch"`, Keras'
    `m.predict_on_batch(x)` (which adds a fixed Python cost per call:
    data adapter, callbacks, output conversion). Both models first run
    `x` once (compiling). Then, `repeats` times, each model runs
    `calls` consecutive calls; the two
    models are interleaved and their order alternates every repeat, so
    that load on the machine hits both alike. The per-call mean of each
    repeat is kept and the median over the repeats returned.

    Args:
        reference: the model to compare against (e.g. the dense one).
        model: the model timed.
        x: one input batch (batch size 1 for batch-1 latency).
        repeats: int. Interleaved timing rounds.
        calls: int. Calls per model per round.
        mode: str. One of `LATENCY_MODES`.

    Returns:
        `(reference_seconds, model_seconds)`, floats.

    Example:

    ```python
    dense_s, compact_s = batch1_latencies(dense, compact, x_test[:1])
    ```
    """
    if mode not in LATENCY_MODES:
        raise ValueError(f"`mode` must be one of {LATENCY_MODES}. "
                         f"Received: mode={mode!r}")
    if mode == "compiled":
        from zoo._inference_shim import compiled_forward

        runs = [compiled_forward(m) for m in (reference, model)]
    else:
        runs = [m.predict_on_batch for m in (reference, model)]
    times = ([], [])
    for run in runs:
        run(x)
    for r in range(repeats):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            for _ in range(calls):
                runs[i](x)
            times[i].append((time.perf_counter() - start) / calls)
    return float(np.median(times[0])), float(np.median(times[1]))


def batch1_latency_ratio(reference, model, x, repeats=15, calls=20,
                         mode="compiled"):
    """Batch-1 latency of `reference` over that of `model` (speed-up).

    The ratio of the two medians of `batch1_latencies` (interleaved
    repeats, measured in this process).

    Args:
        reference, model, x, repeats, calls, mode: as in
            `batch1_latencies` (`mode`: `"compiled"` by default).

    Returns:
        float. Above 1 when `model` is faster than `reference`.

    Example:

    ```python
    batch1_latency_ratio(dense, compact, x_test[:1])
    ```
    """
    dense, compact = batch1_latencies(reference, model, x, repeats, calls,
                                      mode)
    return dense / compact


def evaluate_digits_cnn_hesso(model, split="test",
                              dense_filters=DENSE_FILTERS, repeats=15,
                              calls=20):
    """Evaluator of the `digits_cnn_hesso` preset (`python -m zoo eval`).

    Timing: the dense reference is `model`'s architecture rebuilt at
    `dense_filters` (fresh weights: the latency does not depend on the
    values). `speedup_cpu` is `batch1_latency_ratio(dense, model,
    x[:1])` with the backend's compiled forward
    (`zoo._inference_shim.compiled_forward`), and
    `speedup_cpu_predict_on_batch` the same ratio through Keras'
    `predict_on_batch`: median per-call latency on one image, dense
    over compact, measured in this process with interleaved repeats,
    on the current backend and device (CPU for the reported figure).

    Args:
        model: the compact `zoo.DigitsCNNClassifier`.
        split: str. Digits split.
        dense_filters: tuple of int. Filters of the dense network.
        repeats: int. Timing rounds (see `batch1_latencies`).
        calls: int. Calls per model per round.

    Returns:
        dict: `accuracy`, `parameters` (of `model`), `dense_parameters`,
        `filters` (of `model`), `macs` and `dense_macs`
        (`digits_cnn_macs`), `speedup_cpu`,
        `speedup_cpu_predict_on_batch`.

    Example:

    ```python
    evaluate_digits_cnn_hesso(zoo.load("digits_cnn_hesso"))
    ```
    """
    x, y = load_digits(split, layout="image")
    dense = _with_filters(model, dense_filters)
    return {
        "accuracy": _accuracy(model, x, y),
        "parameters": int(model.count_params()),
        "dense_parameters": int(dense.count_params()),
        "filters": [int(f) for f in model.backbone.filters],
        "macs": digits_cnn_macs(model),
        "dense_macs": digits_cnn_macs(dense),
        "speedup_cpu": batch1_latency_ratio(dense, model, x[:1],
                                            repeats, calls),
        "speedup_cpu_predict_on_batch": batch1_latency_ratio(
            dense, model, x[:1], repeats, calls, "predict_on_batch"),
    }


def _merge_logs(out_dir, phases):
    """Writes `out_dir/log.csv`: the phases' logs, one epoch counter."""
    rows = []
    for phase in phases:
        for row in read_log(os.path.join(out_dir, phase, "log.csv")):
            rows.append({"phase": phase, "phase_epoch": row.pop("epoch"),
                         **row})
    fields = ["epoch", "phase", "phase_epoch"]
    for row in rows:
        fields += [k for k in row if k not in fields]
    with open(os.path.join(out_dir, "log.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for epoch, row in enumerate(rows):
            writer.writerow({"epoch": epoch, **row})


def train_digits_cnn_hesso(epochs=None, out_dir="runs/digits_cnn_hesso",
                           seed=0, verbose=2):
    """Recipe of the `digits_cnn_hesso` preset: dense, HESSO, subnet.

    Three phases, the first two resumable (`zoo.training.fit_resumable`
    in `out_dir/dense` and `out_dir/hesso`):
    1. the dense reference, `train_dense_digits_cnn`: conv filters
       `DENSE_FILTERS` (128, 256), Adam 1e-3, batch 64, 30 epochs on
       the digits train split;
    2. HESSO fine-tuning (`hesso_finetune`): `HESSOOptimizer(Adam(1e-3))`,
       batch 64, 40 epochs, target group sparsity 0.75 over the 384 conv
       channels, pruning window `hesso_schedule`;
    3. `build_subnet` removes the zero channels. The compact model is
       compiled with the classifier defaults.
    `out_dir/log.csv` holds both phases' logs (columns `phase`,
    `phase_epoch`). The dense network's test accuracy is recorded in
    the metadata (`dense_accuracy`, the `base_top1` of the results).

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs=None` means 30 dense and 40 HESSO
            epochs, an int sets both phases; `seed` seeds the
            initialisers and the data order.

    Example:

    ```python
    zoo.training.train("digits_cnn_hesso", "runs/hesso")
    ```
    """
    dense_epochs = DENSE_EPOCHS if epochs is None else epochs
    epochs = HESSO_EPOCHS if epochs is None else epochs
    x, y = load_digits("train", layout="image")
    xv, yv = load_digits("val", layout="image")
    xt, yt = load_digits("test", layout="image")
    model = train_dense_digits_cnn(
        os.path.join(out_dir, "dense"), dense_epochs, DENSE_FILTERS, seed,
        validation_data=(xv, yv), verbose=verbose)
    dense_parameters = int(model.count_params())
    dense_accuracy = _accuracy(model, xt, yt)
    keras.utils.set_random_seed(seed)
    groups = hesso_finetune(model, x, y, epochs,
                            os.path.join(out_dir, "hesso"),
                            validation_data=(xv, yv), verbose=verbose)
    _merge_logs(out_dir, ("dense", "hesso"))
    masked_accuracy = _accuracy(model, xt, yt)
    small = build_subnet(model, groups)
    small.compile()
    metrics = evaluate_digits_cnn_hesso(small, "test", DENSE_FILTERS)
    schedule = hesso_schedule(epochs, -(-len(x) // HESSO_BATCH_SIZE))
    filters = [int(f) for f in small.backbone.filters]
    metadata = {
        "description": (
            "Digits CNN pruned with HESSO: a dense digits CNN (filters "
            f"{DENSE_FILTERS}, {dense_parameters:,} parameters, trained "
            "by this recipe) fine-tuned with structured group sparsity, "
            "then rebuilt without its zero channels (filters "
            f"{tuple(filters)})."
        ),
        "dataset": "digits",
        "split": {"train": "train (1077)", "validation": "val (180)",
                  "test": "test (540)"},
        "dense_model": (f"DigitsCNNClassifier(filters={DENSE_FILTERS}), "
                        f"trained by this recipe: Adam("
                        f"{DENSE_LEARNING_RATE}), batch "
                        f"{DENSE_BATCH_SIZE}, {dense_epochs} epochs"),
        "dense_filters": list(DENSE_FILTERS),
        "dense_parameters": dense_parameters,
        "dense_accuracy": dense_accuracy,
        "dense_epochs": dense_epochs,
        "masked_accuracy": masked_accuracy,
        "filters": filters,
        "pruned_groups": [int(z.sum()) for z in zero_groups(groups)],
        "epochs": epochs,
        "batch_size": HESSO_BATCH_SIZE,
        "optimizer": f"HESSOOptimizer(Adam({HESSO_LEARNING_RATE}))",
        "target_group_sparsity": HESSO_TARGET_GROUP_SPARSITY,
        **schedule,
        "speedup_timing": (
            "speedup_cpu: median batch-1 latency of the dense network "
            "over the compact one, with the backend's compiled forward "
            "(jax.jit of stateless_call on JAX), interleaved in one "
            "process; speedup_cpu_predict_on_batch: the same through "
            "Keras predict_on_batch (with its fixed per-call cost)"),
        "label_names": [str(i) for i in range(10)],
        "input_spec": "float32 (batch, 8, 8, 1) digits in [0, 1]",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Chen et al., 2024. HESSO: Towards Automatic Efficient and "
            "User Friendly Any Neural Network Training and Pruning. "
            "arXiv:2409.09085",
        ],
    }
    return small, metrics, metadata
