"""Trains the bundled DyVTE preset `token_exit_vlm_digits`.

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_token_exit.py

Stage 1 trains the tiny VLM from scratch on the digit questions of the
train split; stage 2 freezes it and trains the per-layer exit routers as
DyVTE does; the exit threshold is chosen on the validation split; metrics
are computed on the test split
(`zoo.token_exit.token_exit_training.train_preset`).

Writes:
- `zoo/presets/token_exit_vlm_digits/` (atomically);
- `scripts/results/results-token-exit.csv` (timm's results columns plus
  the DyVTE metrics, parameters, epochs, seconds, backend, precision and
  the command).
"""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.token_exit.token_exit_presets import PRESET_NAME  # noqa: E402
from zoo.training import train  # noqa: E402

CSV = os.path.join(RESULTS, "results-token-exit.csv")
FIELDS = ("model", "dataset", "split", "top1", "top1_err", "top1_exit",
          "flops_saved", "mean_exit_layer", "threshold", "param_count",
          "router_param_count", "vlm_epochs", "router_epochs", "seconds",
          "seed", "backend", "precision", "command")


def main():
    """Trains the preset and writes its CSV row."""
    args = train_args(__doc__, "token-exit-",
                      epochs_help="stage-1 epochs (default: the preset's)",
                      out_root=True)
    backend = keras.backend.backend()
    name = PRESET_NAME
    command = run_command(backend, "train_token_exit.py",
                          f"--seed {args.seed}",
                          args.epochs and f"--epochs {args.epochs}")
    start = time.perf_counter()
    preset_dir, metrics = train(
        name, os.path.join(args.work_dir, name), epochs=args.epochs,
        seed=args.seed, verbose=2, overwrite=True, training_command=command,
        preset_dir=os.path.join(args.out_root, name),
    )
    seconds = time.perf_counter() - start
    # The budget the recipe used, as its metadata records it.
    meta = zoo.read_metadata(preset_dir)
    row = {
        "model": name,
        "dataset": meta["dataset"],
        "split": "test",
        "top1": round(100 * metrics["accuracy_full"], 2),
        "top1_err": round(100 * (1 - metrics["accuracy_full"]), 2),
        "top1_exit": round(100 * metrics["accuracy_exit"], 2),
        "flops_saved": round(metrics["flops_saved"], 4),
        "mean_exit_layer": round(metrics["mean_exit_layer"], 3),
        "threshold": metrics["threshold"],
        "param_count": metrics["parameters"],
        "router_param_count": metrics["router_parameters"],
        "vlm_epochs": meta["vlm_epochs"],
        "router_epochs": meta["router_epochs"],
        "seconds": round(seconds, 1),
        "seed": args.seed,
        "backend": backend,
        "precision": "float32",
        "command": command,
    }
    write_csv_atomic(CSV, FIELDS, [row])
    print(name, metrics, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
