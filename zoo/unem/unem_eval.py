"""Evaluators of the UNEM and CAFA presets (`python -m zoo eval`)."""

import keras
import numpy as np

from zoo.unem import baselines
from zoo.unem import cafa
from zoo.unem.unem_presets import EVAL_NUM_TASKS
from zoo.unem.unem_presets import TEST_TASK_SEED
from zoo.unem.unem_presets import UNEM_SHOTS
from zoo.unem.unem_presets import VAL_TASK_SEED
from zoo.unem.unem_presets import gaussian_world


def predict_labels(model, batch, batch_size=250):
    """Predicted query labels of a UNEM classifier on an episode batch.

    Args:
        model: a `zoo.UNEMFewShotClassifier`.
        batch: episode batch dict (`support`, `support_labels`,
            `query`).
        batch_size: int. Tasks per call.

    Returns:
        `(B, Nq)` int numpy array.

    Example:

    ```python
    pred = zoo.unem.unem_eval.predict_labels(model, batch)
    ```
    """
    out = model.predict(batch, batch_size=batch_size, verbose=0)
    return np.asarray(keras.ops.convert_to_numpy(out)).argmax(-1)


def evaluate_unem(model, split="test", shots=UNEM_SHOTS,
                  num_tasks=EVAL_NUM_TASKS, world=None):
    """UNEM vs the fixed-lambda EM and inductive baselines, computed now.

    On `num_tasks` held-out tasks of `split` (fixed seed): the model's
    accuracy; the fixed-lambda EM (T = 1, 10 iterations) at the
    reference default lambda = 75 (`baselines.DEFAULT_LAMBDA`), at every
    lambda of `baselines.LAMBDA_GRID` (the best one is an oracle choice
    on these very tasks), and at the lambda that is best on meta-val
    tasks; nearest prototype and the inductive softmax head.

    Args:
        model: a UNEM classifier for the world's tasks.
        split: str. `"test"` (meta-test classes) or `"val"`.
        shots: int. Support samples per class.
        num_tasks: int. Tasks.
        world: the episode world; `gaussian_world()` by default.

    Returns:
        dict with `accuracy`, `accuracy_default_lambda`,
        `accuracy_best_fixed_lambda`, `best_fixed_lambda`,
        `accuracy_val_selected_lambda`, `val_selected_lambda`,
        `accuracy_nearest_prototype`, `accuracy_inductive_softmax`,
        `num_tasks`, `shots`.

    Example:

    ```python
    zoo.unem.unem_eval.evaluate_unem(zoo.load("unem_gaussian_5shot"))
    ```
    """
    world = world or gaussian_world()
    seed = TEST_TASK_SEED if split == "test" else VAL_TASK_SEED
    k = world.split_classes(split)
    batch, yq = world.episodes(split, num_tasks, shots, seed=seed)
    curve = baselines.lambda_curve(batch, yq, k)
    best_lam, best_acc = max(curve, key=lambda p: p[1])
    vbatch, vyq = world.episodes("val", num_tasks, shots,
                                 seed=VAL_TASK_SEED)
    vcurve = baselines.lambda_curve(vbatch, vyq, world.split_classes("val"))
    val_lam = max(vcurve, key=lambda p: p[1])[0]
    acc = baselines.accuracy
    return {
        "accuracy": acc(predict_labels(model, batch), yq),
        "accuracy_default_lambda": acc(baselines.fixed_lambda_em(
            batch, k, baselines.DEFAULT_LAMBDA), yq),
        "default_lambda": baselines.DEFAULT_LAMBDA,
        "accuracy_best_fixed_lambda": best_acc,
        "best_fixed_lambda": best_lam,
        "accuracy_val_selected_lambda": dict(curve)[val_lam],
        "val_selected_lambda": val_lam,
        "accuracy_nearest_prototype": acc(
            baselines.nearest_prototype(batch, k), yq),
        "accuracy_inductive_softmax": acc(
            baselines.inductive_softmax(batch, k), yq),
        "num_tasks": num_tasks,
        "shots": shots,
    }


def evaluate_unem_gaussian_5shot(model, split="test"):
    """Evaluator of the `unem_gaussian_5shot` preset (`zoo eval`).

    Args:
        model: the preset's model.
        split: str. `"test"` or `"val"`.

    Returns:
        The dict of `evaluate_unem` with 5 shots.

    Example:

    ```python
    evaluate_unem_gaussian_5shot(zoo.load("unem_gaussian_5shot"))
    ```
    """
    return evaluate_unem(model, split, shots=5)


def evaluate_cafa_encoder(model, split="test"):
    """Evaluator of the `cafa_digits_encoder` preset (`python -m zoo eval`).

    Args:
        model: the digits classifier.
        split: str. Digits split.

    Returns:
        dict: `accuracy` (clean), and `accuracy_<shift>_<method>` for
        every shift and method of `zoo.unem.cafa.evaluate_shifts`.

    Example:

    ```python
    evaluate_cafa_encoder(zoo.load("cafa_digits_encoder"))
    ```
    """
    out = {}
    for row in cafa.evaluate_shifts(model, split):
        if row["shift"] == "clean":
            out["accuracy"] = row["accuracy"]
        else:
            out[f"accuracy_{row['shift']}_{row['method']}"] = row["accuracy"]
    return out
