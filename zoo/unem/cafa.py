"""CAFA: class-aware feature alignment for test-time adaptation.

The routine adapts a trained classifier (a Task with a `backbone` that
outputs pooled features and a dense head `output_dense`, e.g.
`zoo.DigitsCNNClassifier`) to an unlabelled, shifted test set:

1. `source_statistics`: class means `mu_c` and one shared covariance
   `Sigma` of the backbone features on a small labelled source subset
   (frozen model, inference mode), shrunk towards a scaled identity.
2. `test_time_adapt(..., method="cafa")`: only the BatchNormalization
   scales and shifts are trained, with the layers normalising by the
   test-batch statistics, on `CAFALoss`: the mean over samples of
   `log(D(x, mu_yhat) / sum_c D(x, mu_c))`, `D` the Mahalanobis distance
   under `Sigma` and `yhat` the model's current prediction.

Baselines: `"source"` (no adaptation), `"bn_adapt"` (test-batch
statistics, no training) and `"tent"` (entropy minimisation of the same
BatchNormalization parameters). The shifted digits and the labelled
source subset come from `zoo.data.shifted_digits` (`shift_digits`,
`digits_source_subset`, `SHIFTS`).

Decisions (the spec marks them unverified): the denominator sums over
all classes, the predicted one included (as the third-party code); one
covariance shared by all classes (the per-class ones are singular with
few source samples per class); adaptation makes `epochs` passes over the
whole unlabelled test set (a transductive, offline variant of the
paper's online protocol, since a digits test set is only a few batches),
then predicts every batch with its own batch statistics.
"""

import keras
import numpy as np
from keras import ops

from zoo.data import load_digits
from zoo.data.shifted_digits import SHIFTS
from zoo.data.shifted_digits import digits_source_subset
from zoo.data.shifted_digits import shift_digits

METHODS = ("source", "bn_adapt", "tent", "cafa")
ADAPT_EPOCHS = 10
ADAPT_LEARNING_RATE = 5e-3
ADAPT_BATCH_SIZE = 108


def _features(model, x, batch_size=256):
    return np.asarray(ops.convert_to_numpy(
        model.backbone.predict(x, batch_size=batch_size, verbose=0)
    ), "float64")


def source_statistics(model, x, y, num_classes, shrinkage=0.1):
    """Class means and a shared precision matrix of source features.

    Features are the backbone outputs in inference mode (moving
    BatchNormalization statistics). The pooled within-class covariance
    `S` is shrunk to `(1 - shrinkage) S + shrinkage * tr(S)/p * I +
    1e-5 I` before inversion.

    Args:
        model: the trained source classifier (`model.backbone` gives
            the features).
        x: labelled source inputs (a small subset suffices).
        y: `(N,)` int labels.
        num_classes: int. Number of classes.
        shrinkage: float in [0, 1].

    Returns:
        dict with `means` `(C, p)` and `precision` `(p, p)` (float32).

    Example:

    ```python
    stats = zoo.unem.cafa.source_statistics(model, x_src, y_src, 10)
    ```
    """
    if not 0.0 <= shrinkage <= 1.0:
        raise ValueError(
            f"`shrinkage` must be in [0, 1]. Received: shrinkage={shrinkage!r}"
        )
    y = np.asarray(y)
    missing = sorted(set(range(num_classes)) - set(y.tolist()))
    if missing:
        raise ValueError(
            f"`y` must contain every class 0..{num_classes - 1}; missing "
            f"{missing}."
        )
    f = _features(model, x)
    means = np.stack([f[y == c].mean(0) for c in range(num_classes)])
    centred = f - means[y]
    cov = centred.T @ centred / len(f)
    p = cov.shape[0]
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / p * np.eye(p)
    cov += 1e-5 * np.eye(p)
    return {"means": means.astype("float32"),
            "precision": np.linalg.inv(cov).astype("float32")}


