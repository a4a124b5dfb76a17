"""Trains the bundled `d2nwg_digits_fewshot` preset (zoo, VAE, flow).

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_d2nwg.py

Builds (or reads from the data cache) the checkpoint zoo, trains the
weight VAE and the task-conditioned latent flow, and writes:
- `zoo/presets/d2nwg_digits_fewshot/` (the preset, atomically);
- `scripts/results/d2nwg_digits_fewshot-train-log.csv` (VAE and flow
  losses per epoch);
- `scripts/results/results-d2nwg-preset.csv` (the preset's few-shot
  metrics on the held-out tasks and its wall time).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.d2nwg.d2nwg_training import FLOW_EPOCHS  # noqa: E402
from zoo.d2nwg.d2nwg_training import PRESET_NAME  # noqa: E402


def main() -> int:
    """Trains the preset and writes its CSV row."""
    args = train_args(__doc__, "d2nwg-", epochs=FLOW_EPOCHS,
                      epochs_help="flow-matching epochs",
                      out_preset=PRESET_NAME)
    command = run_command(keras.backend.backend(), "train_d2nwg.py",
                          f"--epochs {args.epochs}", f"--seed {args.seed}")
    _, metrics, seconds = train_preset(
        PRESET_NAME, os.path.join(args.work_dir, "run"), args.out, command,
        epochs=args.epochs, seed=args.seed, verbose=1)
    row = {k: round(v, 4) if isinstance(v, float) else v
           for k, v in metrics.items()}
    row.update(model=PRESET_NAME, dataset="digits 5-way held-out subsets",
               shots=5, finetune_steps=20, epochs=args.epochs,
               seed=args.seed, train_seconds=round(seconds, 1),
               backend=keras.backend.backend(), precision="float32",
               cpu=cpu_model(), command=command)
    fields = ["model", "dataset", "shots", "finetune_steps"] + [
        k for k in metrics] + ["epochs", "seed", "train_seconds", "backend",
                               "precision", "cpu", "command"]
    write_csv_atomic(os.path.join(RESULTS, "results-d2nwg-preset.csv"),
                     fields, [row])
    for key, value in metrics.items():
        print(f"{key}: {value}")
    print(f"train seconds: {seconds:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
