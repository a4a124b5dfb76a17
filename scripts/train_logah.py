"""Trains the bundled `logah_mnist1d` preset (LoGAH graph hypernetwork).

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_logah.py

Writes:
- `zoo/presets/logah_mnist1d/` (the preset, atomically), whose metadata
  holds `evaluate_logah` on the held-out architectures;
- `scripts/results/logah_mnist1d-train-log.csv` (per-epoch log).

The comparison with random init and with the full-rank decoder is
`scripts/bench_logah.py`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.logah.logah_training import LOGAH_EPOCHS  # noqa: E402


def main():
    """Trains the preset and prints its held-out metrics.

    Returns:
        int. The exit status.
    """
    args = train_args(__doc__, "logah-", epochs=LOGAH_EPOCHS,
                      epochs_help="epochs of 100 GHN steps",
                      out_preset="logah_mnist1d")
    command = run_command(keras.backend.backend(), "train_logah.py",
                          f"--epochs {args.epochs}", f"--seed {args.seed}")
    _, metrics, seconds = train_preset(
        "logah_mnist1d", os.path.join(args.work_dir, "logah"), args.out,
        command, epochs=args.epochs, seed=args.seed, verbose=2)
    print(f"trained in {seconds:.0f} s")
    for key in sorted(metrics):
        if "/" not in key:
            print(f"{key}: {metrics[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
