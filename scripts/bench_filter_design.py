"""Filter design ablation: kernel size x initialiser on two small CNNs.

Usage (about 8 minutes on 2 CPU threads, jax):

    KERAS_BACKEND=jax python scripts/bench_filter_design.py

The review of filter design (size and initialisation) asks how much
these two hyper-parameters matter; here they are crossed on two models,
kernel size {3, 5} x initialiser {He normal, Glorot uniform, orthogonal,
LSUV} x seeds {0, 1, 2}, every run with the same fixed budget (`--epochs`
15, Adam 1e-3, batch 64, train split):

- `digits_cnn` on the 8x8 digits (`load_digits(layout="image")`): the
  architecture of `zoo.DigitsCNNBackbone` + `DigitsCNNClassifier` (conv
  32 - BN - ReLU - max-pool - conv 64 - BN - ReLU - GAP - dense 10).
  Its config fixes the kernel size at 3 and the initialiser at He
  normal, so the script builds the same layers itself (for kernel size
  3 the parameter count is checked against the zoo model).
- `mnist1d_cnn` on MNIST-1D (`load_mnist1d`, signals of length 40):
  conv1d 32 - ReLU - conv1d 64 - ReLU (both stride 2, "same" padding,
  with bias) - GAP - dense 10, without BatchNorm, so the scale of the
  initialisation reaches the optimiser unchanged.

The initialiser is applied to every conv and dense kernel (biases start
at zero). LSUV (`lsuv`) is Mishkin & Matas's: orthogonal, then each layer
rescaled, first to last, until its output variance on a batch of 256
training samples is within 0.1 of 1. Recorded per run: the test accuracy
after the last epoch (`top1`), the best validation accuracy over the
epochs (`best_val_top1`, the `val` split), and, for early trainability,
the mean training loss of epoch 1 (`loss_epoch1`, as Keras logs it) and
the validation loss after epoch 1 (`val_loss_epoch1`). Every evaluation
uses BatchNorm statistics recomputed on the train split
(`zoo.pruning.recalibrate_batch_norm`, then restored): with momentum
0.99, after 15 epochs of 17 steps the moving averages still keep
0.99^255 = 8 % of their initial (0, 1), which dominates when the true
variance is small, i.e. after a small-scale initialiser (first conv,
kernel 3: weight variance 2/9 with He normal, 2/297 with Glorot
uniform). `top1_stale_bn` is the test accuracy with the moving
statistics as training left them, which shows that effect. All runs of
one model and kernel size share one compiled model whose weights and
Adam state are reset per run.

Rows are merged into `scripts/results/results-filter-design.csv` (keyed
by model, kernel size, initialiser, seed and backend), whose columns
follow timm's results CSV plus backend, precision and the command;
`scripts/results/filter-design.png` shows the mean +/- std over seeds.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import check_names  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import run_parts  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402

CSV = os.path.join(RESULTS, "results-filter-design.csv")
PNG = os.path.join(RESULTS, "filter-design.png")
FIELDS = ("model", "dataset", "split", "kernel_size", "initializer",
          "seed", "top1", "top1_err", "top1_stale_bn", "best_val_top1",
          "best_val_epoch", "loss_epoch1", "val_loss_epoch1",
          "lsuv_rounds", "param_count", "epochs", "batch_size",
          "learning_rate", "seconds", "backend", "precision", "cpu",
          "keras_version", "date", "command")
MODELS = {"digits_cnn": "digits", "mnist1d_cnn": "mnist1d"}
INITIALIZERS = ("he_normal", "glorot_uniform", "orthogonal", "lsuv")
KERNEL_SIZES = (3, 5)
PARTS = ("run", "plot")
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
LSUV_BATCH = 256


def _load(dataset, split):
    """`(x, y)` of a split, laid out for the model of `dataset`."""
    from zoo.data import load_digits
    from zoo.data import load_mnist1d

    if dataset == "digits":
        return load_digits(split, layout="image")
    x, y = load_mnist1d(split)
    return x[..., None], y


def _initializer(name, seed):
    """The Keras initialiser of a kernel (LSUV starts orthogonal)."""
    import keras

    return {"he_normal": keras.initializers.HeNormal,
            "glorot_uniform": keras.initializers.GlorotUniform,
            "orthogonal": keras.initializers.Orthogonal,
            "lsuv": keras.initializers.Orthogonal}[name](seed=seed)


def build_model(model, kernel_size, initializer, seed):
    """One of the two ablation CNNs, with logits as its output.

    Args:
        model: `"digits_cnn"` or `"mnist1d_cnn"` (see the module
            docstring).
        kernel_size: int, the size of every conv kernel.
        initializer: a name of `INITIALIZERS`; the kernel initialiser of
            every conv and dense layer (`"lsuv"`: orthogonal, to be
            rescaled with `lsuv`).
        seed: int; layer `i`'s initialiser gets seed `100 * seed + i`.

    Returns:
        An uncompiled `keras.Model`.
    """
    import keras

    layers = keras.layers

    def init(i):
        return _initializer(initializer, 100 * seed + i)

    if model == "digits_cnn":
        inputs = keras.Input((8, 8, 1), name="images")
        x = inputs
        for i, width in enumerate((32, 64)):
            x = layers.Conv2D(width, kernel_size, padding="same",
                              use_bias=False, kernel_initializer=init(i),
                              name=f"conv_{i}")(x)
            x = layers.BatchNormalization(name=f"bn_{i}")(x)
            x = layers.ReLU(name=f"relu_{i}")(x)
            if i == 0:
                x = layers.MaxPooling2D(2, name="max_pool_0")(x)
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    else:
        inputs = keras.Input((40, 1), name="signals")
        x = inputs
        for i, width in enumerate((32, 64)):
            x = layers.Conv1D(width, kernel_size, strides=2, padding="same",
                              kernel_initializer=init(i),
                              name=f"conv_{i}")(x)
            x = layers.ReLU(name=f"relu_{i}")(x)
        x = layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = layers.Dense(10, kernel_initializer=init(2), name="logits")(x)
    return keras.Model(inputs, outputs, name=model)


def lsuv(model, x, tol=0.1, max_rounds=10):
    """Layer-sequential unit-variance rescaling of the kernels, in place.

    Mishkin & Matas's LSUV, after the orthogonal initialisation: for each
    conv and dense layer, first to last, the output of the layer on the
    batch `x` (before any BatchNorm or activation; BatchNorm layers in
    training mode, their moving statistics restored afterwards) is
    computed and the kernel divided by the output's standard deviation,
    until `|var - 1| < tol` or `max_rounds` rescalings.

    Args:
        model: a functional `keras.Model` whose kernels are orthogonal.
        x: a batch of inputs (the paper uses a training mini-batch).
        tol: the tolerance on the output variance.
        max_rounds: the most rescalings per layer.

    Returns:
        The rescalings made per layer, a list of int.

    Reference:
    - [Mishkin and Matas, 2016](https://arxiv.org/abs/1511.06422),
      "All you need is a good init".
    """
    import keras
    from keras import ops

    saved = [v.numpy() for v in model.non_trainable_variables]
    rounds = []
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D,
                                  keras.layers.Dense)):
            continue
        probe = keras.Model(model.input, layer.output)
        for n in range(max_rounds + 1):
            var = float(ops.var(probe(x, training=True)))
            if abs(var - 1.0) < tol or n == max_rounds:
                break
            layer.kernel.assign(layer.kernel / ops.sqrt(var))
        rounds.append(n)
    for v, value in zip(model.non_trainable_variables, saved):
        v.assign(value)
    return rounds


def _check_digits_cnn():
    """The script's digits CNN has the zoo model's parameter count."""
    import zoo

    ours = build_model("digits_cnn", 3, "he_normal", 0).count_params()
    theirs = zoo.DigitsCNNClassifier(zoo.DigitsCNNBackbone(), 10)
    if ours != theirs.count_params():
        raise AssertionError(f"digits_cnn: {ours} parameters, the zoo "
                             f"model {theirs.count_params()}")


def _compiled(model_name, kernel_size, data):
    """A compiled model of the architecture, and its fresh optimizer state.

    Every configuration of one architecture is trained by this one model
    (its weights and optimizer state reset by `_train`), so that the
    backend compiles the train and test steps once, not once per run.
    One warm-up step builds the metrics: a first `fit` draws a batch to
    build them, which would shift the first run's shuffling.

    Args:
        model_name: a name of `MODELS`.
        kernel_size: int.
        data: the `(x, y)` of the train, val and test splits.
    """
    import keras

    model = build_model(model_name, kernel_size, "he_normal", 0)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    fresh = [v.numpy() for v in model.optimizer.variables]
    (x, y), val = data[0], data[1]
    model.fit(x[:BATCH_SIZE], y[:BATCH_SIZE], batch_size=BATCH_SIZE,
              validation_data=val, verbose=0)
    return model, fresh


def _train(compiled, model_name, kernel_size, initializer, seed, data,
           epochs):
    """Trains one configuration; returns its row without the run fields.

    Args:
        compiled: `_compiled(model_name, kernel_size, data)`.
        model_name, kernel_size, data: as for `_compiled`.
        initializer: a name of `INITIALIZERS`.
        seed: int, of the initialisers, LSUV's batch and the shuffling.
        epochs: int.
    """
    import keras
    import numpy as np

    model, fresh = compiled
    (x, y), (x_val, y_val), (x_test, y_test) = data
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    init = build_model(model_name, kernel_size, initializer, seed)
    rounds = []
    if initializer == "lsuv":
        batch = np.random.RandomState(seed).permutation(len(x))[:LSUV_BATCH]
        rounds = lsuv(init, x[batch])
    model.set_weights(init.get_weights())
    for variable, value in zip(model.optimizer.variables, fresh):
        variable.assign(value)
    losses, val = [], []
    for _ in range(epochs):
        losses += model.fit(x, y, batch_size=BATCH_SIZE,
                            verbose=0).history["loss"]
        val.append(_evaluate(model, x, x_val, y_val))
    stale = _accuracy(model, x_test, y_test)
    top1 = _evaluate(model, x, x_test, y_test)[1]
    best = int(np.argmax([acc for _, acc in val]))
    return {
        "model": model_name, "dataset": MODELS[model_name],
        "split": "test", "kernel_size": kernel_size,
        "initializer": initializer, "seed": seed,
        "top1": round(100 * top1, 2), "top1_err": round(100 * (1 - top1), 2),
        "top1_stale_bn": round(100 * stale, 2),
        "best_val_top1": round(100 * val[best][1], 2),
        "best_val_epoch": best + 1,
        "loss_epoch1": round(losses[0], 4),
        "val_loss_epoch1": round(val[0][0], 4),
        "lsuv_rounds": ";".join(map(str, rounds)),
        "param_count": model.count_params(), "epochs": epochs,
        "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE,
        "seconds": round(time.perf_counter() - start, 1),
    }


def _accuracy(model, x, y, loss=False):
    """The accuracy of `model`'s logits on `(x, y)` (and the mean loss)."""
    import keras
    import numpy as np

    logits = model.predict(x, batch_size=BATCH_SIZE, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=-1) == y))
    if not loss:
        return accuracy
    return float(np.mean(keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(
            y, logits, from_logits=True)))), accuracy


