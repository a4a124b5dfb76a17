"""Continual-learning baselines: fine-tuning, EWC and independent models.

All three train the same target MLP as the hypernetwork generates (Keras
`Dense` layers instead of generated weights). Every task's output layer
covers all classes of the scenario (10 digits); with split digits the
logits of classes outside the current task are masked out during
training and task-incremental evaluation (a multi-head network written as
one masked head), and left in for class-incremental evaluation.
"""

import keras
import numpy as np
from keras import ops

from zoo.hyper_cl.continual import cl_metrics

_MASK_VALUE = -1e9


@keras.saving.register_keras_serializable(package="hyperzoo")
class MaskedMLP(keras.Model):
    """Plain MLP with an optional class mask and an optional EWC penalty.

    Inputs: `{"features": (batch, input_dim), "mask": (batch, classes)}`
    with mask entries 1 (allowed) or 0 (masked out), or just `features`.

    EWC (`ewc_lambda > 0`): after a task, `consolidate(x, y)` adds the
    diagonal Fisher information of that task to a running sum and stores
    the current weights; the loss then adds
    `ewc_lambda / 2 * sum_i F_i (w_i - w*_i)^2` (online EWC with the
    Fisher summed over tasks; Kirkpatrick et al., 2017). The Fisher is
    the exact expected Fisher under the model's own predictive
    distribution, computed in numpy by backpropagating through the ReLU
    MLP by hand (for a dense layer the per-sample gradient is the outer
    product of the input and the output error, so its square averages to
    `(a^2)^T (delta^2) / n`): no backend gradient call is needed.

    Args:
        input_dim: int.
        hidden_dims: tuple of int.
        num_classes: int.
        ewc_lambda: float >= 0.
        seed: int or `None`.
        **kwargs: `keras.Model` arguments.

    Example:

    ```python
    model = MaskedMLP(64, (100, 100), 10, ewc_lambda=100.0)
    ```

    Reference:
    - [Kirkpatrick et al., 2017](https://arxiv.org/abs/1612.00796),
      "Overcoming catastrophic forgetting in neural networks".
    """

    def __init__(self, input_dim, hidden_dims, num_classes, ewc_lambda=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.num_classes = int(num_classes)
        self.ewc_lambda = float(ewc_lambda)
        self.seed = seed
        self.dense_layers = []
        for i, width in enumerate(self.hidden_dims + (self.num_classes,)):
            last = i == len(self.hidden_dims)
            self.dense_layers.append(keras.layers.Dense(
                width, activation=None if last else "relu",
                kernel_initializer=keras.initializers.GlorotUniform(
                    None if seed is None else seed + i),
                name=f"dense_{i}",
            ))
        self.build_all()

    def build_all(self):
        """Builds the layers and the EWC state (Fisher, anchor weights)."""
        size = self.input_dim
        for layer in self.dense_layers:
            layer.build((None, size))
            size = layer.units
        self.fisher = [
            self.add_weight(name=f"fisher_{i}", shape=w.shape,
                            initializer="zeros", trainable=False)
            for i, w in enumerate(self._dense_weights())
        ]
        self.anchor = [
            self.add_weight(name=f"anchor_{i}", shape=w.shape,
                            initializer="zeros", trainable=False)
            for i, w in enumerate(self._dense_weights())
        ]
        self.built = True

    def _dense_weights(self):
        out = []
        for layer in self.dense_layers:
            out += [layer.kernel, layer.bias]
        return out

    def call(self, inputs):
        if isinstance(inputs, dict):
            x, mask = inputs["features"], inputs.get("mask")
        else:
            x, mask = inputs, None
        for layer in self.dense_layers:
            x = layer(x)
        if mask is not None:
            mask = ops.cast(mask, x.dtype)
            x = ops.add(ops.multiply(x, mask),
                        ops.multiply(1.0 - mask, _MASK_VALUE))
        return x

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred,
                                    sample_weight=sample_weight,
                                    training=training)
        if training and self.ewc_lambda > 0:
            penalty = 0.0
            for w, f, a in zip(self._dense_weights(), self.fisher,
                               self.anchor):
                penalty = ops.add(penalty, ops.sum(
                    ops.multiply(f, ops.square(ops.subtract(w, a)))))
            loss = ops.add(loss, ops.multiply(0.5 * self.ewc_lambda,
                                              penalty))
        return loss

    def fisher_diagonal(self, x, mask=None):
        """Expected Fisher diagonal of every weight on inputs `x` (numpy).

        Args:
            x: array `(n, input_dim)`.
            mask: `None` or `(classes,)` 0/1 class mask.

        Returns:
            A list of arrays, shaped like the kernels and biases.
        """
        weights = [np.asarray(ops.convert_to_numpy(w), "float64")
                   for w in self._dense_weights()]
        acts = [np.asarray(x, "float64")]
        pre = []
        h = acts[0]
        n_layers = len(self.dense_layers)
        for i in range(n_layers):
            z = h @ weights[2 * i] + weights[2 * i + 1]
            pre.append(z)
            h = np.maximum(z, 0.0) if i < n_layers - 1 else z
            acts.append(h)
        logits = acts[-1]
        if mask is not None:
            logits = np.where(np.asarray(mask) > 0, logits, -np.inf)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        fisher = [np.zeros_like(w) for w in weights]
        n = len(x)
        for c in range(self.num_classes):
            pc = p[:, c]
            if not np.any(pc > 0):
                continue
            # d log p_c / d logits = e_c - p.
            delta = -p.copy()
            delta[:, c] += 1.0
            for i in reversed(range(n_layers)):
                a = acts[i]
                fisher[2 * i] += (a**2).T @ (delta**2 * pc[:, None]) / n
                fisher[2 * i + 1] += (delta**2 * pc[:, None]).sum(0) / n
                if i > 0:
                    delta = (delta @ weights[2 * i].T) * (pre[i - 1] > 0)
        return fisher

    def consolidate(self, x, mask=None):
        """Adds this task's Fisher and anchors the current weights."""
        for var, f in zip(self.fisher, self.fisher_diagonal(x, mask)):
            var.assign(ops.convert_to_numpy(var) + f.astype("float32"))
        for var, w in zip(self.anchor, self._dense_weights()):
            var.assign(ops.convert_to_numpy(w))

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "hidden_dims": list(self.hidden_dims),
            "num_classes": self.num_classes,
            "ewc_lambda": self.ewc_lambda,
            "seed": self.seed,
        })
        return config


