"""LoGAH evaluation: fine-tuning curves from predicted vs random init."""

import keras
import numpy as np

from zoo.data.mnist_1d import load_mnist1d
from zoo.logah.logah_graph import HELD_OUT_ARCHITECTURES
from zoo.logah.logah_graph import arch_name
from zoo.logah.logah_graph import build_mlp

EVAL_STEPS = (0, 25, 100, 400)
FINE_TUNE_BATCH_SIZE = 64
FINE_TUNE_LEARNING_RATE = 1e-3


def _accuracy_and_loss(mlp, x, y):
    logits = np.asarray(keras.ops.convert_to_numpy(
        mlp.predict_on_batch(x)), "float64")
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = float(-log_p[np.arange(len(y)), y].mean())
    return float((logits.argmax(axis=1) == y).mean()), loss


def initial_model(model, hidden_widths, init="logah", seed=0):
    """An MLP of an architecture, initialised by LoGAH or at random.

    Args:
        model: a `zoo.LogahClassifier` (used with `init="logah"`).
        hidden_widths: sequence of int.
        init: `"logah"` (predicted weights) or a Keras initialiser name
            (`"he_normal"`, `"glorot_uniform"`) for the kernels.
        seed: int. Seed of the random initialisers.

    Returns:
        A built `keras.Sequential`.

    Example:

    ```python
    mlp = initial_model(zoo.load("logah_mnist1d"), (48, 40), "he_normal")
    ```
    """
    if init == "logah":
        return model.predicted_model(hidden_widths)
    return build_mlp(hidden_widths, model.input_dim, model.num_classes,
                     kernel_initializer=init, seed=seed)


def fine_tune_curve(mlp, max_steps=400, eval_every=25, seed=0,
                    batch_size=FINE_TUNE_BATCH_SIZE,
                    learning_rate=FINE_TUNE_LEARNING_RATE, split="test",
                    train_split="train"):
    """Fine-tunes an MLP with Adam and records test accuracy and loss.

    The batches come from a seeded permutation of the MNIST-1D train
    split, so two initialisations see the same data in the same order.

    Args:
        mlp: a built Keras MLP taking `(N, 40)` signals.
        max_steps: int. Fine-tuning steps.
        eval_every: int. Evaluation period (step 0 is always evaluated).
        seed: int. Data order seed.
        batch_size: int.
        learning_rate: float. Adam learning rate.
        split: str. Evaluation split.
        train_split: str. Fine-tuning split.

    Returns:
        dict `{"steps": [...], "accuracy": [...], "loss": [...]}`.

    Example:

    ```python
    curve = fine_tune_curve(build_mlp((32,), 40, 10), max_steps=100)
    ```
    """
    x_train, y_train = load_mnist1d(train_split)
    x_eval, y_eval = load_mnist1d(split)
    mlp.compile(optimizer=keras.optimizers.Adam(learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True))
    rng = np.random.default_rng(seed)
    order = np.concatenate([
        rng.permutation(len(x_train))
        for _ in range(max_steps * batch_size // len(x_train) + 1)])
    curve = {"steps": [], "accuracy": [], "loss": []}
    for step in range(max_steps + 1):
        if step % eval_every == 0 or step == max_steps:
            acc, loss = _accuracy_and_loss(mlp, x_eval, y_eval)
            curve["steps"].append(step)
            curve["accuracy"].append(acc)
            curve["loss"].append(loss)
        if step == max_steps:
            break
        idx = order[step * batch_size:(step + 1) * batch_size]
        mlp.train_on_batch(x_train[idx], y_train[idx])
    return curve


def accuracy_after_k_steps(model, hidden_widths, init="logah",
                           steps=EVAL_STEPS, seed=0, split="test"):
    """Test accuracy after k fine-tuning steps, for each k in `steps`.

    Args:
        model: a `zoo.LogahClassifier`.
        hidden_widths: sequence of int. The architecture.
        init: `"logah"` or a Keras initialiser name.
        steps: sequence of int.
        seed: int. Initialiser and data-order seed.
        split: str. Evaluation split.

    Returns:
        dict `{k: accuracy}`.

    Example:

    ```python
    accuracy_after_k_steps(zoo.load("logah_mnist1d"), (48, 40))
    ```
    """
    steps = sorted(int(k) for k in steps)
    period = int(np.gcd.reduce([k for k in steps if k] or [1]))
    curve = fine_tune_curve(initial_model(model, hidden_widths, init, seed),
                            max_steps=steps[-1], eval_every=period,
                            seed=seed, split=split)
    acc = dict(zip(curve["steps"], curve["accuracy"]))
    return {k: acc[k] for k in steps}


def evaluate_logah(model, split="test", architectures=HELD_OUT_ARCHITECTURES,
                   steps=EVAL_STEPS, random_init="he_normal", seed=0):
    """`accuracy_after_k_steps` of predicted vs random init, held out.

    Args:
        model: a `zoo.LogahClassifier`.
        split: str. MNIST-1D evaluation split.
        architectures: sequence of hidden-width tuples (held out by
            default).
        steps: sequence of int. Fine-tuning steps k.
        random_init: str. Keras initialiser of the baseline.
        seed: int.

    Returns:
        dict of metrics: `logah_acc_k<k>` and `random_acc_k<k>` (means
        over the architectures), `accuracy` (= LoGAH at k=0), per
        architecture `<arch>/logah_acc_k<k>` and the decoder's parameter
        count.

    Example:

    ```python
    evaluate_logah(zoo.load("logah_mnist1d"))
    ```
    """
    out = {}
    sums = {}
    for widths in architectures:
        for init in ("logah", random_init):
            tag = "logah" if init == "logah" else "random"
            acc = accuracy_after_k_steps(model, widths, init, steps, seed,
                                         split)
            for k, a in acc.items():
                out[f"{arch_name(widths)}/{tag}_acc_k{k}"] = a
                key = f"{tag}_acc_k{k}"
                sums[key] = sums.get(key, 0.0) + a / len(architectures)
    out.update(sums)
    out["accuracy"] = sums["logah_acc_k0"]
    out["decoder_params"] = model.backbone.decoder_num_params()
    out["num_architectures"] = len(architectures)
    return out
