"""Continual-learning task streams on the 8x8 digits (numpy only).

Protocol (fixed here, used by the HyperCL recipe, evaluator, benchmark
and demo):
- Permuted digits: 10 tasks; task 0 is the plain 8x8 digits, task t > 0
  applies the pixel permutation `RandomState(PERMUTATION_SEED + t)` to the
  64 features; labels are the digits 0-9 in every task.
- Split digits: 5 tasks with the classes {0, 1}, {2, 3}, ..., {8, 9};
  local labels 0/1 (global label = 2 t + local).
- Splits of `zoo.data.load_digits`: train on `"train"` (1077), report on
  `"test"` (540), the same images in every task.
"""

import numpy as np

from zoo.data.digits import load_digits

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
    zoo.data.continual_digits.task_permutation(3)[:5]
    ```

    Reference:
    - [Goodfellow et al., 2013](https://arxiv.org/abs/1312.6211), "An
      Empirical Investigation of Catastrophic Forgetting in
      Gradient-Based Neural Networks" (permuted MNIST).
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

    Example:

    ```python
    x, _ = zoo.data.load_digits("test")
    zoo.data.continual_digits.permute_features(x, 3).shape  # (540, 64)
    ```

    Reference:
    - [Goodfellow et al., 2013](https://arxiv.org/abs/1312.6211), "An
      Empirical Investigation of Catastrophic Forgetting in
      Gradient-Based Neural Networks" (permuted MNIST).
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
    tasks = zoo.data.continual_digits.make_tasks("split", "test")
    len(tasks)  # 5
    ```

    Reference:
    - [van de Ven & Tolias, 2019](https://arxiv.org/abs/1904.07734),
      "Three scenarios for continual learning" (split and permuted
      MNIST).
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
