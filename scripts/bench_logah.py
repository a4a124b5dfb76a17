"""LoGAH benchmark: predicted vs random init on held-out MNIST-1D MLPs.

Usage (what `make bench` runs; needs the `logah_mnist1d` preset):

    KERAS_BACKEND=jax python scripts/bench_logah.py

Loads the bundled low-rank GHN, trains the full-rank twin (same GHN,
same recipe and budget, decoder predicting the whole max_ck x max_ck
block), then for each held-out architecture fine-tunes an MLP from four
initialisations (LoGAH low-rank, LoGAH full-rank, He-normal, Glorot-
uniform) with Adam(1e-3), batch 64, 400 steps, test accuracy every 5
steps, averaged over 3 data-order/init seeds.

Writes:
- `scripts/results/results-logah.csv`: one row per (architecture, init)
  and a `mean` row per init: accuracy after k in {0, 25, 100, 400},
  steps to reach He init's final (400-step) accuracy, decoder and GHN
  parameter counts, and the two targets;
- `scripts/results/results-logah-curves.csv`: the curves (per step);
- `scripts/results/logah-curves.png`: the curves.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from zoo.data.mnist_1d import load_mnist1d  # noqa: E402
from zoo.logah.logah_eval import fine_tune_curve  # noqa: E402
from zoo.logah.logah_eval import initial_model  # noqa: E402
from zoo.logah.logah_graph import HELD_OUT_ARCHITECTURES  # noqa: E402
from zoo.logah.logah_graph import arch_name  # noqa: E402
from zoo.logah.logah_training import LOGAH_BATCH_SIZE  # noqa: E402
from zoo.logah.logah_training import LOGAH_CONFIG  # noqa: E402
from zoo.logah.logah_training import NUM_CLASSES  # noqa: E402
from zoo.logah.logah_training import STEPS_PER_EPOCH  # noqa: E402
from zoo.logah.logah_training import ArchitectureBatches  # noqa: E402
from zoo.logah.logah_training import build_logah_classifier  # noqa: E402

K_STEPS = (0, 25, 100, 400)
INITS = ("logah_low_rank", "logah_full_rank", "he_normal",
         "glorot_uniform")
REFERENCE = "he_normal"


def _train_full_rank(epochs, seed):
    keras.utils.set_random_seed(seed)
    x, y = load_mnist1d("train")
    model = build_logah_classifier(full_rank=True, seed=seed)
    data = ArchitectureBatches(
        x, y, STEPS_PER_EPOCH, LOGAH_BATCH_SIZE, seed,
        LOGAH_CONFIG["max_ck"], LOGAH_CONFIG["max_nodes"], NUM_CLASSES)
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=2)
    return model, time.perf_counter() - start


def _steps_to_reach(curve, target):
    for step, acc in zip(curve["steps"], curve["accuracy"]):
        if acc >= target - 1e-9:
            return step
    return None


def main():
    """Runs the benchmark and writes the CSVs and the PNG.

    Returns:
        int. The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--full-rank-epochs", type=int, default=None)
    args = parser.parse_args()
    backend = keras.backend.backend()
    command = run_command(backend, "bench_logah.py",
                          f"--seeds {args.seeds}", f"--steps {args.steps}")
    low = zoo.load("logah_mnist1d")
    epochs = args.full_rank_epochs or int(
        zoo.read_metadata("logah_mnist1d").get("epochs", 80))
    full, full_seconds = _train_full_rank(epochs, 0)
    ghns = {"logah_low_rank": low, "logah_full_rank": full}

    curves = {}  # (arch, init) -> mean curve over seeds
    for widths in HELD_OUT_ARCHITECTURES:
        for init in INITS:
            runs = []
            for seed in range(args.seeds):
                keras.utils.set_random_seed(seed)
                ghn = ghns.get(init, low)
                mlp = initial_model(ghn, widths,
                                    "logah" if init in ghns else init,
                                    seed)
                runs.append(fine_tune_curve(mlp, max_steps=args.steps,
                                            eval_every=5, seed=seed))
            curves[(widths, init)] = {
                "steps": runs[0]["steps"],
                "accuracy": list(np.mean([r["accuracy"] for r in runs], 0)),
                "loss": list(np.mean([r["loss"] for r in runs], 0)),
            }
            c = curves[(widths, init)]
            print(f"{arch_name(widths)} {init}: "
                  f"{100 * c['accuracy'][0]:.1f}% -> "
                  f"{100 * c['accuracy'][-1]:.1f}%", flush=True)

    decoder = {name: m.backbone.decoder_num_params()
               for name, m in ghns.items()}
    ghn_params = {name: int(m.count_params()) for name, m in ghns.items()}
    common = {"dataset": "mnist1d", "split": "test",
              "fine_tune_steps": args.steps,
              "batch_size": 64, "seeds": args.seeds, "backend": backend,
              "precision": "float32", "cpu": cpu_model(),
              "command": command}
    rows, curve_rows = [], []
    archs = list(HELD_OUT_ARCHITECTURES)
    for init in INITS:
        per_arch = []
        for widths in archs:
            c = curves[(widths, init)]
            target = curves[(widths, REFERENCE)]["accuracy"][-1]
            reach = _steps_to_reach(c, target)
            acc = dict(zip(c["steps"], c["accuracy"]))
            per_arch.append((acc, reach))
            rows.append(_row(init, arch_name(widths), acc, c, reach, target,
                             args.steps, decoder, ghn_params, common))
            for s, a, lo in zip(c["steps"], c["accuracy"], c["loss"]):
                curve_rows.append({"arch": arch_name(widths), "init": init,
                                   "step": s, "top1": round(100 * a, 2),
                                   "loss": round(lo, 4),
                                   "backend": backend, "command": command})
        mean_acc = {k: float(np.mean([a[k] for a, _ in per_arch]))
                    for k in per_arch[0][0]}
        reaches = [r for _, r in per_arch]
        mean_reach = (None if any(r is None for r in reaches)
                      else float(np.mean(reaches)))
        mean_target = float(np.mean(
            [curves[(w, REFERENCE)]["accuracy"][-1] for w in archs]))
        rows.append(_row(init, "mean", mean_acc, None, mean_reach,
                         mean_target, args.steps, decoder, ghn_params,
                         common))
    ratio = decoder["logah_low_rank"] / decoder["logah_full_rank"]
    by = {(r["arch"], r["model"]): r for r in rows}
    lo = by[("mean", "logah_low_rank")]
    fu = by[("mean", "logah_full_rank")]
    for r in rows:
        r["decoder_ratio_low_to_full"] = round(ratio, 4)
        r["full_rank_train_s"] = round(full_seconds, 1)
        r["target_steps_le_third"] = (
            r["steps_ratio"] != "" and r["steps_ratio"] <= 1 / 3)
        r["target_low_rank_le_tenth_and_acc_ge_full"] = bool(
            ratio <= 0.1 and lo["top1_k0"] >= fu["top1_k0"]
            and lo["top1_k400"] >= fu["top1_k400"])
    write_csv_atomic(os.path.join(RESULTS, "results-logah.csv"),
                     list(rows[0]), rows)
    write_csv_atomic(os.path.join(RESULTS, "results-logah-curves.csv"),
                     list(curve_rows[0]), curve_rows)
    _plot(curves, archs, os.path.join(RESULTS, "logah-curves.png"))
    for r in rows:
        if r["arch"] == "mean":
            print(f"{r['model']}: k0 {r['top1_k0']} k25 {r['top1_k25']} "
                  f"k100 {r['top1_k100']} k400 {r['top1_k400']} "
                  f"steps->He final {r['steps_to_reference_final']} "
                  f"decoder {r['decoder_params']}")
    print(f"decoder ratio low/full = {ratio:.4f}")
    return 0


