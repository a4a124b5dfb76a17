"""HyperCRL backbone: a task-conditioned hypernetwork generating an MLP
dynamics model."""

import keras
import numpy as np
from keras import ops
from keras_hub.models import Backbone

from layers._checks import check_positive_int
from layers._config import ConfigMixin
from layers.functional import FunctionalDense
from layers.hypernetwork import HyperNetwork
from layers.hypernetwork import mlp_specs

_HYPERNETWORK_ARGS = ("num_tasks", "architecture", "embedding_dim",
                      "hidden_units", "chunk_size", "chunk_embedding_dim",
                      "seed")


def _stat(name, value, size, positive=False):
    value = np.zeros(size) if value is None and not positive else value
    value = np.ones(size) if value is None else value
    arr = np.asarray(value, "float64").reshape(-1)
    if arr.shape != (size,) or not np.all(np.isfinite(arr)) or (
            positive and not np.all(arr > 0)):
        raise ValueError(
            f"`{name}` must hold {size} finite"
            f"{' positive' if positive else ''} numbers. Received: "
            f"{name}={value!r}"
        )
    return tuple(float(v) for v in arr)


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperCRLBackbone(ConfigMixin, Backbone):
    """Dynamics MLP whose weights come from a task-conditioned hypernet.

    A `layers.HyperNetwork` maps a task id to every weight of an MLP
    `state_dim + action_dim -> hidden_dims... -> state_dim` that predicts
    the state change: `s_{t+1} = s_t + f(s_t, a_t)` (HyperCRL). Inputs
    are normalised with fixed statistics (`input_mean`, `input_std`,
    given at construction, e.g. from the first task's data) and the
    output is the *normalised* state change
    `(s_{t+1} - s_t - delta_mean) / delta_std`; `next_state` undoes it.

    Inputs: `{"state": (batch, state_dim), "action": (batch,
    action_dim), "task_id": (batch,) int}`.
    Output: normalised state change `(batch, state_dim)`.

    Args:
        state_dim: int.
        action_dim: int.
        hidden_dims: tuple of int. Hidden widths of the dynamics MLP.
        num_tasks: int. Rows of the task-embedding table.
        input_mean: `state_dim + action_dim` floats or `None` (zeros).
        input_std: `state_dim + action_dim` positive floats or `None`.
        delta_mean: `state_dim` floats or `None` (zeros).
        delta_std: `state_dim` positive floats or `None` (ones).
        architecture: `"mlp"` or `"chunked"` hypernetwork.
        embedding_dim: int. Task embedding size (HyperCRL: 10).
        hidden_units: tuple of int. Hypernetwork hidden sizes.
        chunk_size: int or `None` (chunked only).
        chunk_embedding_dim: int (chunked only).
        activation: str. Hidden activation of the dynamics MLP.
        seed: int or `None`.
        dtype: string or `keras.DTypePolicy`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.HyperCRLBackbone(state_dim=3, action_dim=1,
                                    hidden_dims=(32, 32), num_tasks=5)
    backbone({"state": np.zeros((2, 3)), "action": np.zeros((2, 1)),
              "task_id": np.array([0, 4])}).shape  # (2, 3)
    ```

    Reference:
    - [Huang et al., 2021](https://arxiv.org/abs/2009.11997),
      "Continual Model-Based Reinforcement Learning with Hypernetworks".
    - [von Oswald et al., 2020](https://arxiv.org/abs/1906.00695),
      "Continual learning with hypernetworks".
    """

    def __init__(
        self,
        state_dim,
        action_dim,
        hidden_dims=(64, 64),
        num_tasks=5,
        input_mean=None,
        input_std=None,
        delta_mean=None,
        delta_std=None,
        architecture="mlp",
        embedding_dim=10,
        hidden_units=(64,),
        chunk_size=None,
        chunk_embedding_dim=8,
        activation="tanh",
        seed=None,
        dtype=None,
        **kwargs,
    ):
        state_dim = check_positive_int("state_dim", state_dim)
        action_dim = check_positive_int("action_dim", action_dim)
        num_tasks = check_positive_int("num_tasks", num_tasks)
        if architecture not in ("mlp", "chunked"):
            raise ValueError(
                "`architecture` must be 'mlp' or 'chunked'. Received: "
                f"architecture={architecture!r}"
            )
        n_in = state_dim + action_dim
        config = dict(
            state_dim=state_dim, action_dim=action_dim,
            hidden_dims=tuple(int(h) for h in hidden_dims),
            num_tasks=num_tasks,
            input_mean=_stat("input_mean", input_mean, n_in),
            input_std=_stat("input_std", input_std, n_in, positive=True),
            delta_mean=_stat("delta_mean", delta_mean, state_dim),
            delta_std=_stat("delta_std", delta_std, state_dim,
                            positive=True),
            architecture=architecture, embedding_dim=embedding_dim,
            hidden_units=tuple(hidden_units), chunk_size=chunk_size,
            chunk_embedding_dim=chunk_embedding_dim,
            activation=activation, seed=seed,
        )

        # === Layers ===
        self.hypernetwork = HyperNetwork(
            mlp_specs(n_in, config["hidden_dims"], state_dim),
            conditioning="task", output_format="dict", dtype=dtype,
            name="hypernetwork",
            **{key: config[key] for key in _HYPERNETWORK_ARGS},
        )
        n_layers = len(config["hidden_dims"]) + 1
        self.target_layers = [
            FunctionalDense(
                activation=activation if i < n_layers - 1 else None,
                dtype=dtype, name=f"target_dense_{i}",
            )
            for i in range(n_layers)
        ]

        # === Functional Model ===
        state = keras.Input(shape=(state_dim,), name="state")
        action = keras.Input(shape=(action_dim,), name="action")
        task_id = keras.Input(shape=(), dtype="int32", name="task_id")
        mean = np.asarray(config["input_mean"], "float32")
        scale = np.asarray(1.0 / np.asarray(config["input_std"]), "float32")
        x = ops.multiply(
            ops.subtract(ops.concatenate([state, action], axis=-1), mean),
            scale)
        params = self.hypernetwork(task_id)
        outputs = self._target(x, params)
        super().__init__(
            inputs={"state": state, "action": action, "task_id": task_id},
            outputs=outputs, dtype=dtype, **kwargs,
        )

        # === Config ===
        self._set_config(**config)

    def _target(self, x, params):
        for i, layer in enumerate(self.target_layers):
            x = layer(x, params[f"dense_{i}/kernel"],
                      bias=params[f"dense_{i}/bias"])
        return x

    def normalize_inputs(self, state, action):
        """Normalised MLP inputs of raw states and actions (numpy).

        Args:
            state: array `(n, state_dim)`.
            action: array `(n, action_dim)`.

        Returns:
            float32 array `(n, state_dim + action_dim)`.
        """
        x = np.concatenate([np.asarray(state), np.asarray(action)], -1)
        return ((x - np.asarray(self.input_mean))
                / np.asarray(self.input_std)).astype("float32")

    def normalize_delta(self, state, next_state):
        """Normalised state change, the training target (numpy).

        Args:
            state: array `(n, state_dim)`.
            next_state: array `(n, state_dim)`.

        Returns:
            float32 array `(n, state_dim)`.
        """
        delta = np.asarray(next_state) - np.asarray(state)
        return ((delta - np.asarray(self.delta_mean))
                / np.asarray(self.delta_std)).astype("float32")

    def next_state(self, state, normalized_delta):
        """Next state from a state and a normalised predicted change.

        Args:
            state: array `(n, state_dim)`.
            normalized_delta: array `(n, state_dim)`.

        Returns:
            Array `(n, state_dim)`.
        """
        return (np.asarray(state) + np.asarray(normalized_delta)
                * np.asarray(self.delta_std) + np.asarray(self.delta_mean))

    def weights_numpy(self, flat_params):
        """Splits flat generated weights into numpy (kernel, bias) pairs.

        Args:
            flat_params: array `(num_target_params,)`.

        Returns:
            List of `(kernel, bias)` float64 arrays, one per layer.
        """
        parts = self.hypernetwork.split(ops.convert_to_tensor(
            np.asarray(flat_params, "float32")))
        n = len(self.target_layers)
        return [(np.asarray(ops.convert_to_numpy(
                    parts[f"dense_{i}/kernel"]), "float64"),
                 np.asarray(ops.convert_to_numpy(
                    parts[f"dense_{i}/bias"]), "float64"))
                for i in range(n)]

    @property
    def num_target_params(self):
        """Number of parameters of the generated dynamics MLP."""
        return self.hypernetwork.num_target_params

    @property
    def compression_ratio(self):
        """Hypernetwork parameters (task embeddings included) / target's."""
        return self.hypernetwork.compression_ratio
