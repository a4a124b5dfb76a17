"""Evaluators of the Terminator presets (`python -m zoo eval`).

Reported accuracy is computed one sample at a time (batch 1), the way a
served model sees its inputs; batch 100 is reported next to it (the
models are batch-independent, so the two agree up to rounding).
"""

import keras
import numpy as np

from zoo.terminator.terminator_presets import load_data

EVAL_BATCH_SIZE = 1
LARGE_EVAL_BATCH_SIZE = 100


def accuracy_and_loss(model, x, y, batch_size):
    """Accuracy and mean cross-entropy of a logits classifier, computed now.

    Args:
        model: a classifier returning logits.
        x: inputs.
        y: `(N,)` int labels.
        batch_size: int. Prediction batch size.

    Returns:
        `(accuracy, loss)` floats (the loss in float64).

    Example:

    ```python
    accuracy, loss = accuracy_and_loss(model, x, y, batch_size=1)
    ```
    """
    logits = np.asarray(keras.ops.convert_to_numpy(
        model.predict(x, batch_size=batch_size, verbose=0)
    ), "float64")
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    accuracy = float((logits.argmax(axis=1) == y).mean())
    return accuracy, float(-log_p[np.arange(len(y)), y].mean())


def evaluate_split(model, dataset, shuffled, split):
    """Batch-1 and batch-100 accuracy of a model on a Terminator split.

    Args:
        model: classifier on the dataset's inputs.
        dataset: str. `"mnist1d"` or `"digits"`.
        shuffled: bool. Shuffled MNIST-1D.
        split: str. Data split.

    Returns:
        dict with `accuracy`, `accuracy_batch100`, `loss`,
        `num_examples` and `parameters`.

    Example:

    ```python
    evaluate_split(zoo.load("terminator_2d_digits"), "digits", False,
                   "test")
    ```
    """
    x, y = load_data(dataset, split, shuffled)
    accuracy, loss = accuracy_and_loss(model, x, y, EVAL_BATCH_SIZE)
    accuracy_large, _ = accuracy_and_loss(model, x, y,
                                          LARGE_EVAL_BATCH_SIZE)
    return {
        "accuracy": accuracy,
        "accuracy_batch100": accuracy_large,
        "loss": loss,
        "num_examples": int(len(y)),
        "parameters": int(model.count_params()),
    }


def split_evaluator(dataset, shuffled=False):
    """The evaluator `(model, split="test") -> metrics` of one data set.

    The evaluator of a Terminator preset (`python -m zoo eval NAME`):
    `evaluate_split` on the data set, computed now; `accuracy` and `loss`
    one sample at a time (batch 1), `accuracy_batch100` in batches of
    100.

    Args:
        dataset: str. `"mnist1d"` or `"digits"`.
        shuffled: bool. Shuffled MNIST-1D.

    Returns:
        A function `evaluate(model, split="test")` returning the metrics
        dict of `evaluate_split`, named `evaluate_mnist1d`,
        `evaluate_mnist1d_shuffled` or `evaluate_digits_2d`.

    Example:

    ```python
    evaluate = split_evaluator("mnist1d", shuffled=True)
    evaluate(zoo.load("terminator_1d_mnist1d_shuffled"))["accuracy"]
    ```
    """

    def evaluate(model, split="test"):
        return evaluate_split(model, dataset, shuffled, split)

    name = "evaluate_" + ("digits_2d" if dataset == "digits" else dataset)
    name += "_shuffled" if shuffled else ""
    evaluate.__name__ = evaluate.__qualname__ = name
    evaluate.__doc__ = (f"`evaluate_split(model, {dataset!r}, {shuffled}, "
                        "split)`, computed now.")
    return evaluate
