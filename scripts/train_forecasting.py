"""Trains the bundled forecasting presets (RHN + attention + gating).

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_forecasting.py

Each preset (`rhn_attention_lorenz96`, `rhn_attention_ks`) is trained with
teacher forcing on its system's z-scored training trajectory (seeded,
`--seed`), then rolled out autoregressively from the 24 test initial
conditions of a separate trajectory (see
`zoo.forecasting.forecasting_training` and
`zoo.data.forecasting_systems`).

Writes:
- `zoo/presets/<preset>/` (atomically; metrics in the metadata);
- `scripts/results/<preset>-train-log.csv` (per-epoch log);
- `scripts/results/results-forecasting.csv` (valid prediction time mean
  and std in Lyapunov times, NRMSE one Lyapunov time ahead, power-
  spectrum error, parameters, budget, seconds, backend, precision and
  the command). Rows of presets not retrained in this run are kept.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from zoo.forecasting.forecasting_presets import PRESETS  # noqa: E402

CSV = os.path.join(RESULTS, "results-forecasting.csv")
FIELDS = ("model", "dataset", "split", "vpt_lyapunov", "vpt_lyapunov_std",
          "nrmse_1_lyapunov", "power_spectrum_error_db", "num_ics",
          "param_count", "epochs", "steps", "batch_size", "seconds", "seed",
          "backend", "precision", "command")


def main():
    """Trains the presets and writes the CSVs."""
    args = train_args(__doc__, "forecasting-", presets=PRESETS,
                      epochs_help="override every preset's epochs",
                      out_root=True)
    backend = keras.backend.backend()
    for name in args.presets:
        command = run_command(
            backend, "train_forecasting.py", f"--presets {name}",
            f"--seed {args.seed}", args.epochs and f"--epochs {args.epochs}")
        preset_dir, metrics, seconds = train_preset(
            name, os.path.join(args.work_dir, name),
            os.path.join(args.out_root, name), command, epochs=args.epochs,
            seed=args.seed, verbose=2,
        )
        # The budget the recipe used, as its metadata records it.
        meta = zoo.read_metadata(preset_dir)
        row = {
            "model": name, "dataset": meta["dataset"], "split": "test",
            "vpt_lyapunov": round(metrics["vpt_lyapunov"], 3),
            "vpt_lyapunov_std": round(metrics["vpt_lyapunov_std"], 3),
            "nrmse_1_lyapunov": round(metrics["nrmse_1_lyapunov"], 4),
            "power_spectrum_error_db": round(
                metrics["power_spectrum_error_db"], 3),
            "num_ics": metrics["num_ics"],
            "param_count": metrics["parameters"], "epochs": meta["epochs"],
            "steps": meta["steps"], "batch_size": meta["batch_size"],
            "seconds": round(seconds, 1),
            "seed": args.seed, "backend": backend, "precision": "float32",
            "command": command,
        }
        print(name, metrics, flush=True)
        merge_csv_rows(CSV, FIELDS, [row], key=lambda r: r["model"],
                       sort_key=lambda r: r["model"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
