"""Trains the bundled `hyper_crl_pendulum` preset.

Usage (what `make presets` runs):

    KERAS_BACKEND=jax python scripts/train_hyper_crl.py

Writes:
- `zoo/presets/hyper_crl_pendulum/` (the preset, atomically);
- `scripts/results/hyper_crl_pendulum-one-step-matrix.csv` (test one-step
  MSE on task j after training task i, as trained);
- `scripts/results/results-hyper-crl-preset.csv` (the metrics of
  `python -m zoo eval hyper_crl_pendulum`, computed on the saved preset
  after reloading it).
"""

import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.hyper_crl.hyper_crl_eval import evaluate_dynamics  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import BATCH_SIZE  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import BETA  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import EPOCHS_PER_TASK  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import PRESET_NAME  # noqa: E402
from zoo.training import train  # noqa: E402

COLUMNS = ("model", "dataset", "split", "one_step_mse", "open_loop_mse",
           "forgetting_one_step", "forgetting_open_loop", "mpc_return",
           "compression_ratio", "param_count", "target_param_count",
           "num_tasks", "epochs_per_task", "batch_size", "beta", "seed",
           "backend", "precision", "cpu", "command")


def main():
    """Trains the preset, evaluates the saved copy, writes the CSVs."""
    args = train_args(__doc__, "hyper_crl-", epochs=EPOCHS_PER_TASK,
                      epochs_help="epochs per task", out_preset=PRESET_NAME)
    command = run_command(keras.backend.backend(), "train_hyper_crl.py",
                          f"--epochs {args.epochs}", f"--seed {args.seed}")
    train(PRESET_NAME, args.work_dir, epochs=args.epochs, seed=args.seed,
          verbose=1, overwrite=True, training_command=command,
          preset_dir=args.out)
    shutil.copyfile(
        os.path.join(args.work_dir, "one_step_matrix.csv"),
        os.path.join(RESULTS, f"{PRESET_NAME}-one-step-matrix.csv"),
    )
    model = zoo.load(args.out)
    m = evaluate_dynamics(model, "test")
    row = dict(
        model=PRESET_NAME, dataset="pendulum_variants", split="test",
        one_step_mse=round(m["one_step_mse"], 6),
        open_loop_mse=round(m["open_loop_mse"], 6),
        forgetting_one_step=round(m["forgetting_one_step"], 6),
        forgetting_open_loop=round(m["forgetting_open_loop"], 6),
        mpc_return=round(m["mpc_return"], 2),
        compression_ratio=round(m.get("compression_ratio",
                                      model.compression_ratio), 4),
        param_count=int(sum(int(keras.ops.size(w))
                            for w in model.trainable_weights)),
        target_param_count=model.backbone.num_target_params,
        num_tasks=m["num_tasks"], epochs_per_task=args.epochs,
        batch_size=BATCH_SIZE, beta=BETA, seed=args.seed,
        backend=keras.backend.backend(), precision="float32",
        cpu=cpu_model(), command=command,
    )
    write_csv_atomic(os.path.join(RESULTS, "results-hyper-crl-preset.csv"),
                     COLUMNS, [row])
    print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