def mahalanobis_distances(features, means, precision):
    """Squared Mahalanobis distances of features to every class mean.

    Args:
        features: `(N, p)` tensor.
        means: `(C, p)` class means.
        precision: `(p, p)` inverse covariance.

    Returns:
        `(N, C)` float32 tensor.

    Example:

    ```python
    d = zoo.unem.cafa.mahalanobis_distances(f, stats["means"],
                                            stats["precision"])
    ```
    """
    f = ops.cast(features, "float32")
    diff = ops.subtract(ops.expand_dims(f, 1),
                        ops.expand_dims(ops.cast(means, "float32"), 0))
    proj = ops.einsum("ncp,pq->ncq", diff, ops.cast(precision, "float32"))
    return ops.sum(ops.multiply(proj, diff), axis=-1)


class CAFALoss(keras.losses.Loss):
    """The CAFA ratio loss on `concat([logits, features])` predictions.

    Per sample: `log(D(x, mu_yhat) / sum_c D(x, mu_c))` with `yhat =
    argmax(logits)` (no gradient through the pseudo-label). `y_true` is
    ignored (adaptation is unsupervised). Not serialisable (it holds the
    source statistics).

    Args:
        means: `(C, p)` source class means.
        precision: `(p, p)` source precision matrix.
        name: str. Loss name.

    Example:

    ```python
    loss = zoo.unem.cafa.CAFALoss(stats["means"], stats["precision"])
    ```
    """

    def __init__(self, means, precision, name="cafa_loss"):
        super().__init__(name=name)
        self.means = np.asarray(means, "float32")
        self.precision = np.asarray(precision, "float32")
        self.num_classes = self.means.shape[0]

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        logits = y_pred[:, : self.num_classes]
        feats = y_pred[:, self.num_classes:]
        d = mahalanobis_distances(feats, self.means, self.precision)
        yhat = ops.one_hot(ops.argmax(ops.stop_gradient(logits), axis=-1),
                           self.num_classes, dtype="float32")
        d_pred = ops.sum(ops.multiply(yhat, d), axis=-1)
        return ops.log(d_pred + 1e-8) - ops.log(ops.sum(d, axis=-1) + 1e-8)


class EntropyLoss(keras.losses.Loss):
    """Prediction entropy (TENT) on `concat([logits, features])`.

    Args:
        num_classes: int. Width of the logits part.
        name: str. Loss name.

    Example:

    ```python
    loss = zoo.unem.cafa.EntropyLoss(10)
    ```
    """

    def __init__(self, num_classes, name="entropy_loss"):
        super().__init__(name=name)
        self.num_classes = num_classes

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")[:, : self.num_classes]
        log_p = ops.log_softmax(logits, axis=-1)
        return -ops.sum(ops.multiply(ops.exp(log_p), log_p), axis=-1)


def _clone(model):
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def _batch_norm_only(model):
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = True
        elif layer.weights and not isinstance(layer, keras.Model):
            layer.trainable = False


class _BatchStatistics(keras.layers.Layer):
    """Calls a model in training mode inside `predict` (compiled).

    A `training=True` given to a model node of a functional model is
    overridden by `predict`'s `training=False`; an explicit argument in
    a layer's `call` is not.
    """

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model

    def call(self, x):
        return self.model(x, training=True)


def predict_with_batch_statistics(model, x, batch_size=ADAPT_BATCH_SIZE):
    """Logits with every BatchNormalization using its batch's statistics.

    Args:
        model: a classifier with BatchNormalization layers.
        x: inputs.
        batch_size: int. Samples per batch (and per statistics).

    Returns:
        `(N, C)` numpy logits.

    Example:

    ```python
    logits = zoo.unem.cafa.predict_with_batch_statistics(model, x_shift)
    ```
    """
    wrapper = keras.Sequential([keras.Input(tuple(model.input.shape[1:])),
                                _BatchStatistics(model)])
    out = wrapper.predict(np.asarray(x, "float32"), batch_size=batch_size,
                          verbose=0)
    return np.asarray(ops.convert_to_numpy(out))