def _mask(task_classes, num_classes, n):
    mask = np.zeros((n, num_classes), "float32")
    mask[:, task_classes] = 1.0
    return mask


def _compile(model, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def _accuracy(model, x, y_global, task_classes, num_classes):
    inputs = {"features": x,
              "mask": _mask(task_classes, num_classes, len(x))}
    pred = np.asarray(model.predict(inputs, verbose=0, batch_size=256))
    return float(np.mean(pred.argmax(1) == y_global))


def train_baseline_continual(method, train_tasks, eval_tasks, task_labels,
                             hidden_dims=(100, 100), num_classes=10,
                             epochs=20, batch_size=32, learning_rate=1e-3,
                             ewc_lambda=1000.0, seed=0):
    """Runs one baseline over a task stream.

    Args:
        method: `"finetune"` (one network trained task after task),
            `"ewc"` (fine-tuning plus the EWC penalty) or `"independent"`
            (a fresh network per task: no forgetting, T times the
            parameters; the upper bound).
        train_tasks: list of `(x, y_local)`.
        eval_tasks: list of `(x, y_local)`.
        task_labels: per task, the global label of each local class
            (`[list(range(10))] * T` for permuted digits).
        hidden_dims: tuple of int.
        num_classes: int. Global classes.
        epochs: int. Epochs per task.
        batch_size: int.
        learning_rate: float. Adam learning rate.
        ewc_lambda: float. EWC strength (`"ewc"` only).
        seed: int.

    Returns:
        `(matrix, metrics)`: the accuracy matrix `(T, T)` and
        `cl_metrics(matrix)`.

    Example:

    ```python
    R, m = train_baseline_continual("finetune", tr, te, labels, epochs=5)
    ```
    """
    methods = ("finetune", "ewc", "independent")
    if method not in methods:
        raise ValueError(
            f"`method` must be one of {methods}. Received: {method!r}"
        )
    keras.utils.set_random_seed(seed)
    input_dim = train_tasks[0][0].shape[1]
    n = len(train_tasks)
    matrix = np.zeros((n, n))

    def fresh(offset):
        model = MaskedMLP(input_dim, hidden_dims, num_classes,
                          ewc_lambda=ewc_lambda if method == "ewc" else 0.0,
                          seed=seed + 100 * offset)
        _compile(model, learning_rate)
        return model

    models = []
    model = fresh(0)
    for t, (x, y) in enumerate(train_tasks):
        if method == "independent" and t > 0:
            model = fresh(t)
        models.append(model)
        classes = list(task_labels[t])
        y_global = np.asarray(classes)[y]
        model.fit({"features": x, "mask": _mask(classes, num_classes,
                                                len(x))},
                  y_global, epochs=epochs, batch_size=batch_size,
                  shuffle=True, verbose=0)
        if method == "ewc":
            model.consolidate(x, _mask(classes, num_classes, 1)[0])
        for j, (xe, ye) in enumerate(eval_tasks):
            evaluator = models[j] if (method == "independent"
                                      and j <= t) else model
            classes_j = list(task_labels[j])
            matrix[t, j] = _accuracy(evaluator, xe,
                                     np.asarray(classes_j)[ye], classes_j,
                                     num_classes)
    return matrix, cl_metrics(matrix)
