"""Trains the bundled Terminator presets and their baselines.

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_terminator.py

Each preset (`terminator_1d_mnist1d`, `terminator_1d_mnist1d_shuffled`,
`terminator_2d_digits`) is trained on its train+val split and evaluated on
its test split one sample at a time (`top1`, batch 1) and in batches of
100 (`top1_batch100`); then the baselines of the same dataset are
trained with the same epochs, batch size and warm-up + cosine schedule
(Adam): on MNIST-1D (plain and shuffled) the MNIST-1D paper's CNN and GRU
and a strong plain CNN (~198k parameters), on digits a plain CNN. On
MNIST-1D the paper's CNN and GRU are trained a second time with the
paper's own loop (`PAPER_RECIPE`: Adam 1e-2 constant, batch 100,
6000 steps), as rows `mnist1d_cnn_paper_recipe` and
`mnist1d_gru_paper_recipe`.

Writes:
- `zoo/presets/<preset>/` (atomically);
- `scripts/results/<preset>-train-log.csv` (per-epoch log);
- `scripts/results/results-terminator.csv` (timm's results columns plus
  dataset, parameters, epochs, seconds per epoch, backend, precision and
  the command). Rows of presets not retrained in this run are kept.
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.terminator.terminator_baselines import PAPER_RECIPE  # noqa: E402
from zoo.terminator.terminator_presets import PRESETS  # noqa: E402
from zoo.terminator.terminator_presets import dataset_label  # noqa: E402
from zoo.terminator.terminator_training import train_baseline  # noqa: E402

CSV = os.path.join(RESULTS, "results-terminator.csv")
FIELDS = ("model", "dataset", "split", "top1", "top1_err",
          "top1_batch100", "loss",
          "param_count", "epochs", "batch_size", "sec_per_epoch", "seed",
          "backend", "precision", "command")
BASELINES = {
    "mnist1d": ("mnist1d_cnn", "mnist1d_gru", "strong_cnn"),
    "digits": ("digits_cnn",),
}
# Also trained with the MNIST-1D paper's own loop (PAPER_RECIPE);
# their rows are named `<kind>_paper_recipe`.
PAPER_BASELINES = {"mnist1d": ("mnist1d_cnn", "mnist1d_gru")}


def _row(model, dataset, metrics, epochs, batch_size, seconds, seed,
         command):
    return {
        "model": model,
        "dataset": dataset,
        "split": "test",
        "top1": round(100 * metrics["accuracy"], 2),
        "top1_err": round(100 * (1 - metrics["accuracy"]), 2),
        "top1_batch100": round(100 * metrics["accuracy_batch100"], 2),
        "loss": round(metrics["loss"], 4),
        "param_count": metrics["parameters"],
        "epochs": epochs,
        "batch_size": batch_size,
        "sec_per_epoch": round(seconds / epochs, 2),
        "seed": seed,
        "backend": keras.backend.backend(),
        "precision": "float32",
        "command": command,
    }


def _train_baselines(name, cfg, epochs, args, command):
    """Trains the baselines of a preset's dataset; returns their rows."""
    runs = [(kind, dict(epochs=epochs,
                        learning_rate=cfg["baseline_learning_rate"],
                        batch_size=cfg["batch_size"]))
            for kind in BASELINES[cfg["dataset"]]]
    runs += [(kind, dict(PAPER_RECIPE))
             for kind in PAPER_BASELINES.get(cfg["dataset"], ())]
    dataset = dataset_label(cfg)
    rows = []
    for i, (kind, recipe) in enumerate(runs):
        label = kind if i < len(BASELINES[cfg["dataset"]]) else (
            f"{kind}_paper_recipe")
        keras.utils.set_random_seed(args.seed)
        start = time.perf_counter()
        _, m = train_baseline(kind, cfg["dataset"], cfg["shuffled"],
                              os.path.join(args.work_dir, f"{name}-{label}"),
                              seed=args.seed, **recipe)
        seconds = time.perf_counter() - start
        rows.append(_row(label, dataset, m, recipe["epochs"],
                         recipe["batch_size"], seconds, args.seed, command))
        print(label, dataset, m, flush=True)
    return rows


def main():
    """Trains the presets and baselines, writes the CSVs."""
    args = train_args(__doc__, "terminator-", presets=PRESETS,
                      epochs_help="override every preset's epochs",
                      out_root=True, extra={
                          "--no-baselines": dict(action="store_true"),
                          "--baselines-only": dict(
                              action="store_true",
                              help="train only the baselines of each "
                              "preset's dataset (the preset and its row "
                              "stay)"),
                      })
    backend = keras.backend.backend()
    for name in args.presets:
        cfg = PRESETS[name]
        epochs = args.epochs or cfg["epochs"]
        command = run_command(
            backend, "train_terminator.py", f"--presets {name}",
            f"--seed {args.seed}", args.epochs and f"--epochs {args.epochs}",
            args.baselines_only and "--baselines-only")
        rows = []
        if not args.baselines_only:
            _, metrics, seconds = train_preset(
                name, os.path.join(args.work_dir, name),
                os.path.join(args.out_root, name), command, epochs=epochs,
                seed=args.seed, verbose=2,
            )
            rows.append(_row(name, dataset_label(cfg), metrics, epochs,
                             cfg["batch_size"], seconds, args.seed,
                             command))
            print(name, metrics, flush=True)
        if not args.no_baselines:
            rows += _train_baselines(name, cfg, epochs, args, command)
        merge_csv_rows(CSV, FIELDS, rows,
                       key=lambda r: (r["model"], r["dataset"]),
                       sort_key=lambda r: (r["dataset"], r["model"]))
    return 0

if __name__ == "__main__":
    sys.exit(main())
