"""LR-batch benchmark: the best learning rate as a function of batch size.

Usage (about 10 minutes on 2 CPU threads, jax):

    KERAS_BACKEND=jax python scripts/bench_lr_batch.py
        [--optimizers sgd adam] [--batches 16 32 ... 1024] [--seeds 0 1 2]
        [--epochs 5] [--fit-max-batch 128]

Granziol et al. (JMLR 2022) predict that the largest usable learning
rate grows linearly with the batch size for SGD and as its square root
for Adam, below a critical batch size. `zoo.training.scale_learning_rate`
implements the rules; this script measures them on the digits CNN
(`zoo.DigitsCNNClassifier`, Conv-BN-ReLU 32-64, 19,754 parameters):

1. For every optimizer (SGD with momentum 0.9; Adam) and batch size,
   models are trained for a fixed number of epochs (`--epochs`, so a
   larger batch takes fewer steps: the usual protocol) at a constant
   learning rate, on the digits train split (1077 images), for every
   seed of `--seeds`.
2. Every rate of a fixed grid of factor 2 is trained (`GRIDS`: SGD
   2^-10..2^2, Adam 2^-14..2^-2, 13 rates each).
3. The criterion is the training loss of the last epoch (the mean of
   its steps' cross-entropy in training mode, as `fit` logs it; mean
   over seeds) after a short budget
   (`--epochs` 5): the theory is about the largest rate that still
   optimises well, and after a long budget every rate in a wide band
   memorises the 1077 images (loss ~1e-3, differences of seed noise: a
   first run at 30 epochs showed it). The validation accuracy is
   recorded too. The best rate is refined with a parabola through the
   best grid point and its two neighbours in log2(rate).
4. The log-log slope of best rate against batch is fitted by least
   squares over the batches <= `--fit-max-batch` (the range below the
   critical batch, chosen before the run: 1/8 of the train split is
   134, `zoo.training.CRITICAL_BATCH_FRACTION`) and over all batches,
   and compared with 1 (SGD) and 1/2 (Adam).

Rows go to `scripts/results/results-lr-batch.csv` (one per optimizer,
batch, rate and seed; merged on rerun) and the fits to
`scripts/results/results-lr-batch-fit.csv`; `lr-batch.png` plots the
best rate against the batch with both fitted lines.
"""

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from _bench_common import RESULTS  # noqa: E402
from _bench_common import cpu_model  # noqa: E402
from _bench_common import merge_csv_rows  # noqa: E402
from _bench_common import read_csv_rows  # noqa: E402
from _bench_common import run_command  # noqa: E402
from _bench_common import save_figure_atomic  # noqa: E402
from _bench_common import today  # noqa: E402
from _bench_common import write_csv_atomic  # noqa: E402

RUNS_CSV = os.path.join(RESULTS, "results-lr-batch.csv")
FIT_CSV = os.path.join(RESULTS, "results-lr-batch-fit.csv")
FIGURE = os.path.join(RESULTS, "lr-batch.png")
RUN_FIELDS = ("model", "optimizer", "batch_size", "learning_rate", "seed",
              "epochs", "steps", "train_loss", "val_top1", "diverged",
              "param_count", "backend", "precision", "cpu", "date",
              "command")
FIT_FIELDS = ("model", "optimizer", "batch_range", "batches", "best_lrs",
              "slope", "slope_stderr", "rule", "rule_slope",
              "slope_minus_rule", "within_0.15", "epochs", "seeds",
              "criterion", "backend", "cpu", "date", "command")
# The learning-rate grids (factor 2): wide enough that every batch's
# best rate is inside (checked: the CSV shows the losses at both ends).
GRIDS = {"sgd": [2.0 ** k for k in range(-10, 3)],
         "adam": [2.0 ** k for k in range(-14, -1)]}
RULES = {"sgd": ("linear", 1.0), "adam": ("sqrt", 0.5)}
MODEL = "digits_cnn"
DIVERGED_LOSS = 1e3


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--optimizers", nargs="+", default=["sgd", "adam"],
                   choices=sorted(GRIDS))
    p.add_argument("--batches", nargs="+", type=int,
                   default=[16, 32, 64, 128, 256, 512, 1024])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--fit-max-batch", type=int, default=128)
    return p.parse_args()


_CACHE = {}


