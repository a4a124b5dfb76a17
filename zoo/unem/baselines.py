"""Few-shot baselines for UNEM: fixed-lambda EM, prototypes, softmax.

All take an episode batch (`{"support", "support_labels", "query"}`, see
`zoo.data.few_shot_episodes.sample_episodes`) and return the predicted
query labels `(B, Nq)` as numpy int arrays.
"""

import functools

import keras
import numpy as np
from keras import ops

from layers.unem import gaussian_em
from zoo._checks import check_has

# PADDLE's fixed class-balance weight for mini-ImageNet / ResNet-18 (the
# reference's config): the "default" a user gets without a grid search.
DEFAULT_LAMBDA = 75.0
# Grid over [0, 150], denser where the Gaussian world's peak lies.
LAMBDA_GRID = (0.0, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 12.5, 15.0, 20.0, 25.0,
               30.0, 40.0, 50.0, 75.0, 100.0, 125.0, 150.0)
FIXED_EM_ITERATIONS = 10


def _check_batch(batch):
    check_has("batch", batch, ("support", "support_labels", "query"),
              "a dict with 'support', 'support_labels' and 'query'")


@keras.saving.register_keras_serializable(package="hyperzoo")
class FixedLambdaEM(keras.layers.Layer):
    """The EM iteration with a fixed lambda per task and T = 1, as a layer.

    Wraps `layers.gaussian_em` so that `keras.Model.predict` compiles it
    once (JAX, TensorFlow) for a whole grid of lambdas: the lambda is an
    input, one value per task.

    Args:
        num_classes: int. Classes per task.
        num_iterations: int. EM iterations.
        **kwargs: base layer keyword arguments.

    Example:

    ```python
    model = zoo.unem.baselines.fixed_lambda_model(16, 10, 32)
    ```

    Reference:
    - [Martin et al., 2022](https://arxiv.org/abs/2205.14144), PADDLE.
    """

    def __init__(self, num_classes, num_iterations, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.num_iterations = num_iterations

    def call(self, query, support, support_labels, lam):
        lam = ops.reshape(ops.cast(lam, "float32"), (-1, 1, 1))
        return gaussian_em(query, support, support_labels, self.num_classes,
                           [lam] * self.num_iterations,
                           num_iterations=self.num_iterations,
                           return_log=True)

    def compute_output_shape(self, query_shape, support_shape,
                             support_labels_shape, lam_shape):
        return tuple(query_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes,
                       "num_iterations": self.num_iterations})
        return config


@functools.lru_cache(maxsize=16)
def fixed_lambda_model(num_classes, num_iterations, feature_dim):
    """A functional model `{query, support, support_labels, lam} -> log U`.

    Args:
        num_classes: int. Classes per task.
        num_iterations: int. EM iterations.
        feature_dim: int. Feature size.

    Returns:
        A `keras.Model` (cached per arguments).

    Example:

    ```python
    model = zoo.unem.baselines.fixed_lambda_model(16, 10, 32)
    ```
    """
    query = keras.Input((None, feature_dim), name="query")
    support = keras.Input((None, feature_dim), name="support")
    labels = keras.Input((None,), dtype="int32", name="support_labels")
    lam = keras.Input((1,), name="lam")
    out = FixedLambdaEM(num_classes, num_iterations)(query, support, labels,
                                                    lam)
    return keras.Model({"query": query, "support": support,
                        "support_labels": labels, "lam": lam}, out)


def _fixed_em_predictions(batch, num_classes, lams, num_iterations,
                          batch_size):
    """Predictions `(len(lams), B, Nq)` for every lambda of `lams`."""
    _check_batch(batch)
    b = len(batch["query"])
    model = fixed_lambda_model(num_classes, num_iterations,
                               int(batch["query"].shape[-1]))
    preds = []
    for lam in lams:
        # Same shapes for every lambda: compiled once (JAX, TensorFlow).
        inputs = dict(batch, lam=np.full((b, 1), lam, "float32"))
        out = model.predict(inputs, batch_size=batch_size, verbose=0)
        preds.append(np.asarray(ops.convert_to_numpy(out)).argmax(-1))
    return np.stack(preds)


