"""Trains the bundled `unem_gaussian_5shot` and `cafa_digits_encoder` presets.

Usage (reproducible; seeds fixed):

    KERAS_BACKEND=jax python scripts/train_unem.py [--only NAME]

Writes, each atomically:
- `zoo/presets/unem_gaussian_5shot/` (UNEM-Gaussian meta-trained on 1000
  5-shot meta-train tasks of the synthetic Gaussian world, 100 steps);
- `zoo/presets/cafa_digits_encoder/` (BatchNorm CNN on the digits train
  split, 30 epochs);
- `scripts/results/unem_gaussian_5shot-train-log.csv` and
  `scripts/results/cafa_digits_encoder-train-log.csv` (per-step/epoch
  logs).
The test metrics land in each preset's metadata; recompute them with
`python -m zoo eval NAME --json`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_named_presets  # noqa: E402
from zoo.unem.unem_presets import CAFA_PRESET  # noqa: E402
from zoo.unem.unem_presets import UNEM_PRESET  # noqa: E402

PRESETS = (UNEM_PRESET, CAFA_PRESET)


def main() -> int:
    """Trains the presets and copies their training logs."""
    args = train_args(__doc__, "train_unem-", extra={
        "--only": dict(choices=PRESETS, default=None)})
    train_named_presets("train_unem.py", PRESETS, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
