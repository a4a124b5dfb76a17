"""Few-shot baselines for UNEM: fixed-lambda EM, prototypes, softmax.

All take an episode batch (`{"support", "support_labels", "query"}`, see
`zoo.unem.sample_episodes`) and return the predicted query labels `(B,
Nq)` as numpy int arrays.
"""

import numpy as np
from keras import ops

from layers.unem import gaussian_em

# PADDLE's fixed class-balance weight for mini-ImageNet / ResNet-18 (the
# reference's config): the "default" a user gets without a grid search.
DEFAULT_LAMBDA = 75.0
# Grid over [0, 150], denser where the Gaussian world's peak lies.
LAMBDA_GRID = (0.0, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0,
               30.0, 40.0, 50.0, 75.0, 100.0, 125.0, 150.0)
FIXED_EM_ITERATIONS = 10


def _check_batch(batch):
    missing = {"support", "support_labels", "query"} - set(batch)
    if missing:
        raise ValueError(
            "`batch` must be a dict with 'support', 'support_labels' and "
            f"'query'. Missing: {sorted(missing)}"
        )


def fixed_lambda_em(batch, num_classes, lam,
                    num_iterations=FIXED_EM_ITERATIONS, batch_size=250):
    """Predictions of the EM iteration with a fixed lambda and T = 1.

    Args:
        batch: episode batch dict.
        num_classes: int. Classes per task.
        lam: float. Class-balance weight.
        num_iterations: int. EM iterations. Defaults to `10`, the number
            of layers of the UNEM models.
        batch_size: int. Tasks per call.

    Returns:
        `(B, Nq)` int predictions.

    Example:

    ```python
    pred = zoo.unem.baselines.fixed_lambda_em(batch, 16, lam=10.0)
    ```
    """
    _check_batch(batch)
    out = []
    n = len(batch["query"])
    for i in range(0, n, batch_size):
        u = gaussian_em(
            batch["query"][i: i + batch_size],
            batch["support"][i: i + batch_size],
            batch["support_labels"][i: i + batch_size],
            num_classes,
            float(lam),
            num_iterations=num_iterations,
        )
        out.append(np.asarray(ops.convert_to_numpy(u)).argmax(-1))
    return np.concatenate(out)


def lambda_curve(batch, query_labels, num_classes, grid=LAMBDA_GRID,
                 num_iterations=FIXED_EM_ITERATIONS):
    """Accuracy of the fixed-lambda EM at every lambda of a grid.

    Args:
        batch: episode batch dict.
        query_labels: `(B, Nq)` true labels.
        num_classes: int. Classes per task.
        grid: sequence of lambdas. Defaults to `LAMBDA_GRID`.
        num_iterations: int. EM iterations.

    Returns:
        A list of `(lambda, accuracy)`.

    Example:

    ```python
    curve = zoo.unem.baselines.lambda_curve(batch, yq, 16)
    best_lambda, best_acc = max(curve, key=lambda p: p[1])
    ```
    """
    return [
        (float(lam), accuracy(
            fixed_lambda_em(batch, num_classes, lam, num_iterations),
            query_labels))
        for lam in grid
    ]


def accuracy(pred, query_labels):
    """Mean over tasks of the per-task query accuracy.

    Args:
        pred: `(B, Nq)` predictions.
        query_labels: `(B, Nq)` labels.

    Returns:
        float.

    Example:

    ```python
    zoo.unem.baselines.accuracy(pred, yq)  # 0.95
    ```
    """
    pred = np.asarray(pred)
    query_labels = np.asarray(query_labels)
    if pred.shape != query_labels.shape:
        raise ValueError(
            f"`pred` has shape {pred.shape} but `query_labels` has "
            f"{query_labels.shape}; expected equal (B, Nq) shapes."
        )
    return float((pred == query_labels).mean(axis=1).mean())


def _prototypes(batch, num_classes):
    ys = np.eye(num_classes, dtype="float64")[batch["support_labels"]]
    sums = np.einsum("bsk,bsd->bkd", ys, batch["support"])
    return sums / np.maximum(ys.sum(1)[..., None], 1e-12)


def nearest_prototype(batch, num_classes):
    """Inductive nearest class mean (Euclidean) on the support.

    Args:
        batch: episode batch dict.
        num_classes: int. Classes per task.

    Returns:
        `(B, Nq)` int predictions.

    Example:

    ```python
    pred = zoo.unem.baselines.nearest_prototype(batch, 16)
    ```
    """
    _check_batch(batch)
    protos = _prototypes(batch, num_classes)
    q = np.asarray(batch["query"], "float64")
    d = (np.sum(q**2, -1)[..., None] - 2 * np.einsum("bqd,bkd->bqk", q,
                                                    protos)
         + np.sum(protos**2, -1)[:, None])
    return d.argmin(-1)


def inductive_softmax(batch, num_classes, steps=100, learning_rate=0.5,
                      weight_decay=1e-3):
    """Inductive softmax (logistic-regression) head fit on each support.

    One linear softmax classifier per task, trained by full-batch
    gradient descent on the task's support (features centred and scaled
    by the support statistics; weights started at zero), then applied to
    each query independently.

    Args:
        batch: episode batch dict.
        num_classes: int. Classes per task.
        steps: int. Gradient steps.
        learning_rate: float. Step size.
        weight_decay: float. L2 penalty.

    Returns:
        `(B, Nq)` int predictions.

    Example:

    ```python
    pred = zoo.unem.baselines.inductive_softmax(batch, 16)
    ```
    """
    _check_batch(batch)
    s = np.asarray(batch["support"], "float64")
    q = np.asarray(batch["query"], "float64")
    mean = s.mean(1, keepdims=True)
    std = s.std(axis=(1, 2), keepdims=True) + 1e-8
    s, q = (s - mean) / std, (q - mean) / std
    y = np.eye(num_classes)[batch["support_labels"]]
    b, n, d = s.shape
    w = np.zeros((b, d, num_classes))
    c = np.zeros((b, 1, num_classes))
    for _ in range(steps):
        logits = np.einsum("bnd,bdk->bnk", s, w) + c
        logits -= logits.max(-1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(-1, keepdims=True)
        g = (p - y) / n
        w -= learning_rate * (np.einsum("bnd,bnk->bdk", s, g)
                              + weight_decay * w)
        c -= learning_rate * g.sum(1, keepdims=True)
    return (np.einsum("bqd,bdk->bqk", q, w) + c).argmax(-1)
