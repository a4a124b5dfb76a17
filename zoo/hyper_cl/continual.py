"""Continual-learning benchmarks on digits: task streams, loops, metrics.

Protocol (fixed here, used by the recipe, the evaluator, the benchmark and
the demo):
- Permuted digits: 10 tasks; task 0 is the plain 8x8 digits, task t > 0
  applies the pixel permutation `RandomState(PERMUTATION_SEED + t)` to the
  64 features; labels are the digits 0-9 in every task.
- Split digits: 5 tasks with the classes {0, 1}, {2, 3}, ..., {8, 9};
  local labels 0/1 (global label = 2 t + local).
- Splits of `zoo.data.load_digits`: train on `"train"` (1077), report on
  `"test"` (540), the same images in every task.
- Metrics over the accuracy matrix `R[i, j]` (accuracy on task j after
  training task i): average accuracy = mean_j R[T-1, j]; forgetting =
  mean_{j < T-1} (R[j, j] - R[T-1, j]) (the negative backward transfer
  of Lopez-Paz & Ranzato, 2017: accuracy right after learning a task
  minus accuracy at the end).
"""

import numpy as np

from zoo.data import load_digits

PERMUTATION_SEED = 1000
NUM_PERMUTED_TASKS = 10
NUM_SPLIT_TASKS = 5
SPLIT_TASK_LABELS = [[2 * t, 2 * t + 1] for t in range(NUM_SPLIT_TASKS)]
SCENARIOS = ("permuted", "split")


def task_permutation(task_id):
    """The pixel permutation of permuted-digits task `task_id`.

    Args:
        task_id: int >= 0. Task 0 is the identity.

    Returns:
        An int array `(64,)`.

    Example:

    ```python
    zoo.hyper_cl.continual.task_permutation(3)[:5]
    ```
    """
    if int(task_id) < 0:
        raise ValueError(f"`task_id` must be >= 0. Received: {task_id!r}")
    if int(task_id) == 0:
        return np.arange(64)
    return np.random.RandomState(PERMUTATION_SEED + int(task_id)).permutation(
        64
    )


def permute_features(x, task_id):
    """Applies task `task_id`'s permutation to features `(n, 64)`.

    Args:
        x: array `(n, 64)` (or `(64,)`).
        task_id: int.

    Returns:
        The permuted float32 array, same shape.
    """
    x = np.asarray(x, "float32")
    return x[..., task_permutation(task_id)]


def make_tasks(scenario, split="train", num_tasks=None):
    """The task stream of a scenario.

    Args:
        scenario: `"permuted"` or `"split"`.
        split: a `zoo.data.load_digits` split.
        num_tasks: int or `None` (all tasks of the scenario).

    Returns:
        A list of `(x, y)`, one per task: features `(n, 64)` in [0, 1]
        and local int32 labels.

    Example:

    ```python
    tasks = zoo.hyper_cl.continual.make_tasks("split", "test")
    len(tasks)  # 5
    ```
    """
    if scenario not in SCENARIOS:
        raise ValueError(
            f"`scenario` must be one of {SCENARIOS}. "
            f"Received: scenario={scenario!r}"
        )
    x, y = load_digits(split)
    total = NUM_PERMUTED_TASKS if scenario == "permuted" else NUM_SPLIT_TASKS
    num_tasks = total if num_tasks is None else int(num_tasks)
    if not 1 <= num_tasks <= total:
        raise ValueError(
            f"`num_tasks` must be in [1, {total}] for {scenario!r}. "
            f"Received: num_tasks={num_tasks!r}"
        )
    tasks = []
    for t in range(num_tasks):
        if scenario == "permuted":
            tasks.append((permute_features(x, t), y.astype("int32")))
        else:
            keep = (y == 2 * t) | (y == 2 * t + 1)
            tasks.append((x[keep], (y[keep] - 2 * t).astype("int32")))
    return tasks


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


def class_incremental_accuracy(model, eval_tasks, task_labels=None):
    """Accuracy when the task is unknown (inferred by lowest entropy).

    Args:
        model: a trained `zoo.HyperCLClassifier`.
        eval_tasks: list of `(x, y_local)`.
        task_labels: per-task global labels of the local classes, or
            `None` (local labels are global).

    Returns:
        A dict: `accuracy` (global label correct) and `task_accuracy`
        (inferred task correct), over all evaluation samples.
    """
    correct, task_correct, total = 0, 0, 0
    for t, (x, y) in enumerate(eval_tasks):
        task_ids, labels = model.infer_task(x, num_tasks=len(eval_tasks))
        truth = y if task_labels is None else np.asarray(task_labels[t])[y]
        correct += int(np.sum(labels == truth))
        task_correct += int(np.sum(task_ids == t))
        total += len(y)
    return {"accuracy": correct / total, "task_accuracy": task_correct / total}