def _model(optimizer, batch, seed):
    """A compiled model per (optimizer, batch), built once and reset to
    seed's initial weights for every run (no retracing between runs:
    the learning rate is an optimizer variable)."""
    import keras

    import zoo

    if ("init", seed) not in _CACHE:
        keras.utils.set_random_seed(seed)
        fresh = zoo.DigitsCNNClassifier(zoo.DigitsCNNBackbone(seed=seed), 10)
        fresh(np.zeros((1, 8, 8, 1), "float32"))
        _CACHE[("init", seed)] = fresh.get_weights()
    key = (optimizer, batch)
    if key not in _CACHE:
        model = zoo.DigitsCNNClassifier(zoo.DigitsCNNBackbone(seed=0), 10)
        if optimizer == "sgd":
            opt = keras.optimizers.SGD(0.1, momentum=0.9)
        else:
            opt = keras.optimizers.Adam(1e-3)
        model.compile(
            optimizer=opt,
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy("accuracy")],
        )
        model(np.zeros((1, 8, 8, 1), "float32"))
        model.optimizer.build(model.trainable_variables)
        _CACHE[key] = model
    model = _CACHE[key]
    model.set_weights(_CACHE[("init", seed)])
    for v in model.optimizer.variables:
        v.assign(np.zeros(v.shape, v.dtype))
    return model


def _train(optimizer, batch, lr, seed, epochs, data):
    import keras

    (x, y), (xv, yv) = data
    model = _model(optimizer, batch, seed)
    model.optimizer.learning_rate = lr
    keras.utils.set_random_seed(seed)
    history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    # The last epoch's mean training loss (training mode): evaluation
    # mode would read BatchNorm's moving statistics, which lag behind
    # the weights after a few hundred steps at a high rate and made
    # the criterion noisy in a first trial.
    loss = float(history.history["loss"][-1])
    _, acc = model.evaluate(xv, yv, batch_size=256, verbose=0)
    diverged = not math.isfinite(loss) or loss > DIVERGED_LOSS
    return (DIVERGED_LOSS if diverged else float(loss)), float(acc), \
        diverged, model.count_params()


def _refine(lrs, losses):
    """Best log2 rate: parabola through the best grid point and its two
    neighbours (the grid is uniform in log2)."""
    k = int(np.argmin(losses))
    if k == 0 or k == len(lrs) - 1:
        return float(np.log2(lrs[k]))
    a, b, c = losses[k - 1], losses[k], losses[k + 1]
    denom = a - 2 * b + c
    shift = 0.0 if denom <= 0 else 0.5 * (a - c) / denom
    return float(np.log2(lrs[k]) + np.clip(shift, -0.5, 0.5))


def _search(optimizer, batch, args, data, rows, done, command):
    """Evaluates every rate of the optimizer's grid (every seed); returns
    the refined best rate."""
    import keras

    means = []
    for lr in GRIDS[optimizer]:
        key = float(f"{lr:.6g}")
        losses = []
        for seed in args.seeds:
            prev = done.get((optimizer, batch, key, seed))
            if prev is not None:
                losses.append(float(prev["train_loss"]))
                continue
            t0 = time.time()
            loss, acc, diverged, params = _train(optimizer, batch, key, seed,
                                                 args.epochs, data)
            steps = args.epochs * math.ceil(len(data[0][1]) / batch)
            print(f"{optimizer} batch {batch} lr {key:g} seed {seed}: loss "
                  f"{loss:.4f} val {acc:.4f} ({time.time() - t0:.1f} s)",
                  flush=True)
            row = dict(model=MODEL, optimizer=optimizer, batch_size=batch,
                       learning_rate=key, seed=seed, epochs=args.epochs,
                       steps=steps, train_loss=f"{loss:.6f}",
                       val_top1=f"{100 * acc:.2f}", diverged=int(diverged),
                       param_count=params, backend=keras.backend.backend(),
                       precision="float32", cpu=cpu_model(), date=today(),
                       command=command)
            rows.append(row)
            done[(optimizer, batch, key, seed)] = row
            losses.append(loss)
        means.append(float(np.mean(losses)))
    return 2.0 ** _refine(np.asarray(GRIDS[optimizer]), np.asarray(means))


def _fit(batches, best):
    xs = np.log2(np.asarray(batches, "float64"))
    ys = np.log2(np.asarray(best, "float64"))
    slope, intercept = np.polyfit(xs, ys, 1)
    if len(xs) > 2:
        resid = ys - (slope * xs + intercept)
        stderr = math.sqrt(resid @ resid / (len(xs) - 2)
                           / ((xs - xs.mean()) @ (xs - xs.mean())))
    else:
        stderr = float("nan")
    return float(slope), float(intercept), stderr


