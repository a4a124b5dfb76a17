"""Trains the bundled `neumeta_cnn_digits` preset.

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_neumeta.py

Writes:
- `zoo/presets/neumeta_cnn_digits/` (the preset, atomically; its
  metadata holds the from-scratch reference accuracies);
- `scripts/results/neumeta_cnn_digits-train-log.csv` (per-epoch log).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.neumeta.neumeta_presets import NEUMETA_EPOCHS  # noqa: E402
from zoo.neumeta.neumeta_presets import PRESET_NAME  # noqa: E402


def main() -> int:
    """Trains the preset and prints its metrics."""
    args = train_args(__doc__, "neumeta-", epochs=NEUMETA_EPOCHS,
                      epochs_help="epochs of the weight field",
                      out_preset=PRESET_NAME)
    command = run_command(
        keras.backend.backend(), "train_neumeta.py",
        f"--epochs {args.epochs}", f"--seed {args.seed}")
    _, metrics, seconds = train_preset(
        PRESET_NAME, os.path.join(args.work_dir, "neumeta"), args.out,
        command, epochs=args.epochs, seed=args.seed, verbose=2,
    )
    print(f"{PRESET_NAME}: trained in {seconds:.0f} s")
    for key, value in metrics.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
