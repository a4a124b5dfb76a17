"""Training recipe and evaluator of the `hyper_cl_permuted_digits` preset."""

import os

import numpy as np

from zoo.data import DIGITS_CLASS_NAMES
from zoo.hyper_cl import continual
from zoo.hyper_cl.hyper_cl_backbone import HyperCLBackbone
from zoo.hyper_cl.hyper_cl_classifier import HyperCLClassifier
from zoo.optimizers import InplaceAdam
from zoo.training import register_recipe

CL_EPOCHS_PER_TASK = 20
CL_BATCH_SIZE = 32
CL_LEARNING_RATE = 1e-3
CL_BETA = 0.01
# Target 64-100-100-10 (17,610 generated scalars); the hypernetwork is
# von Oswald et al.'s ChunkedHMLP shape (task and chunk embeddings of 8,
# hidden 100-100).
CL_TARGET = dict(input_dim=64, hidden_dims=(100, 100), num_classes=10)
CL_HYPERNETS = {
    "chunked": dict(architecture="chunked", chunk_size=1000,
                    hidden_units=(100, 100), chunk_embedding_dim=8),
    "recurrent": dict(architecture="recurrent", chunk_size=1000,
                      hidden_units=(), chunk_embedding_dim=8,
                      recurrent_units=80),
    "mlp": dict(architecture="mlp", hidden_units=(100, 100)),
    # Compressive regime: fewer hypernetwork than target parameters.
    "chunked_small": dict(architecture="chunked", chunk_size=150,
                          hidden_units=(40, 40), chunk_embedding_dim=16),
}


def build_cl_classifier(scenario="permuted", architecture="chunked",
                        seed=0, beta=CL_BETA, **overrides):
    """An untrained, compiled continual-learning classifier for digits.

    Args:
        scenario: `"permuted"` (10 tasks, 10 classes each) or `"split"`
            (5 tasks of 2 classes).
        architecture: a key of `CL_HYPERNETS` (`"chunked"`,
            `"chunked_small"`, `"recurrent"` or `"mlp"`).
        seed: int.
        beta: float. Output-regulariser strength.
        **overrides: backbone arguments replacing the defaults.

    Returns:
        A compiled `HyperCLClassifier`.

    Example:

    ```python
    model = zoo.hyper_cl.hyper_cl_recipes.build_cl_classifier("split")
    ```
    """
    if architecture not in CL_HYPERNETS:
        raise ValueError(
            f"`architecture` must be one of {sorted(CL_HYPERNETS)}. "
            f"Received: architecture={architecture!r}"
        )
    permuted = scenario == "permuted"
    config = dict(CL_TARGET, **CL_HYPERNETS[architecture])
    config.update(
        num_classes=10 if permuted else 2,
        num_tasks=(continual.NUM_PERMUTED_TASKS if permuted
                   else continual.NUM_SPLIT_TASKS),
    )
    config.update(overrides)
    backbone = HyperCLBackbone(seed=seed, **config)
    model = HyperCLClassifier(
        backbone, beta=beta,
        task_labels=None if permuted else continual.SPLIT_TASK_LABELS,
    )
    model.compile(optimizer=InplaceAdam(CL_LEARNING_RATE))
    return model


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
        `task_inference_accuracy`, `accuracy_per_task` (list) and
        `num_tasks`.

    Example:

    ```python
    from zoo.hyper_cl.hyper_cl_recipes import evaluate_permuted_digits
    evaluate_permuted_digits(zoo.load("hyper_cl_permuted_digits"))
    ```
    """
    n = model.backbone.num_tasks
    tasks = continual.make_tasks("permuted", split, n)
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
    ci = continual.class_incremental_accuracy(model, tasks)
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


def train_permuted_digits(epochs=None, out_dir="runs/hyper_cl",
                          precision="float32", seed=0, verbose=1,
                          architecture="chunked"):
    """Trains `hyper_cl_permuted_digits`: 10 permuted-digits tasks in turn.

    Per task: `start_task`, then Adam 1e-3, batch 32, `epochs` epochs
    (20 by default) on the 1077 training images under that task's
    permutation, output regulariser beta 0.01. Writes the accuracy matrix
    `R[i, j]` (test accuracy on task j after task i) to
    `out_dir/accuracy_matrix.csv`.

    Args:
        epochs: int or `None`. Epochs per task.
        out_dir: str. Run directory.
        precision: str. Dtype policy name (set by the caller).
        seed: int.
        verbose: int. Keras verbosity.
        architecture: a key of `CL_HYPERNETS`.

    Returns:
        `(model, test_metrics, preset_metadata)`.

    Example:

    ```python
    zoo.training.train("hyper_cl_permuted_digits", "runs/cl")
    ```
    """
    epochs = CL_EPOCHS_PER_TASK if epochs is None else int(epochs)
    model = build_cl_classifier("permuted", architecture, seed=seed)
    train_tasks = continual.make_tasks("permuted", "train")
    test_tasks = continual.make_tasks("permuted", "test")
    matrix = continual.train_hypernet_continual(
        model, train_tasks, test_tasks, epochs, batch_size=CL_BATCH_SIZE,
        seed=seed, verbose=0 if verbose < 2 else 2,
        on_task_end=(lambda t, row: print(
            f"task {t}: " + " ".join(f"{a:.3f}" for a in row[:t + 1]),
            flush=True)) if verbose else None,
    )
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "accuracy_matrix.csv")
    tmp = path + ".tmp"
    np.savetxt(tmp, matrix, delimiter=",", fmt="%.6f")
    os.replace(tmp, path)
    metrics = evaluate_permuted_digits(model, "test")
    metrics.update({f"matrix_{k}": v
                    for k, v in continual.cl_metrics(matrix).items()})
    metadata = {
        "description": (
            "Continual learning on 10 permuted-digits tasks: a chunked "
            "task-conditioned hypernetwork generates every weight of a "
            "64-100-100-10 MLP per task, with von Oswald et al.'s output "
            "regulariser."
        ),
        "dataset": "permuted_digits",
        "evaluator": "zoo.hyper_cl.hyper_cl_recipes:evaluate_permuted_digits",
        "split": {
            "train": "train (1077) per task",
            "test": "test (540) per task",
            "tasks": "task 0 identity, task t permutation "
                     f"RandomState({continual.PERMUTATION_SEED} + t)",
        },
        "epochs_per_task": epochs,
        "batch_size": CL_BATCH_SIZE,
        "optimizer": f"InplaceAdam({CL_LEARNING_RATE}) (Keras Adam maths)",
        "beta": CL_BETA,
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


register_recipe(
    "hyper_cl_permuted_digits",
    train_permuted_digits,
    "Continual learning hypernetwork on 10 permuted-digits tasks",
)