def fixed_lambda_em(batch, num_classes, lam,
                    num_iterations=FIXED_EM_ITERATIONS, batch_size=500):
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
    return _fixed_em_predictions(batch, num_classes, [float(lam)],
                                 num_iterations, batch_size)[0]


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
    preds = _fixed_em_predictions(batch, num_classes, list(grid),
                                  num_iterations, batch_size=500)
    return [(float(lam), accuracy(p, query_labels))
            for lam, p in zip(grid, preds)]


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


def center_l2_normalize(features, base_features=None, epsilon=1e-8):
    """Centres features on the base-class mean, then L2-normalises them.

    The "CL2N" feature normalisation of the transductive few-shot
    literature (SimpleShot, LaplacianShot, PADDLE's code base): subtract
    the mean feature of the feature extractor's own (base) training
    classes, then divide every vector by its Euclidean norm. With
    `base_features=None` only the L2 normalisation is applied. Plain
    numpy: the same arrays then feed UNEM and every baseline.

    Args:
        features: `(..., d)` float array.
        base_features: `(N, d)` float array of base-class features (the
            extractor's training samples), or `None`.
        epsilon: float. Floor of the norm.

    Returns:
        float32 array of the shape of `features`, unit norm per vector
        (zero vectors stay zero).

    Example:

    ```python
    f = zoo.unem.baselines.center_l2_normalize(novel, base_features=base)
    ```

    Reference:
    - [Wang et al., 2019](https://arxiv.org/abs/1911.04623), SimpleShot.
    """
    f = np.asarray(features, "float32")
    if base_features is not None:
        base = np.asarray(base_features, "float32")
        if base.ndim != 2 or base.shape[-1] != f.shape[-1]:
            raise ValueError(
                "`base_features` must be an (N, d) array with the feature "
                f"size d={f.shape[-1]} of `features`. Received: shape "
                f"{base.shape}"
            )
        f = f - base.mean(0)
    norm = np.linalg.norm(f, axis=-1, keepdims=True)
    return (f / np.maximum(norm, epsilon)).astype("float32")


def whiten_episodes(batch, num_classes, shrinkage=0.1, epsilon=1e-6):
    """Whitens every task by its support's shrunk within-class covariance.

    The Gaussian EM of UNEM (and nearest prototype) measure Euclidean
    distances, i.e. they assume one isotropic covariance for every
    class. Per task, this estimates the pooled within-class covariance
    `S` of the support (labels known), shrinks it towards its mean
    eigenvalue, `(1 - shrinkage) S + shrinkage tr(S) / d I`, and maps
    support and queries by its inverse square root, so that Euclidean
    distances become Mahalanobis ones (nearest prototype becomes
    shrinkage LDA). Only the support and its labels are used: the
    transform is inductive, the same for every query. Plain numpy.

    Args:
        batch: episode batch dict (`support` `(B, Ns, d)`,
            `support_labels`, `query` `(B, Nq, d)`).
        num_classes: int. Classes per task.
        shrinkage: float in `[0, 1]`. Weight of the isotropic target.
        epsilon: float. Added to the diagonal.

    Returns:
        A new batch dict with whitened float32 `support` and `query`.

    Example:

    ```python
    white = zoo.unem.baselines.whiten_episodes(batch, 5, shrinkage=0.1)
    pred = zoo.unem.baselines.nearest_prototype(white, 5)
    ```

    Reference:
    - [Ledoit and Wolf, 2004](https://doi.org/10.1016/S0047-259X(03)00096-4),
      shrinkage covariance estimation.
    """
    _check_batch(batch)
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(
            f"`shrinkage` must be in [0, 1]. Received: shrinkage={shrinkage}"
        )
    s = np.asarray(batch["support"], "float64")
    q = np.asarray(batch["query"], "float64")
    ys = np.eye(num_classes)[batch["support_labels"]]
    resid = s - np.einsum("bsk,bkd->bsd", ys, _prototypes(batch, num_classes))
    cov = np.einsum("bsd,bse->bde", resid, resid) / s.shape[1]
    d = s.shape[-1]
    iso = np.trace(cov, axis1=1, axis2=2)[:, None, None] / d * np.eye(d)
    cov = (1 - shrinkage) * cov + shrinkage * iso + epsilon * np.eye(d)
    eigval, eigvec = np.linalg.eigh(cov)
    transform = eigvec / np.sqrt(np.maximum(eigval, epsilon))[:, None, :]
    return dict(
        batch,
        support=np.einsum("bsd,bde->bse", s, transform).astype("float32"),
        query=np.einsum("bqd,bde->bqe", q, transform).astype("float32"),
    )


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
