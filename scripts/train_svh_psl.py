"""Trains the bundled `svh_psl_zdt1` preset (SVH-PSL on ZDT1).

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_svh_psl.py

One SVH-PSL run (20 LHS + 5 batches of 5 expensive ZDT1 evaluations, GP
surrogates, SVGD-trained preference hypernetwork); writes
`zoo/presets/svh_psl_zdt1/` (atomically), whose metadata holds the
learned front's hypervolume and IGD and the 45 evaluated points
(`gp_data`). The PSL comparison is `scripts/bench_svh_psl.py`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.svh_psl.svh_psl_training import CONFIG  # noqa: E402


def main():
    """Trains the preset and prints its metrics.

    Returns:
        int. The exit status.
    """
    args = train_args(__doc__, "svh-psl-", epochs=CONFIG["steps"],
                      epochs_help="hypernetwork steps per batch",
                      out_preset="svh_psl_zdt1")
    command = run_command(keras.backend.backend(), "train_svh_psl.py",
                          f"--epochs {args.epochs}", f"--seed {args.seed}")
    _, metrics, seconds = train_preset(
        "svh_psl_zdt1", os.path.join(args.work_dir, "svh_psl"), args.out,
        command, epochs=args.epochs, seed=args.seed, verbose=1)
    print(f"trained in {seconds:.0f} s")
    for key in sorted(metrics):
        if "/" not in key:
            print(f"{key}: {metrics[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
