"""Continual-learning loops and metrics of the HyperCL family.

The task streams (permuted and split digits, the protocol) are in
`zoo.data.continual_digits`; they are re-exported here
(`continual.make_tasks`, ...) for the code written against this module.

Metrics over the accuracy matrix `R[i, j]` (accuracy on task j after
training task i): average accuracy = mean_j R[T-1, j]; forgetting =
mean_{j < T-1} (R[j, j] - R[T-1, j]) (the negative backward transfer of
Lopez-Paz & Ranzato, 2017: accuracy right after learning a task minus
accuracy at the end).
"""

import numpy as np

from zoo.data.continual_digits import NUM_PERMUTED_TASKS
from zoo.data.continual_digits import NUM_SPLIT_TASKS
from zoo.data.continual_digits import PERMUTATION_SEED
from zoo.data.continual_digits import SCENARIOS
from zoo.data.continual_digits import SPLIT_TASK_LABELS
from zoo.data.continual_digits import make_tasks
from zoo.data.continual_digits import permute_features
from zoo.data.continual_digits import task_permutation

__all__ = [
    "NUM_PERMUTED_TASKS",
    "NUM_SPLIT_TASKS",
    "PERMUTATION_SEED",
    "SCENARIOS",
    "SPLIT_TASK_LABELS",
    "class_incremental_accuracy",
    "cl_metrics",
    "make_tasks",
    "permute_features",
    "task_permutation",
    "train_hypernet_continual",
]


def cl_metrics(matrix):
    """Average accuracy and forgetting of an accuracy matrix.

    Args:
        matrix: array `(T, T)`, `R[i, j]` = accuracy on task j after
            training task i (entries j > i are not used).

    Returns:
        A dict with `average_accuracy` and `forgetting` (floats).

    Example:

    ```python
    zoo.hyper_cl.continual.cl_metrics(np.array([[1.0, 0.0], [0.8, 0.9]]))
    # {'average_accuracy': 0.85, 'forgetting': 0.2}
    ```
    """
    r = np.asarray(matrix, "float64")
    if r.ndim != 2 or r.shape[0] != r.shape[1] or r.shape[0] < 1:
        raise ValueError(
            f"`matrix` must be square (T, T). Received shape {r.shape}"
        )
    t = r.shape[0]
    forgetting = (
        float(np.mean([r[j, j] - r[t - 1, j] for j in range(t - 1)]))
        if t > 1 else 0.0
    )
    return {"average_accuracy": float(np.mean(r[t - 1])),
            "forgetting": forgetting}


def train_hypernet_continual(model, train_tasks, eval_tasks, epochs,
                             batch_size=32, seed=0, verbose=0,
                             on_task_end=None):
    """Trains a `HyperCLClassifier` on a task stream (task-incremental).

    For each task t: `model.start_task(t)` stores the targets of tasks
    < t, then `fit` on task t's data with task id t. After each task, the
    accuracy on every task's evaluation data is recorded.

    Args:
        model: a compiled `zoo.HyperCLClassifier`.
        train_tasks: list of `(x, y)`.
        eval_tasks: list of `(x, y)`, same length.
        epochs: int. Epochs per task.
        batch_size: int.
        seed: int. Shuffling seed (numpy; Keras shuffles per epoch).
        verbose: int. Keras verbosity.
        on_task_end: optional callable `(task_id, matrix_row)`.

    Returns:
        The accuracy matrix `R` `(T, T)` (`R[i, j]` for all j, including
        tasks not learned yet).

    Example:

    ```python
    from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier
    model = build_cl_classifier("permuted")
    matrix = train_hypernet_continual(
        model, make_tasks("permuted", "train", 2),
        make_tasks("permuted", "test", 2), epochs=1)
    ```
    """
    import keras

    keras.utils.set_random_seed(seed)
    n = len(train_tasks)
    matrix = np.zeros((n, n))
    for t, (x, y) in enumerate(train_tasks):
        model.start_task(t)
        ids = np.full(len(x), t, "int32")
        model.fit({"features": x, "task_id": ids}, y, epochs=epochs,
                  batch_size=batch_size, shuffle=True, verbose=verbose)
        for j, (xe, ye) in enumerate(eval_tasks):
            pred = model.predict_task(xe, j).argmax(1)
            matrix[t, j] = float(np.mean(pred == ye))
        if on_task_end is not None:
            on_task_end(t, matrix[t].copy())
    return matrix


def class_incremental_accuracy(model, eval_tasks, task_labels=None,
                               score="entropy", temperature=1.0):
    """Accuracy when the task is unknown (inferred by lowest entropy).

    Args:
        model: a trained `zoo.HyperCLClassifier`.
        eval_tasks: list of `(x, y_local)`.
        task_labels: per-task global labels of the local classes, or
            `None` (local labels are global).
        score: the task-inference score of
            `HyperCLClassifier.infer_task` (`"entropy"` by default).
        temperature: float. Logit temperature of `infer_task`.

    Returns:
        A dict: `accuracy` (global label correct) and `task_accuracy`
        (inferred task correct), over all evaluation samples.

    Example:

    ```python
    model = zoo.load("hyper_cl_permuted_digits")
    class_incremental_accuracy(model, make_tasks("permuted", "test"))
    ```
    """
    correct, task_correct, total = 0, 0, 0
    for t, (x, y) in enumerate(eval_tasks):
        task_ids, labels = model.infer_task(x, num_tasks=len(eval_tasks),
                                            score=score,
                                            temperature=temperature)
        truth = y if task_labels is None else np.asarray(task_labels[t])[y]
        correct += int(np.sum(labels == truth))
        task_correct += int(np.sum(task_ids == t))
        total += len(y)
    return {"accuracy": correct / total, "task_accuracy": task_correct / total}
