"""Trains the bundled DyVTE presets (`token_exit_vlm_digits`, `_scenes`).

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_token_exit.py
    KERAS_BACKEND=jax python scripts/train_token_exit.py \
        --preset token_exit_vlm_scenes

Stage 1 trains the tiny VLM from scratch on the digit questions of the
train split; stage 2 freezes it and trains the per-layer exit routers as
DyVTE does; the exit threshold is chosen on the validation split; metrics
are computed on the test split
(`zoo.token_exit.token_exit_training.train_preset`). The scenes preset
trains on fresh chunks of generated questions (`--epochs` counts chunks;
`zoo.token_exit.token_exit_scenes.train_scenes_preset`);
`--exit-aware F` runs the exit-aware stage 1 deviation (F of the
examples lose the image after a random layer; default: the preset's).

Writes:
- `zoo/presets/<preset>/` (atomically);
- `scripts/results/results-token-exit.csv` (or `--csv`; one row per
  preset; timm's results columns plus
  the DyVTE metrics, parameters, epochs, seconds, backend, precision and
  the command).
"""

import functools
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import PRESETS_DIR  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.registry import get_preset_spec  # noqa: E402
from zoo.token_exit.token_exit_presets import PRESET_NAME  # noqa: E402
from zoo.token_exit.token_exit_presets import SCENES_PRESET_NAME  # noqa
from zoo.training import run_recipe  # noqa: E402

CSV = os.path.join(RESULTS, "results-token-exit.csv")
FIELDS = ("model", "dataset", "split", "top1", "top1_err", "top1_exit",
          "flops_saved", "mean_exit_layer", "threshold", "param_count",
          "router_param_count", "vlm_epochs", "router_epochs",
          "exit_aware_fraction", "seconds", "seed", "backend",
          "precision", "command")


def main():
    """Trains the preset and writes its CSV row."""
    args = train_args(
        __doc__, "token-exit-",
        epochs_help="stage-1 epochs / chunks (default: the preset's)",
        out_root=True,
        extra={"--preset": dict(default=PRESET_NAME,
                                choices=(PRESET_NAME, SCENES_PRESET_NAME)),
               "--exit-aware": dict(type=float, default=None),
               "--csv": dict(default=CSV, help="results CSV (default "
                             "results-token-exit.csv)")})
    backend = keras.backend.backend()
    name = args.preset
    if args.exit_aware is not None and name != SCENES_PRESET_NAME:
        raise SystemExit("--exit-aware applies to token_exit_vlm_scenes")
    command = run_command(
        backend, "train_token_exit.py",
        name != PRESET_NAME and f"--preset {name}",
        f"--seed {args.seed}",
        args.epochs and f"--epochs {args.epochs}",
        args.exit_aware is not None and f"--exit-aware {args.exit_aware}",
        args.out_root != PRESETS_DIR and f"--out-root {args.out_root}",
        args.csv != CSV and "--csv scripts/results/"
        + os.path.basename(args.csv))
    recipe = get_preset_spec(name).train
    if args.exit_aware is not None:
        recipe = functools.partial(recipe,
                                   exit_aware_fraction=args.exit_aware)
    start = time.perf_counter()
    preset_dir, metrics = run_recipe(
        name, recipe, os.path.join(args.work_dir, name), epochs=args.epochs,
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
        "exit_aware_fraction": meta.get("exit_aware_fraction", 0.0),
        "seconds": round(seconds, 1),
        "seed": args.seed,
        "backend": backend,
        "precision": "float32",
        "command": command,
    }
    # One row per preset: rows of the other preset are kept.
    rows = [r for r in read_csv_rows(args.csv) if r.get("model") != name]
    write_csv_atomic(args.csv, FIELDS, rows + [row])
    print(name, metrics, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
