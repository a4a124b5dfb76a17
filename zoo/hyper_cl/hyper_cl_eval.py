"""Evaluation of the `hyper_cl_permuted_digits` preset."""

import numpy as np

from zoo.data.continual_digits import make_tasks
from zoo.hyper_cl.continual import class_incremental_accuracy


def evaluate_permuted_digits(model, split="test"):
    """Continual-learning metrics of a permuted-digits model, computed now.

    Average accuracy uses the weights the hypernetwork generates now for
    each task. Forgetting compares them with the weights stored for each
    task when the next one began (`HyperCLClassifier.stored_weights`,
    i.e. right after it was learned): mean over all but the last task of
    (accuracy then - accuracy now). Class-incremental accuracy infers the
    task by lowest predictive entropy.

    Args:
        model: a trained `HyperCLClassifier` (10 permuted tasks).
        split: a digits split.

    Returns:
        A dict with `average_accuracy`, `forgetting`,
        `compression_ratio`, `class_incremental_accuracy`,
        `task_inference_accuracy`, `accuracy_per_task` (list),
        `num_tasks` and `num_examples`.

    Example:

    ```python
    from zoo.hyper_cl.hyper_cl_eval import evaluate_permuted_digits
    evaluate_permuted_digits(zoo.load("hyper_cl_permuted_digits"))
    ```
    """
    n = model.backbone.num_tasks
    tasks = make_tasks("permuted", split, n)
    final, then = [], []
    stored = set(model.regularizer.stored_tasks())
    for t, (x, y) in enumerate(tasks):
        final.append(float(np.mean(model.predict_task(x, t).argmax(1) == y)))
        if t < n - 1:
            if t not in stored:
                raise ValueError(
                    f"The model holds no stored weights for task {t}; "
                    "was it trained on all tasks with start_task()?"
                )
            weights = model.stored_weights(t)
            then.append(float(np.mean(
                model.predict_task(x, t, weights=weights).argmax(1) == y)))
    ci = class_incremental_accuracy(model, tasks)
    return {
        "average_accuracy": float(np.mean(final)),
        "forgetting": float(np.mean(np.subtract(then, final[:-1])))
        if then else 0.0,
        "compression_ratio": float(model.compression_ratio),
        "class_incremental_accuracy": ci["accuracy"],
        "task_inference_accuracy": ci["task_accuracy"],
        "accuracy_per_task": final,
        "num_tasks": n,
        "num_examples": int(sum(len(y) for _, y in tasks)),
    }
