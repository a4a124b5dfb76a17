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

import argparse
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from zoo.training import train  # noqa: E402

RESULTS = os.path.join(ROOT, "scripts", "results")
PRESETS = ("unem_gaussian_5shot", "cafa_digits_encoder")


def main() -> int:
    """Trains the presets and copies their training logs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=PRESETS, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default=None,
                        help="run directory (default: a temp dir)")
    args = parser.parse_args()
    work = args.work_dir or tempfile.mkdtemp(prefix="train_unem-")
    for name in PRESETS:
        if args.only and name != args.only:
            continue
        command = (
            f"KERAS_BACKEND={keras.backend.backend()} python "
            f"scripts/train_unem.py --only {name} --seed {args.seed}"
        )
        run_dir = os.path.join(work, name)
        _, metrics = train(
            name,
            run_dir,
            seed=args.seed,
            verbose=0,
            overwrite=True,
            training_command=command,
            preset_dir=os.path.join(ROOT, "zoo", "presets", name),
        )
        os.makedirs(RESULTS, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=RESULTS, suffix=".tmp")
        os.close(fd)
        shutil.copyfile(os.path.join(run_dir, "log.csv"), tmp)
        os.replace(tmp, os.path.join(RESULTS, f"{name}-train-log.csv"))
        print(name, {k: round(v, 4) if isinstance(v, float) else v
                     for k, v in sorted(metrics.items())}, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
