"""Evaluation of digits classifiers (the `hyper_mlp_digits` preset)."""

import keras
import numpy as np

from zoo.data import load_digits


def evaluate_digits(model, split="test"):
    """Accuracy and loss of a digits classifier, computed now.

    Args:
        model: a classifier taking `(N, 64)` features, returning logits.
        split: str. Digits split.

    Returns:
        dict with `accuracy`, `loss` and `num_examples`.

    Example:

    ```python
    from zoo.hyper_mlp.hyper_mlp_eval import evaluate_digits
    evaluate_digits(zoo.load("hyper_mlp_digits"))  # {"accuracy": ...}
    ```
    """
    x, y = load_digits(split=split)
    logits = np.asarray(
        keras.ops.convert_to_numpy(model.predict(x, verbose=0)), "float64"
    )
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(y)), y].mean())
    accuracy = float((logits.argmax(axis=1) == y).mean())
    return {"accuracy": accuracy, "loss": loss, "num_examples": int(len(y))}
