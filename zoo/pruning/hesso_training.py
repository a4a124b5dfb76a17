"""Recipe and evaluator of the `digits_cnn_hesso` preset (HESSO).

The bundled dense `cafa_digits_encoder` (a `zoo.DigitsCNNClassifier`,
conv 32 - pool - conv 64 - GAP - dense 10, trained on the digits train
split) is fine-tuned with `zoo.pruning.hesso.HESSOOptimizer` over
Adam, which drives whole conv channels (with their BatchNormalization
slices and the consumer's input slice) to exactly zero;
`zoo.pruning.subnet.build_subnet` then rebuilds a physically smaller
`DigitsCNNClassifier` with the surviving filters.
"""

import time

import keras
import numpy as np

from zoo.data import load_digits
from zoo.pruning.hesso import HESSOOptimizer
from zoo.pruning.hesso import digits_cnn_groups
from zoo.pruning.hesso import zero_groups
from zoo.pruning.subnet import build_subnet
from zoo.training import fit_resumable

DENSE_PRESET = "cafa_digits_encoder"
DENSE_FILTERS = (32, 64)
HESSO_EPOCHS = 40
HESSO_BATCH_SIZE = 64
HESSO_LEARNING_RATE = 1e-3
HESSO_TARGET_GROUP_SPARSITY = 0.5
HESSO_PRUNING_PERIODS = 5


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


def batch1_latency_ratio(reference, model, x, repeats=15, calls=20):
    """Median batch-1 `predict_on_batch` latency of `reference` / `model`.

    Both models first predict `x` once (compiling their predict
    functions). Then, `repeats` times, each model runs `calls`
    consecutive `predict_on_batch(x)`; the two models are interleaved
    and their order alternates every repeat, so that load on the
    machine hits both alike. The per-call mean of each repeat is kept
    and the ratio of the two medians returned.

    Args:
        reference: the model to compare against (e.g. the dense one).
        model: the model timed.
        x: one input batch (batch size 1 for batch-1 latency).
        repeats: int. Interleaved timing rounds.
        calls: int. Calls per model per round.

    Returns:
        float. Above 1 when `model` is faster than `reference`.

    Example:

    ```python
    batch1_latency_ratio(dense, compact, x_test[:1])
    ```
    """
    models = (reference, model)
    times = ([], [])
    for m in models:
        m.predict_on_batch(x)
    for r in range(repeats):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            for _ in range(calls):
                models[i].predict_on_batch(x)
            times[i].append((time.perf_counter() - start) / calls)
    return float(np.median(times[0]) / np.median(times[1]))


def evaluate_digits_cnn_hesso(model, split="test",
                              dense_filters=DENSE_FILTERS, repeats=15,
                              calls=20):
    """Evaluator of the `digits_cnn_hesso` preset (`python -m zoo eval`).

    Timing: the dense reference is `model`'s architecture rebuilt at
    `dense_filters` (fresh weights: the latency does not depend on the
    values); `speedup_cpu` is `batch1_latency_ratio(dense, model,
    x[:1])`, i.e. the median per-call latency of Keras'
    `predict_on_batch` on one image, dense over compact, measured in
    this process with interleaved repeats, on the current backend and
    device (CPU for the reported figure).

    Args:
        model: the compact `zoo.DigitsCNNClassifier`.
        split: str. Digits split.
        dense_filters: tuple of int. Filters of the dense network.
        repeats: int. Timing rounds (see `batch1_latency_ratio`).
        calls: int. Calls per model per round.

    Returns:
        dict: `accuracy`, `parameters` (of `model`), `dense_parameters`,
        `filters` (of `model`), `macs` and `dense_macs`
        (`digits_cnn_macs`), `speedup_cpu`.

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
    }


def train_digits_cnn_hesso(epochs=None, out_dir="runs/digits_cnn_hesso",
                           seed=0, verbose=2):
    """Recipe of the `digits_cnn_hesso` preset: HESSO, then the subnet.

    Starts from the bundled dense `cafa_digits_encoder` (so the dense
    reference is the shipped, measured model and pruning costs only a
    fine-tune); fine-tunes it on the digits train split with
    `HESSOOptimizer(Adam(1e-3))`, batch 64, target group sparsity 0.5
    over the 96 conv channels, pruning window `hesso_schedule`; then
    `build_subnet` removes the zero channels. The compact model is
    compiled with the classifier defaults.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs=None` means 40 and `seed` seeds the data
            order.

    Example:

    ```python
    zoo.training.train("digits_cnn_hesso", "runs/hesso")
    ```
    """
    import zoo

    epochs = HESSO_EPOCHS if epochs is None else epochs
    keras.utils.set_random_seed(seed)
    x, y = load_digits("train", layout="image")
    xv, yv = load_digits("val", layout="image")
    xt, yt = load_digits("test", layout="image")
    model = zoo.load(DENSE_PRESET)
    dense_filters = [int(f) for f in model.backbone.filters]
    dense_accuracy = _accuracy(model, xt, yt)
    groups = hesso_finetune(model, x, y, epochs, out_dir,
                            validation_data=(xv, yv), verbose=verbose)
    masked_accuracy = _accuracy(model, xt, yt)
    small = build_subnet(model, groups)
    small.compile()
    metrics = evaluate_digits_cnn_hesso(small, "test", dense_filters)
    schedule = hesso_schedule(epochs, -(-len(x) // HESSO_BATCH_SIZE))
    metadata = {
        "description": (
            "Digits CNN pruned with HESSO: the dense cafa_digits_encoder "
            f"(filters {tuple(dense_filters)}) fine-tuned with "
            "structured group sparsity, then rebuilt without its zero "
            f"channels (filters {tuple(small.backbone.filters)})."
        ),
        "dataset": "digits",
        "split": {"train": "train (1077)", "validation": "val (180)",
                  "test": "test (540)"},
        "dense_preset": DENSE_PRESET,
        "dense_filters": dense_filters,
        "dense_parameters": int(model.count_params()),
        "dense_accuracy": dense_accuracy,
        "masked_accuracy": masked_accuracy,
        "filters": [int(f) for f in small.backbone.filters],
        "pruned_groups": [int(z.sum()) for z in zero_groups(groups)],
        "epochs": epochs,
        "batch_size": HESSO_BATCH_SIZE,
        "optimizer": f"HESSOOptimizer(Adam({HESSO_LEARNING_RATE}))",
        "target_group_sparsity": HESSO_TARGET_GROUP_SPARSITY,
        **schedule,
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
