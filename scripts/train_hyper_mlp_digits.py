"""Trains the bundled `hyper_mlp_digits` preset and its Dense baseline.

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_hyper_mlp_digits.py

Writes:
- `zoo/presets/hyper_mlp_digits/` (the preset, atomically);
- `scripts/results/hyper_mlp_digits-train-log.csv` (per-epoch log);
- `scripts/results/results-digits.csv` (test accuracy of the preset and of
  the plain-Dense MLP baseline trained with the same budget: same data,
  epochs, batch size, optimizer and seed).
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import copy_train_log  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_preset  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.hyper_mlp.hyper_mlp_presets import DIGITS_BATCH_SIZE  # noqa: E402
from zoo.hyper_mlp.hyper_mlp_presets import DIGITS_EPOCHS  # noqa: E402
from zoo.hyper_mlp.hyper_mlp_training import train_digits  # noqa: E402


def main() -> int:
    """Trains the preset and the baseline, writes the CSVs."""
    args = train_args(__doc__, "hyper_mlp_digits-", epochs=DIGITS_EPOCHS,
                      epochs_help="epochs of the preset and the baseline",
                      out_preset="hyper_mlp_digits")
    work = args.work_dir
    command = run_command(
        keras.backend.backend(), "train_hyper_mlp_digits.py",
        f"--epochs {args.epochs}", f"--seed {args.seed}")
    _, metrics, _ = train_preset(
        "hyper_mlp_digits", os.path.join(work, "hyper"), args.out, command,
        epochs=args.epochs, seed=args.seed, verbose=2,
    )

    keras.utils.set_random_seed(args.seed)
    base_model, base_metrics, _ = train_digits(
        epochs=args.epochs,
        out_dir=os.path.join(work, "baseline"),
        seed=args.seed,
        verbose=2,
        baseline=True,
    )
    copy_train_log(os.path.join(work, "baseline"), "dense_mlp_digits")
    rows = []
    for name, model, m in [
        ("hyper_mlp_digits", zoo.load(args.out), metrics),
        ("dense_mlp_baseline", base_model, base_metrics),
    ]:
        params = int(sum(
            int(keras.ops.size(w)) for w in model.trainable_weights
        ))
        rows.append({
            "model": name,
            "dataset": "digits",
            "split": "test",
            "top1": round(100 * m["accuracy"], 2),
            "top1_err": round(100 * (1 - m["accuracy"]), 2),
            "loss": round(m["loss"], 4),
            "param_count": params,
            "epochs": args.epochs,
            "batch_size": DIGITS_BATCH_SIZE,
            "seed": args.seed,
            "backend": keras.backend.backend(),
            "precision": "float32",
            "command": command,
        })
    write_csv_atomic(os.path.join(RESULTS, "results-digits.csv"),
                     list(rows[0]), rows)
    for row in rows:
        print(f"{row['model']}: top1 {row['top1']}% "
              f"({row['param_count']} params)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