def test_time_adapt(model, x, method="cafa", source_stats=None,
                    epochs=ADAPT_EPOCHS, learning_rate=ADAPT_LEARNING_RATE,
                    batch_size=ADAPT_BATCH_SIZE, seed=0):
    """Adapts a copy of `model` to unlabelled inputs; returns its logits.

    The model itself is not modified: a copy (same config and weights)
    is adapted.

    Args:
        model: the source classifier (`backbone` + `output_dense`).
        x: unlabelled target inputs.
        method: str. `"source"` (no adaptation, inference mode),
            `"bn_adapt"` (test-batch statistics, no training), `"tent"`
            (entropy minimisation) or `"cafa"`.
        source_stats: dict from `source_statistics` (needed by
            `"cafa"`).
        epochs: int. Passes over `x` (`"tent"`, `"cafa"`).
        learning_rate: float. Adam learning rate.
        batch_size: int. Batch size of adaptation and prediction.
        seed: int. Seed of the batch order.

    Returns:
        `(logits, adapted_model)`.

    Example:

    ```python
    logits, _ = zoo.unem.cafa.test_time_adapt(model, x_shift, "cafa",
                                               stats)
    ```
    """
    if method not in METHODS:
        raise ValueError(
            f"`method` must be one of {METHODS}. Received: method={method!r}"
        )
    if method == "cafa" and source_stats is None:
        raise ValueError(
            "method='cafa' needs `source_stats` (from source_statistics)."
        )
    x = np.asarray(x, "float32")
    if method == "source":
        logits = model.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(ops.convert_to_numpy(logits)), model
    clone = _clone(model)
    if method in ("tent", "cafa"):
        num_classes = clone.num_classes
        _batch_norm_only(clone)
        feats = clone.backbone(clone.input)
        logits = clone.output_dense(feats)
        joined = keras.layers.Concatenate(dtype="float32")([logits, feats])
        adapter = keras.Model(clone.input, joined)
        loss = (
            EntropyLoss(num_classes) if method == "tent"
            else CAFALoss(source_stats["means"], source_stats["precision"])
        )
        adapter.compile(optimizer=keras.optimizers.Adam(learning_rate),
                        loss=loss)
        keras.utils.set_random_seed(seed)
        adapter.fit(x, np.zeros((len(x), 1), "float32"),
                    batch_size=batch_size, epochs=epochs, shuffle=True,
                    verbose=0)
    return predict_with_batch_statistics(clone, x, batch_size), clone


def evaluate_shifts(model, split="test", shifts=SHIFTS, methods=METHODS,
                    epochs=ADAPT_EPOCHS, seed=0):
    """Accuracy of every method under every shift of a digits split.

    Args:
        model: a digits classifier on `(N, 8, 8, 1)` images.
        split: str. Digits split to shift and adapt on.
        shifts: sequence of shift names.
        methods: sequence of method names.
        epochs: int. Adaptation epochs.
        seed: int. Seed of the shifts and of adaptation.

    Returns:
        A list of dicts `{shift, method, accuracy}` (shift `"clean"`
        for the unshifted split with method `"source"`).

    Example:

    ```python
    rows = zoo.unem.cafa.evaluate_shifts(zoo.load("cafa_digits_encoder"))
    ```
    """
    x, y = load_digits(split, layout="image")
    stats = source_statistics(model, *digits_source_subset(), 10)
    logits, _ = test_time_adapt(model, x, "source")
    rows = [{"shift": "clean", "method": "source",
             "accuracy": float((logits.argmax(-1) == y).mean())}]
    for shift in shifts:
        xs = shift_digits(x, shift, seed=seed)
        for method in methods:
            logits, _ = test_time_adapt(model, xs, method, stats,
                                        epochs=epochs, seed=seed)
            rows.append({"shift": shift, "method": method,
                         "accuracy": float((logits.argmax(-1) == y).mean())})
    return rows
