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

import argparse
import csv
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from zoo.hyper_mlp import hyper_mlp_recipes  # noqa: E402
from zoo.training import train  # noqa: E402

RESULTS = os.path.join(ROOT, "scripts", "results")


def _write_csv_atomic(path: str, rows: list[dict]) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def main() -> int:
    """Trains the preset and the baseline, writes the CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int,
                        default=hyper_mlp_recipes.DIGITS_EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(
        ROOT, "zoo", "presets", "hyper_mlp_digits"))
    parser.add_argument("--work-dir", default=None,
                        help="run directory (default: a temp dir)")
    args = parser.parse_args()
    work = args.work_dir or tempfile.mkdtemp(prefix="hyper_mlp_digits-")
    command = (
        f"KERAS_BACKEND={keras.backend.backend()} python "
        f"scripts/train_hyper_mlp_digits.py --epochs {args.epochs} "
        f"--seed {args.seed}"
    )
    _, metrics = train(
        "hyper_mlp_digits",
        os.path.join(work, "hyper"),
        epochs=args.epochs,
        seed=args.seed,
        verbose=2,
        overwrite=True,
        training_command=command,
        preset_dir=args.out,
    )
    shutil.copyfile(
        os.path.join(work, "hyper", "log.csv"),
        os.path.join(RESULTS, "hyper_mlp_digits-train-log.csv"),
    )

    keras.utils.set_random_seed(args.seed)
    base_model, base_metrics, _ = hyper_mlp_recipes.train_digits(
        epochs=args.epochs,
        out_dir=os.path.join(work, "baseline"),
        seed=args.seed,
        verbose=2,
        baseline=True,
    )
    shutil.copyfile(
        os.path.join(work, "baseline", "log.csv"),
        os.path.join(RESULTS, "dense_mlp_digits-train-log.csv"),
    )
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
            "batch_size": hyper_mlp_recipes.DIGITS_BATCH_SIZE,
            "seed": args.seed,
            "backend": keras.backend.backend(),
            "precision": "float32",
            "command": command,
        })
    os.makedirs(RESULTS, exist_ok=True)
    _write_csv_atomic(os.path.join(RESULTS, "results-digits.csv"), rows)
    for row in rows:
        print(f"{row['model']}: top1 {row['top1']}% "
              f"({row['param_count']} params)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
