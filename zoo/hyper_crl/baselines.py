"""Continual model-based RL baselines: fine-tuning, EWC, one model per task.

All train the same dynamics MLP as the hypernetwork generates (Keras
`Dense` layers instead of generated weights), on the same normalised
inputs and state changes.
"""

import keras
import numpy as np
from keras import ops

from zoo.hyper_crl.continual import task_errors
from zoo.hyper_crl.planning import NumpyDynamics

METHODS = ("finetune", "ewc", "independent")


@keras.saving.register_keras_serializable(package="hyperzoo")
class DynamicsMLP(keras.Model):
    """Plain tanh MLP on normalised inputs, with an optional EWC penalty.

    EWC (`ewc_lambda > 0`): after a task, `consolidate(x)` adds that
    task's diagonal Fisher to a running sum and anchors the current
    weights; the loss adds `ewc_lambda / 2 * sum_i F_i (w_i - w*_i)^2`
    (online EWC with summed Fishers; Kirkpatrick et al., 2017). With the
    MSE loss read as a unit-variance Gaussian likelihood on the
    normalised outputs, the Fisher is `E_x sum_k (d f_k / d w)^2`,
    computed in numpy by backpropagating each output through the MLP by
    hand (per sample, a dense layer's gradient is the outer product of
    its input and output error).

    Args:
        input_dim: int.
        hidden_dims: tuple of int.
        output_dim: int.
        ewc_lambda: float >= 0.
        seed: int or `None`.
        **kwargs: `keras.Model` arguments.

    Example:

    ```python
    model = DynamicsMLP(4, (32, 32), 3, ewc_lambda=10.0)
    ```

    Reference:
    - [Kirkpatrick et al., 2017](https://arxiv.org/abs/1612.00796),
      "Overcoming catastrophic forgetting in neural networks".
    """

    def __init__(self, input_dim, hidden_dims, output_dim, ewc_lambda=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.output_dim = int(output_dim)
        self.ewc_lambda = float(ewc_lambda)
        self.seed = seed
        self.dense_layers = []
        widths = self.hidden_dims + (self.output_dim,)
        for i, width in enumerate(widths):
            self.dense_layers.append(keras.layers.Dense(
                width, activation=None if i == len(widths) - 1 else "tanh",
                kernel_initializer=keras.initializers.GlorotUniform(
                    None if seed is None else seed + i),
                name=f"dense_{i}"))
        size = self.input_dim
        for layer in self.dense_layers:
            layer.build((None, size))
            size = layer.units
        self.fisher = [self.add_weight(name=f"fisher_{i}", shape=w.shape,
                                       initializer="zeros", trainable=False)
                       for i, w in enumerate(self._dense_weights())]
        self.anchor = [self.add_weight(name=f"anchor_{i}", shape=w.shape,
                                       initializer="zeros", trainable=False)
                       for i, w in enumerate(self._dense_weights())]
        self.built = True

    def _dense_weights(self):
        out = []
        for layer in self.dense_layers:
            out += [layer.kernel, layer.bias]
        return out

    def call(self, inputs):
        x = inputs
        for layer in self.dense_layers:
            x = layer(x)
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

    def numpy_weights(self):
        """The `(kernel, bias)` pairs as float64 numpy arrays.

        Returns:
            List of pairs, one per layer.
        """
        w = [np.asarray(ops.convert_to_numpy(v), "float64")
             for v in self._dense_weights()]
        return list(zip(w[0::2], w[1::2]))

    def fisher_diagonal(self, x):
        """Fisher diagonal `E_x sum_k (d f_k / d w)^2` on inputs `x`.

        Args:
            x: array `(n, input_dim)` of normalised inputs.

        Returns:
            A list of arrays shaped like the kernels and biases.
        """
        pairs = self.numpy_weights()
        acts = [np.asarray(x, "float64")]
        for i, (k, b) in enumerate(pairs):
            z = acts[-1] @ k + b
            acts.append(np.tanh(z) if i < len(pairs) - 1 else z)
        n = len(x)
        fisher = [np.zeros_like(w) for pair in pairs for w in pair]
        for c in range(self.output_dim):
            delta = np.zeros((n, self.output_dim))
            delta[:, c] = 1.0
            for i in reversed(range(len(pairs))):
                fisher[2 * i] += (acts[i] ** 2).T @ (delta ** 2) / n
                fisher[2 * i + 1] += (delta ** 2).sum(0) / n
                if i > 0:
                    delta = (delta @ pairs[i][0].T) * (1.0 - acts[i] ** 2)
        return fisher

    def consolidate(self, x):
        """Adds this task's Fisher (on inputs `x`) and anchors the weights.

        Args:
            x: array `(n, input_dim)` of normalised inputs.
        """
        for var, f in zip(self.fisher, self.fisher_diagonal(x)):
            var.assign(ops.convert_to_numpy(var) + f.astype("float32"))
        for var, w in zip(self.anchor, self._dense_weights()):
            var.assign(ops.convert_to_numpy(w))

    def get_config(self):
        config = super().get_config()
        config.update({"input_dim": self.input_dim,
                       "hidden_dims": list(self.hidden_dims),
                       "output_dim": self.output_dim,
                       "ewc_lambda": self.ewc_lambda, "seed": self.seed})
        return config


def _normalize(stats, s, a, s2=None):
    x = (np.concatenate([s, a], -1) - np.asarray(stats["input_mean"])) \
        / np.asarray(stats["input_std"])
    if s2 is None:
        return x.astype("float32")
    d = (np.asarray(s2) - np.asarray(s) - np.asarray(stats["delta_mean"])) \
        / np.asarray(stats["delta_std"])
    return x.astype("float32"), d.astype("float32")


def train_baseline_sequence(method, train_tasks, test_tasks, rollouts,
                            stats, hidden_dims=(32, 32), epochs=40,
                            batch_size=64, learning_rate=1e-3,
                            ewc_lambda=10.0, seed=0):
    """Runs one baseline over a task stream.

    Args:
        method: `"finetune"` (one MLP trained task after task), `"ewc"`
            (fine-tuning plus the EWC penalty) or `"independent"` (a
            fresh MLP per task, T times the parameters: the reference
            without forgetting).
        train_tasks: list of `(states, actions, next_states)`.
        test_tasks: list of the same.
        rollouts: list of `(states, actions)` trajectories.
        stats: normalisation dict (`continual.normalization_stats`).
        hidden_dims: tuple of int.
        epochs: int. Epochs per task.
        batch_size: int.
        learning_rate: float. Adam learning rate.
        ewc_lambda: float (`"ewc"` only).
        seed: int.

    Returns:
        `(one_step, open_loop, dynamics)`: the error matrices `(T, T)`
        and, per task, the numpy dynamics used at the end.

    Example:

    ```python
    e1, e20, dyn = train_baseline_sequence("finetune", tr, te, ro, stats)
    ```
    """
    if method not in METHODS:
        raise ValueError(
            f"`method` must be one of {METHODS}. Received: {method!r}"
        )
    keras.utils.set_random_seed(seed)
    s0, a0, _ = train_tasks[0]
    input_dim, output_dim = s0.shape[1] + a0.shape[1], s0.shape[1]
    n = len(train_tasks)
    one, multi = np.zeros((n, n)), np.zeros((n, n))

    def fresh(offset):
        model = DynamicsMLP(input_dim, hidden_dims, output_dim,
                            ewc_lambda=ewc_lambda if method == "ewc"
                            else 0.0, seed=seed + 100 * offset)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="mse")
        return model

    models, model = [], fresh(0)
    for t, (s, a, s2) in enumerate(train_tasks):
        if method == "independent" and t > 0:
            model = fresh(t)
        x, y = _normalize(stats, s, a, s2)
        model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True,
                  verbose=0)
        if method == "ewc":
            model.consolidate(x)
        models.append(model)
        current = NumpyDynamics(model.numpy_weights(), stats, "tanh")
        dyns = [NumpyDynamics(models[j].numpy_weights(), stats, "tanh")
                if method == "independent" and j < t else current
                for j in range(n)]
        for j in range(n):
            one[t, j], multi[t, j] = task_errors(
                dyns[j], test_tasks[j], rollouts[j], stats["delta_std"])
    return one, multi, dyns
