"""Chooses the Terminator's batch-independent statistics on validation.

The reference standardises with batch statistics at inference, which
makes a prediction depend on its batch. Two batch-independent schemes are
compared with the MNIST-1D preset's recipe (architecture, optimizer,
epochs), trained on the train split (3500) and scored on the validation
split (500), never on test:

- `sample`: per-sample statistics everywhere (group/instance
  normalisation, per-sample local-kernel contexts);
- `running`: batch statistics in training, moving averages at inference;

and, for reference, the reference's batch-dependent `batch` statistics
(`--statistics batch`), whose batch-1 figure shows the problem.

Usage:

    KERAS_BACKEND=jax python scripts/select_terminator_statistics.py

Writes `scripts/results/terminator-statistics-selection.csv`: validation
accuracy at batch 1 and batch 100 per scheme and seed (rows of schemes not
rerun are kept).
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.terminator.terminator_eval import evaluate_split  # noqa: E402
from zoo.terminator.terminator_presets import build_terminator  # noqa: E402
from zoo.terminator.terminator_presets import load_data  # noqa: E402
from zoo.terminator.terminator_presets import preset_config  # noqa: E402

CSV = os.path.join(RESULTS, "terminator-statistics-selection.csv")
FIELDS = ("preset", "statistics", "seed", "epochs", "val_top1_batch1",
          "val_top1_batch100", "param_count", "sec_per_epoch", "backend",
          "precision", "machine", "command")


def run(preset, statistics, seed, epochs):
    """Trains one scheme on the train split and scores it on validation.

    Args:
        preset: str. A Terminator preset name (its recipe is used).
        statistics: str. `"sample"` or `"running"`.
        seed: int. Initialiser and shuffling seed.
        epochs: int or `None` (the preset's budget).

    Returns:
        A CSV row (dict).
    """
    cfg = preset_config(preset)
    epochs = epochs or cfg["epochs"]
    x, y = load_data(cfg["dataset"], "train", cfg["shuffled"])
    keras.utils.set_random_seed(seed)
    model = build_terminator(
        preset, seed=seed, num_train=len(y), statistics=statistics,
        epochs=epochs,
    )
    start = time.time()
    model.fit(x, y, batch_size=cfg["batch_size"], epochs=epochs,
              shuffle=True, verbose=0)
    seconds = time.time() - start
    val = evaluate_split(model, cfg["dataset"], cfg["shuffled"], "val")
    return {
        "preset": preset, "statistics": statistics, "seed": seed,
        "epochs": epochs,
        "val_top1_batch1": round(100 * val["accuracy"], 2),
        "val_top1_batch100": round(100 * val["accuracy_batch100"], 2),
        "param_count": model.count_params(),
        "sec_per_epoch": round(seconds / epochs, 2),
        "backend": keras.backend.backend(), "precision": "float32",
        "machine": cpu_model(),
        "command": " ".join(
            [f"KERAS_BACKEND={keras.backend.backend()}", "python"]
            + sys.argv
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="terminator_1d_mnist1d")
    parser.add_argument("--statistics", nargs="*",
                        default=["sample", "running"],
                        choices=["sample", "running", "batch"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    for statistics in args.statistics:
        row = run(args.preset, statistics, args.seed, args.epochs)
        print(row, flush=True)
        rows = [r for r in read_csv_rows(CSV) if (
            r["preset"], r["statistics"], str(r["seed"])) != (
            args.preset, statistics, str(args.seed))]
        rows.append(row)
        write_csv_atomic(CSV, FIELDS, rows)


if __name__ == "__main__":
    main()
