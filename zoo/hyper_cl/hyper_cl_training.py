"""Training recipe of the `hyper_cl_permuted_digits` preset."""

import os

import numpy as np

from zoo.data import DIGITS_CLASS_NAMES
from zoo.data.continual_digits import PERMUTATION_SEED
from zoo.data.continual_digits import make_tasks
from zoo.hyper_cl.continual import cl_metrics
from zoo.hyper_cl.continual import train_hypernet_continual
from zoo.hyper_cl.hyper_cl_eval import evaluate_permuted_digits
from zoo.hyper_cl.hyper_cl_presets import CL_BATCH_SIZE
from zoo.hyper_cl.hyper_cl_presets import CL_BETA
from zoo.hyper_cl.hyper_cl_presets import CL_EPOCHS_PER_TASK
from zoo.hyper_cl.hyper_cl_presets import CL_LEARNING_RATE
from zoo.hyper_cl.hyper_cl_presets import CL_OOD_WEIGHT
from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier


def _print_row(task_id, row):
    # The accuracies on the tasks learned so far, after task `task_id`.
    learned = " ".join(f"{a:.3f}" for a in row[:task_id + 1])
    print(f"task {task_id}: {learned}", flush=True)


def _save_matrix(matrix, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "accuracy_matrix.csv")
    tmp = path + ".tmp"
    np.savetxt(tmp, matrix, delimiter=",", fmt="%.6f")
    os.replace(tmp, path)


def train_permuted_digits(epochs=None, out_dir="runs/hyper_cl", seed=0,
                          verbose=1, architecture="chunked"):
    """Trains `hyper_cl_permuted_digits`: 10 permuted-digits tasks in turn.

    Per task: `start_task`, then Adam 1e-3, batch 32, `epochs` epochs
    (20 by default) on the 1077 training images under that task's
    permutation, output regulariser beta 0.01, and the replay-free
    outlier term (`HyperCLClassifier(ood_weight=CL_OOD_WEIGHT)`: the
    current batch with shuffled pixels pushed to a uniform prediction,
    so that lowest-entropy task inference works). Writes the accuracy
    matrix `R[i, j]` (test accuracy on task j after task i) to
    `out_dir/accuracy_matrix.csv`.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs` counts epochs per task.
        architecture: a key of `hyper_cl_presets.CL_HYPERNETS`.

    Example:

    ```python
    zoo.training.train("hyper_cl_permuted_digits", "runs/cl")
    ```
    """
    epochs = CL_EPOCHS_PER_TASK if epochs is None else int(epochs)
    model = build_cl_classifier("permuted", architecture, seed=seed,
                                ood_weight=CL_OOD_WEIGHT)
    matrix = train_hypernet_continual(
        model, make_tasks("permuted", "train"), make_tasks("permuted", "test"),
        epochs, batch_size=CL_BATCH_SIZE, seed=seed,
        verbose=0 if verbose < 2 else 2,
        on_task_end=_print_row if verbose else None,
    )
    _save_matrix(matrix, out_dir)
    metrics = evaluate_permuted_digits(model, "test")
    metrics.update({f"matrix_{k}": v for k, v in cl_metrics(matrix).items()})
    metadata = {
        "description": (
            "Continual learning on 10 permuted-digits tasks: a chunked "
            "task-conditioned hypernetwork generates every weight of a "
            "64-100-100-10 MLP per task, with von Oswald et al.'s output "
            "regulariser and a replay-free outlier term (the current "
            "batch with shuffled pixels is pushed to a uniform "
            "prediction) for lowest-entropy task inference."
        ),
        "dataset": "permuted_digits",
        "split": {
            "train": "train (1077) per task",
            "test": "test (540) per task",
            "tasks": "task 0 identity, task t permutation "
                     f"RandomState({PERMUTATION_SEED} + t)",
        },
        "epochs_per_task": epochs,
        "batch_size": CL_BATCH_SIZE,
        "optimizer": f"InplaceAdam({CL_LEARNING_RATE}) (Keras Adam maths)",
        "beta": CL_BETA,
        "ood_weight": CL_OOD_WEIGHT,
        "architecture": architecture,
        "label_names": list(DIGITS_CLASS_NAMES),
        "input_kind": "digits_8x8_task",
        "input_spec": "{'features': float32 (batch, 64) digit permuted by "
                      "the task's permutation, 'task_id': int32 (batch,)}",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "von Oswald et al., 2020. Continual learning with "
            "hypernetworks. ICLR 2020. arXiv:1906.00695",
            "Chandra et al., 2023. Continual Learning with Dependency "
            "Preserving Hypernetworks. WACV 2023. arXiv:2209.07712",
        ],
    }
    return model, metrics, metadata