def _evaluate(model, x_train, x, y):
    """`(loss, accuracy)` on `(x, y)` with BatchNorm statistics of `x_train`.

    The moving statistics are recomputed on the train split
    (`zoo.pruning.recalibrate_batch_norm`) for the evaluation and then
    restored, so training goes on as if nothing happened.
    """
    from zoo.pruning import recalibrate_batch_norm

    saved = [v.numpy() for v in model.non_trainable_variables]
    recalibrate_batch_norm(model, x_train)
    result = _accuracy(model, x, y, loss=True)
    for v, value in zip(model.non_trainable_variables, saved):
        v.assign(value)
    return result


def _run(args):
    """Every model, kernel size, initialiser and seed; merges the rows."""
    import keras

    command = run_command(keras.backend.backend(), "bench_filter_design.py",
                          f"--epochs {args.epochs}")
    run = {"backend": keras.backend.backend(), "precision": "float32",
           "cpu": cpu_model(), "keras_version": keras.version(),
           "date": today(), "command": command}
    if "digits_cnn" in args.models:
        _check_digits_cnn()
    rows = []
    for name in args.models:
        data = [_load(MODELS[name], s) for s in ("train", "val", "test")]
        for size in args.kernel_sizes:
            compiled = _compiled(name, size, data)
            for initializer in args.initializers:
                for seed in args.seeds:
                    rows.append({**_train(compiled, name, size, initializer,
                                          seed, data, args.epochs), **run})
                    print({k: rows[-1][k] for k in FIELDS[3:13]},
                          flush=True)
    merge_csv_rows(
        CSV, FIELDS, rows,
        key=lambda r: (r["model"], str(r["kernel_size"]),
                       r["initializer"], str(r["seed"]), r["backend"]),
        sort_key=lambda r: (r["backend"], list(MODELS).index(r["model"]),
                            int(r["kernel_size"]),
                            INITIALIZERS.index(r["initializer"]),
                            int(r["seed"])))


