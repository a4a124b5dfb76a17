"""Trains the bundled `hyper_cl_permuted_digits` preset.

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_hyper_cl.py

Writes:
- `zoo/presets/hyper_cl_permuted_digits/` (the preset, atomically);
- `scripts/results/hyper_cl_permuted_digits-accuracy-matrix.csv` (test
  accuracy on task j after training task i, as trained);
- `scripts/results/results-hyper-cl-preset.csv` (the metrics of
  `python -m zoo eval hyper_cl_permuted_digits`, computed on the saved
  preset after reloading it).
"""

import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.hyper_cl.hyper_cl_eval import evaluate_permuted_digits  # noqa: E402
from zoo.hyper_cl.hyper_cl_presets import CL_BATCH_SIZE  # noqa: E402
from zoo.hyper_cl.hyper_cl_presets import CL_EPOCHS_PER_TASK  # noqa: E402
from zoo.hyper_cl.hyper_cl_presets import CL_OOD_WEIGHT  # noqa: E402
from zoo.training import train  # noqa: E402

COLUMNS = ("model", "dataset", "split", "average_accuracy", "forgetting",
           "compression_ratio", "class_incremental_accuracy",
           "param_count", "target_param_count", "num_tasks",
           "epochs_per_task", "batch_size", "ood_weight", "seed", "backend",
           "precision", "command")


def main():
    """Trains the preset, evaluates the saved copy, writes the CSVs."""
    args = train_args(__doc__, "hyper_cl-", epochs=CL_EPOCHS_PER_TASK,
                      epochs_help="epochs per task",
                      out_preset="hyper_cl_permuted_digits")
    command = run_command(keras.backend.backend(), "train_hyper_cl.py",
                          f"--epochs {args.epochs}", f"--seed {args.seed}")
    train("hyper_cl_permuted_digits", args.work_dir, epochs=args.epochs,
          seed=args.seed, verbose=1, overwrite=True,
          training_command=command, preset_dir=args.out)
    shutil.copyfile(
        os.path.join(args.work_dir, "accuracy_matrix.csv"),
        os.path.join(RESULTS, "hyper_cl_permuted_digits-accuracy-matrix.csv"),
    )
    model = zoo.load(args.out)
    metrics = evaluate_permuted_digits(model, "test")
    row = dict(
        model="hyper_cl_permuted_digits", dataset="permuted_digits",
        split="test",
        average_accuracy=round(metrics["average_accuracy"], 4),
        forgetting=round(metrics["forgetting"], 4),
        compression_ratio=round(metrics["compression_ratio"], 4),
        class_incremental_accuracy=round(
            metrics["class_incremental_accuracy"], 4),
        param_count=int(sum(int(keras.ops.size(w))
                            for w in model.trainable_weights)),
        target_param_count=model.backbone.num_target_params,
        num_tasks=metrics["num_tasks"], epochs_per_task=args.epochs,
        batch_size=CL_BATCH_SIZE, ood_weight=CL_OOD_WEIGHT, seed=args.seed,
        backend=keras.backend.backend(), precision="float32",
        command=command,
    )
    write_csv_atomic(os.path.join(RESULTS, "results-hyper-cl-preset.csv"),
                     COLUMNS, [row])
    print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