def _row(init, arch, acc, curve, reach, target, steps, decoder, ghn_params,
         common):
    row = {"model": init, "arch": arch}
    for k in K_STEPS:
        row[f"top1_k{k}"] = round(100 * acc[k], 2)
    if curve is not None:
        row["loss_k0"] = round(curve["loss"][0], 4)
        row["loss_k400"] = round(curve["loss"][-1], 4)
    else:
        row["loss_k0"] = row["loss_k400"] = ""
    row["reference_final_top1"] = round(100 * target, 2)
    row["steps_to_reference_final"] = "" if reach is None else reach
    row["steps_ratio"] = "" if reach is None else round(reach / steps, 4)
    row["decoder_params"] = decoder.get(init, "")
    row["param_count"] = ghn_params.get(init, "")
    row.update(common)
    return row


def _plot(curves, archs, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(archs), 3.4))
    for i, widths in enumerate(archs):
        ax = fig.add_subplot(1, len(archs), i + 1)
        for init in INITS:
            c = curves[(widths, init)]
            ax.plot(c["steps"], [100 * a for a in c["accuracy"]],
                    label=init)
        ax.set_title(f"{arch_name(widths)} (held out)")
        ax.set_xlabel("fine-tuning steps")
        if i == 0:
            ax.set_ylabel("MNIST-1D test accuracy %")
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    write_plot(fig, path)


if __name__ == "__main__":
    sys.exit(main())
