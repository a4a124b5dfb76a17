"""Training recipe of the `hyper_crl_pendulum` preset."""

import os

import numpy as np

from zoo.hyper_crl import envs
from zoo.hyper_crl.continual import forgetting
from zoo.hyper_crl.continual import train_hypernet_sequence
from zoo.hyper_crl.hyper_crl_eval import evaluate_dynamics
from zoo.hyper_crl.hyper_crl_presets import BATCH_SIZE
from zoo.hyper_crl.hyper_crl_presets import BETA
from zoo.hyper_crl.hyper_crl_presets import ENV_NAME
from zoo.hyper_crl.hyper_crl_presets import EPOCHS_PER_TASK
from zoo.hyper_crl.hyper_crl_presets import LEARNING_RATE
from zoo.hyper_crl.hyper_crl_presets import NUM_TRAIN
from zoo.hyper_crl.hyper_crl_presets import build_dynamics_model
from zoo.hyper_crl.hyper_crl_presets import load_streams


def _save_matrix(matrix, out_dir, name):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    np.savetxt(path + ".tmp", matrix, delimiter=",", fmt="%.6g")
    os.replace(path + ".tmp", path)


def train_pendulum(epochs=None, out_dir="runs/hyper_crl", seed=0,
                   verbose=1):
    """Trains `hyper_crl_pendulum`: 5 pendulum variants in sequence.

    Per task: `start_task`, then Adam 1e-3, batch 64, `epochs` epochs
    (40 by default) on 3000 random transitions (uniform states and
    torques) of that task, output regulariser beta 0.05. Writes the
    one-step error matrix `E[i, j]` (test MSE on task j after task i) to
    `out_dir/one_step_matrix.csv` and the 20-step one to
    `out_dir/open_loop_matrix.csv`.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs` counts epochs per task.

    Example:

    ```python
    zoo.training.train("hyper_crl_pendulum", "runs/crl")
    ```
    """
    epochs = EPOCHS_PER_TASK if epochs is None else int(epochs)
    model = build_dynamics_model(ENV_NAME, seed=seed)
    train_tasks, test_tasks, rollouts = load_streams(ENV_NAME)

    def report(t, row):
        print(f"task {t}: " + " ".join(f"{e:.4f}" for e in row[:t + 1]),
              flush=True)

    one, multi = train_hypernet_sequence(
        model, train_tasks, test_tasks, rollouts, epochs,
        batch_size=BATCH_SIZE, seed=seed, verbose=0 if verbose < 2 else 2,
        on_task_end=report if verbose else None)
    _save_matrix(one, out_dir, "one_step_matrix.csv")
    _save_matrix(multi, out_dir, "open_loop_matrix.csv")
    metrics = evaluate_dynamics(model, "test", ENV_NAME)
    metrics["matrix_forgetting_one_step"] = forgetting(one)
    metrics["matrix_forgetting_open_loop"] = forgetting(multi)
    metadata = {
        "description": (
            "Continual model-based RL dynamics (HyperCRL): a "
            "task-conditioned hypernetwork generates every weight of a "
            "4-32-32-3 tanh MLP predicting the normalised state change "
            "of a torque-limited pendulum, learned on 5 variants (mass, "
            "length, gravity) in sequence with the output regulariser."
        ),
        "dataset": "pendulum_variants",
        "split": {
            "train": f"{NUM_TRAIN} random transitions per task",
            "test": "1000 random transitions and 100 random-action "
                    "20-step trajectories per task",
            "tasks": [dict(t) for t in envs.PENDULUM_TASKS],
        },
        "epochs_per_task": epochs,
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam({LEARNING_RATE})",
        "beta": BETA,
        "input_kind": "pendulum_transition",
        "input_spec": "{'state': float32 (batch, 3) [cos th, sin th, "
                      "thdot], 'action': float32 (batch, 1) torque, "
                      "'task_id': int32 (batch,)}; output: normalised "
                      "state change (HyperCRLBackbone.next_state)",
        "pipeline_tag": "other",
        "license": "apache-2.0",
        "references": [
            "Huang, Xie, Shkurti, 2021. Continual Model-Based "
            "Reinforcement Learning with Hypernetworks. ICRA 2021. "
            "arXiv:2009.11997",
            "von Oswald et al., 2020. Continual learning with "
            "hypernetworks. ICLR 2020. arXiv:1906.00695",
        ],
    }
    return model, metrics, metadata
