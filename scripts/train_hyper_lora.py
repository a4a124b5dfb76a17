"""Trains the bundled `hyper_lora_digits_writers` preset (HyperLoRA).

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_hyper_lora.py

Writes:
- `zoo/presets/hyper_lora_digits_writers/` (the preset, atomically),
  whose metadata holds `evaluate_hyper_lora` on the 30 unseen writers;
- `scripts/results/hyper_lora_digits_writers-train-log.csv` (per-epoch
  log of the hypernetwork phase).

The per-subject comparison table is `scripts/bench_hyper_lora.py`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.hyper_lora.hyper_lora_training import HYPER_EPOCHS  # noqa: E402


def main():
    """Trains the preset and prints its unseen-writer metrics.

    Returns:
        int. The exit status.
    """
    args = train_args(__doc__, "hyper-lora-", epochs=HYPER_EPOCHS,
                      epochs_help="hypernetwork epochs of 100 steps",
                      out_preset="hyper_lora_digits_writers")
    command = run_command(keras.backend.backend(), "train_hyper_lora.py",
                          f"--epochs {args.epochs}", f"--seed {args.seed}")
    _, metrics, seconds = train_preset(
        "hyper_lora_digits_writers",
        os.path.join(args.work_dir, "hyper_lora"), args.out, command,
        epochs=args.epochs, seed=args.seed, verbose=2)
    print(f"trained in {seconds:.0f} s")
    for key in sorted(metrics):
        print(f"{key}: {metrics[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