def main():
    args = _parse()
    import keras

    from zoo.data import load_digits

    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_lr_batch.py",
        "--optimizers " + " ".join(args.optimizers),
        "--batches " + " ".join(map(str, args.batches)),
        "--seeds " + " ".join(map(str, args.seeds)),
        f"--epochs {args.epochs}", f"--fit-max-batch {args.fit_max_batch}")
    data = (load_digits("train", layout="image"),
            load_digits("val", layout="image"))
    done = {}
    for r in read_csv_rows(RUNS_CSV):
        if r["backend"] == backend and int(r["epochs"]) == args.epochs:
            done[(r["optimizer"], int(r["batch_size"]),
                  float(r["learning_rate"]), int(r["seed"]))] = r
    fits = []
    curves = {}
    for optimizer in args.optimizers:
        rows = []
        best = []
        for batch in sorted(args.batches):
            lr = _search(optimizer, batch, args, data, rows, done, command)
            best.append(lr)
            print(f"== {optimizer} batch {batch}: best lr {lr:.4g}",
                  flush=True)
            merge_csv_rows(
                RUNS_CSV, RUN_FIELDS, rows,
                key=lambda r: (r["optimizer"], str(r["batch_size"]),
                               str(r["learning_rate"]), str(r["seed"]),
                               r["backend"], str(r["epochs"])),
                sort_key=lambda r: (r["backend"], r["optimizer"],
                                    int(r["batch_size"]),
                                    float(r["learning_rate"]),
                                    int(r["seed"])))
        batches = sorted(args.batches)
        curves[optimizer] = (batches, best)
        rule, rule_slope = RULES[optimizer]
        below = [b for b in batches if b <= args.fit_max_batch]
        for name, chosen in ((f"<= {args.fit_max_batch}", below),
                             ("all", batches)):
            if len(chosen) < 2:
                continue
            idx = [batches.index(b) for b in chosen]
            slope, _, stderr = _fit(chosen, [best[i] for i in idx])
            fits.append(dict(
                model=MODEL, optimizer=optimizer, batch_range=name,
                batches=" ".join(map(str, chosen)),
                best_lrs=" ".join(f"{best[i]:.4g}" for i in idx),
                slope=f"{slope:.3f}", slope_stderr=f"{stderr:.3f}",
                rule=rule, rule_slope=rule_slope,
                slope_minus_rule=f"{slope - rule_slope:+.3f}",
                **{"within_0.15": int(abs(slope - rule_slope) <= 0.15)},
                epochs=args.epochs, seeds=" ".join(map(str, args.seeds)),
                criterion="last-epoch training loss (training mode, "
                "mean over seeds)",
                backend=backend, cpu=cpu_model(), date=today(),
                command=command))
    write_csv_atomic(FIT_CSV, FIT_FIELDS, fits)
    _plot(curves, fits, args)
    for f in fits:
        print(f"{f['optimizer']} {f['batch_range']}: slope {f['slope']} "
              f"(rule {f['rule_slope']})")


def _plot(curves, fits, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4))
    axes = np.atleast_1d(axes)
    for ax, (opt, (batches, best)) in zip(axes, curves.items()):
        ax.loglog(batches, best, "o", base=2, label="best rate (measured)")
        for f in fits:
            if f["optimizer"] != opt:
                continue
            bs = [int(b) for b in f["batches"].split()]
            lrs = [float(v) for v in f["best_lrs"].split()]
            slope, icpt, _ = _fit(bs, lrs)
            xs = np.array([bs[0], bs[-1]], "float64")
            ax.loglog(xs, 2.0 ** (icpt + slope * np.log2(xs)), "-",
                      base=2, label=f"fit {f['batch_range']}: "
                      f"slope {slope:.2f}")
        ax.set_title(f"{opt.upper()} (rule slope {RULES[opt][1]:g})")
        ax.set_xlabel("batch size")
        ax.set_ylabel("best learning rate")
        ax.legend(fontsize=8)
    fig.suptitle(f"digits CNN, {args.epochs} epochs, constant rate")
    fig.tight_layout()
    save_figure_atomic(fig, FIGURE, dpi=110)


if __name__ == "__main__":
    main()
