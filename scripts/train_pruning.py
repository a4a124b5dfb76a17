"""Trains the bundled pruning presets from the dense presets they prune.

Usage (reproducible; seeds fixed):

    KERAS_BACKEND=jax python scripts/train_pruning.py [--only NAME]

Writes, each atomically:
- `zoo/presets/digits_cnn_hesso/` (HESSO fine-tuning of
  `cafa_digits_encoder`, channels removed by `zoo.pruning.build_subnet`);
- `zoo/presets/terminator_2d_digits_globalmp90/` (gradual Global MP with
  the minimum threshold of `terminator_2d_digits` to 90 % sparsity);
- `scripts/results/<name>-train-log.csv` (per-epoch logs).
The test metrics land in each preset's metadata; recompute them with
`python -m zoo eval NAME --json`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import PRESETS_DIR  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.pruning.pruning_family import PRESET_NAMES  # noqa: E402


def main() -> int:
    """Trains the presets and copies their training logs."""
    args = train_args(__doc__, "train_pruning-", extra={
        "--only": dict(choices=PRESET_NAMES, default=None)})
    for name in PRESET_NAMES:
        if args.only and name != args.only:
            continue
        command = run_command(keras.backend.backend(), "train_pruning.py",
                              f"--only {name}", f"--seed {args.seed}")
        _, metrics, seconds = train_preset(
            name, os.path.join(args.work_dir, name),
            os.path.join(PRESETS_DIR, name), command,
            seed=args.seed, verbose=0,
        )
        print(name, f"{seconds:.0f} s",
              {k: round(v, 4) if isinstance(v, float) else v
               for k, v in sorted(metrics.items())}, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
