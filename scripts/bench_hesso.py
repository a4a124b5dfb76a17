"""HESSO benchmark: parameters, MACs and batch-1 latency vs accuracy.

Usage (what `make bench` runs; about 4 minutes on 2 CPU threads, jax):

    KERAS_BACKEND=jax python scripts/bench_hesso.py [--targets T ...]
        [--seeds S ...] [--seed N] [--epochs E] [--dense-epochs D]

One dense network, several HESSO runs from it (the recipe of the
`digits_cnn_hesso` preset, `zoo.pruning.hesso_training`, at other target
group sparsities):

1. The dense digits CNN (`train_dense_digits_cnn`: filters
   `DENSE_FILTERS` (128, 256), Adam 1e-3, batch 64, `--dense-epochs`
   30 on the digits train split, seeded by `--seed`, default 0) is
   trained once; its test accuracy is every row's `dense_top1`.
2. For every target group sparsity of `--targets` (default 0.25 0.5
   0.625 0.75 0.875; the fraction of the 384 conv channels removed)
   and every seed of `--seeds` (default 0; it seeds the fine-tuning's
   data order), a copy of the dense network is fine-tuned with
   `hesso_finetune` (`HESSOOptimizer(Adam(1e-3))`, batch 64, `--epochs`
   40, pruning window `hesso_schedule`), then rebuilt without its zero
   channels (`build_subnet`).
3. Measured on the test split: `top1` of the compact model; its
   parameters and MACs (`digits_cnn_macs`) against the dense ones;
   the batch-1 latency of the compact and of the trained dense network
   with the backend's compiled forward (`zoo._inference_shim.
   compiled_forward`: `jax.jit` on JAX), median of 15 interleaved
   rounds of 50 calls in one process (`batch1_latencies`), and their
   ratio `speedup_cpu`; `speedup_cpu_predict_on_batch` is the same
   ratio through Keras' `predict_on_batch` (20 calls per round).

Rows are merged into `scripts/results/results-pruning-hesso.csv` (keyed
by target, seed, dense seed and backend; timm-style columns plus
backend, precision, cpu and the command), and
`scripts/results/hesso.png` plots accuracy vs parameters and vs
compiled batch-1 latency (the dense network as a star). Every run
directory lives under `--work-dir` (default a new temporary directory);
rerunning with the same `--work-dir` resumes the trainings.
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402

CSV = os.path.join(RESULTS, "results-pruning-hesso.csv")
PNG = os.path.join(RESULTS, "hesso.png")
TARGETS = (0.25, 0.5, 0.625, 0.75, 0.875)
REPEATS = 15
COMPILED_CALLS = 50
PREDICT_CALLS = 20
FIELDS = ("model", "dataset", "split", "method", "target_group_sparsity",
          "seed", "dense_seed", "filters", "dense_filters", "param_count",
          "dense_param_count", "params_removed", "macs", "dense_macs",
          "latency_us", "dense_latency_us", "speedup_cpu",
          "speedup_cpu_predict_on_batch", "top1", "dense_top1",
          "top1_drop", "epochs", "dense_epochs", "batch_size",
          "train_seconds", "backend", "precision", "cpu",
          "keras_version", "date", "command")


def _key(row):
    return (row["model"], float(row["target_group_sparsity"]),
            int(row["seed"]), int(row["dense_seed"]), row["backend"])


def _width(filters):
    return "-".join(str(int(f)) for f in filters)


def _runs(args):
    """Trains the dense network and the HESSO runs; returns the rows."""
    import keras

    from zoo.data import load_digits
    from zoo.pruning import hesso_training as h
    from zoo.pruning.subnet import build_subnet

    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_hesso.py",
        "--targets " + " ".join(str(t) for t in args.targets),
        "--seeds " + " ".join(str(s) for s in args.seeds),
        f"--seed {args.seed}", f"--epochs {args.epochs}",
        f"--dense-epochs {args.dense_epochs}")
    x, y = load_digits("train", layout="image")
    xt, yt = load_digits("test", layout="image")
    dense = h.train_dense_digits_cnn(
        os.path.join(args.work_dir, "dense"), args.dense_epochs,
        h.DENSE_FILTERS, args.seed)
    dense_top1 = h._accuracy(dense, xt, yt)
    print(f"dense {h.DENSE_FILTERS}: top1 {100 * dense_top1:.2f} %",
          flush=True)
    rows = []
    for target in args.targets:
        for seed in args.seeds:
            start = time.perf_counter()
            model = h.build_dense_digits_cnn(h.DENSE_FILTERS, args.seed)
            model.set_weights(dense.get_weights())
            keras.utils.set_random_seed(seed)
            groups = h.hesso_finetune(
                model, x, y, args.epochs,
                os.path.join(args.work_dir, f"hesso_{target}_seed{seed}"),
                target_group_sparsity=target)
            small = build_subnet(model, groups)
            small.compile()
            seconds = time.perf_counter() - start
            top1 = h._accuracy(small, xt, yt)
            dense_s, small_s = h.batch1_latencies(
                dense, small, xt[:1], REPEATS, COMPILED_CALLS)
            predict_ratio = h.batch1_latency_ratio(
                dense, small, xt[:1], REPEATS, PREDICT_CALLS,
                "predict_on_batch")
            params, dense_params = small.count_params(), dense.count_params()
            row = {
                "model": "digits_cnn", "dataset": "digits",
                "split": "test", "method": "hesso",
                "target_group_sparsity": target, "seed": seed,
                "dense_seed": args.seed,
                "filters": _width(small.backbone.filters),
                "dense_filters": _width(h.DENSE_FILTERS),
                "param_count": params, "dense_param_count": dense_params,
                "params_removed": round(1 - params / dense_params, 4),
                "macs": h.digits_cnn_macs(small),
                "dense_macs": h.digits_cnn_macs(dense),
                "latency_us": round(1e6 * small_s, 1),
                "dense_latency_us": round(1e6 * dense_s, 1),
                "speedup_cpu": round(dense_s / small_s, 2),
                "speedup_cpu_predict_on_batch": round(predict_ratio, 2),
                "top1": round(100 * top1, 2),
                "dense_top1": round(100 * dense_top1, 2),
                "top1_drop": round(100 * (dense_top1 - top1), 2),
                "epochs": args.epochs, "dense_epochs": args.dense_epochs,
                "batch_size": h.HESSO_BATCH_SIZE,
                "train_seconds": round(seconds), "backend": backend,
                "precision": "float32", "cpu": cpu_model(),
                "keras_version": keras.version(), "date": today(),
                "command": command,
            }
            print({k: row[k] for k in (
                "target_group_sparsity", "seed", "filters", "param_count",
                "latency_us", "dense_latency_us", "speedup_cpu",
                "speedup_cpu_predict_on_batch", "top1", "top1_drop")},
                flush=True)
            rows.append(row)
    return rows


def _plot():
    """`hesso.png`: top-1 vs parameters and vs compiled latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    backend = rows[0]["backend"]
    rows = [r for r in rows if r["backend"] == backend]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    panels = (("param_count", "dense_param_count", "parameters", True),
              ("latency_us", "dense_latency_us",
               "compiled batch-1 latency (us)", False))
    for ax, (key, dense_key, label, log) in zip(axes, panels):
        for seed in sorted({r["seed"] for r in rows}, key=int):
            mine = sorted((r for r in rows if r["seed"] == seed),
                          key=lambda r: float(r["target_group_sparsity"]))
            xs = [float(r[key]) for r in mine]
            ys = [float(r["top1"]) for r in mine]
            ax.plot(xs, ys, "o-", label=f"HESSO, seed {seed}")
            for r, xv, yv in zip(mine, xs, ys):
                ax.annotate(r["target_group_sparsity"], (xv, yv),
                            textcoords="offset points", xytext=(4, -10),
                            fontsize=7)
        for dense_seed in sorted({r["dense_seed"] for r in rows}, key=int):
            ref = [r for r in rows if r["dense_seed"] == dense_seed]
            xs = [float(r[dense_key]) for r in ref]
            ax.plot([sum(xs) / len(xs)], [float(ref[0]["dense_top1"])],
                    "*", markersize=12, color="black",
                    label=f"dense {ref[0]['dense_filters']}"
                    + (" (mean latency of its rows)" if not log else ""))
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test top-1 %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("HESSO on the digits CNN: accuracy vs parameters "
                      "(labels: target group sparsity)", fontsize=9)
    axes[1].set_title(f"accuracy vs batch-1 latency ({backend}, "
                      f"{rows[0]['cpu']})", fontsize=9)
    write_plot(fig, PNG)


def main():
    """Runs the HESSO sweep and writes the CSV and the plot."""
    from zoo.pruning.hesso_training import DENSE_EPOCHS
    from zoo.pruning.hesso_training import HESSO_EPOCHS

    args = train_args(
        __doc__, "bench_hesso-", epochs=HESSO_EPOCHS,
        epochs_help="HESSO fine-tuning epochs", extra={
            "--targets": dict(nargs="*", type=float, default=list(TARGETS),
                              help="target group sparsities"),
            "--seeds": dict(nargs="*", type=int, default=[0],
                            help="seeds of the HESSO runs (data order)"),
            "--dense-epochs": dict(type=int, default=DENSE_EPOCHS,
                                   help="epochs of the dense network"),
        })
    start = time.perf_counter()
    rows = _runs(args)
    merge_csv_rows(CSV, FIELDS, rows, key=_key, sort_key=_key)
    print("wrote", CSV, f"({time.perf_counter() - start:.0f} s)")
    _plot()
    return 0


if __name__ == "__main__":
    sys.exit(main())