def mean_std(values):
    """`(mean, sample standard deviation)` of floats (std 0 for one)."""
    import statistics

    values = [float(v) for v in values]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std


def _plot():
    """Bars of mean +/- std over seeds: test top-1 and epoch-1 loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    metrics = (("top1", "test accuracy (%)"),
               ("loss_epoch1", "train loss, epoch 1"))
    fig, axes = plt.subplots(len(metrics), len(models), squeeze=False,
                             figsize=(5.5 * len(models), 7))
    width = 0.38
    for col, model in enumerate(models):
        mine = [r for r in rows if r["model"] == model]
        sizes = sorted({int(r["kernel_size"]) for r in mine})
        for row, (metric, label) in enumerate(metrics):
            ax = axes[row][col]
            for j, size in enumerate(sizes):
                stats = [mean_std(r[metric] for r in mine
                                  if int(r["kernel_size"]) == size
                                  and r["initializer"] == init)
                         for init in INITIALIZERS]
                ax.bar([i + (j - (len(sizes) - 1) / 2) * width
                        for i in range(len(INITIALIZERS))],
                       [m for m, _ in stats], width,
                       yerr=[s for _, s in stats], capsize=3,
                       label=f"kernel {size}")
            ax.set_xticks(range(len(INITIALIZERS)))
            ax.set_xticklabels(INITIALIZERS)
            ax.set_ylabel(label)
            if metric == "top1":
                low = min(float(r["top1"]) for r in mine)
                ax.set_ylim(max(0, low - 10), 100)
                ax.set_title(f"{model} ({mine[0]['dataset']}), "
                             f"{mine[0]['epochs']} epochs, "
                             f"{len({r['seed'] for r in mine})} seeds")
            ax.legend(fontsize=8)
    write_plot(fig, PNG)


def main():
    """Runs the ablation and draws its plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = {"parts": PARTS, "models": MODELS, "initializers": INITIALIZERS}
    for option, default in (*names.items(), ("kernel_sizes", KERNEL_SIZES),
                            ("seeds", (0, 1, 2))):
        parser.add_argument("--" + option.replace("_", "-"), nargs="*",
                            default=list(default),
                            type=type(next(iter(default))))
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    check_names(parser, **{option: (getattr(args, option), known)
                           for option, known in names.items()})
    return run_parts(args.parts, [("run", lambda: _run(args)),
                                  ("plot", _plot)])


if __name__ == "__main__":
    sys.exit(main())
