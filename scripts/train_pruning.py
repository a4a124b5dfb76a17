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


from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_named_presets  # noqa: E402
from zoo.pruning.pruning_family import PRESET_NAMES  # noqa: E402


def main() -> int:
    """Trains the presets and copies their training logs."""
    args = train_args(__doc__, "train_pruning-", extra={
        "--only": dict(choices=PRESET_NAMES, default=None)})
    train_named_presets("train_pruning.py", PRESET_NAMES, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
