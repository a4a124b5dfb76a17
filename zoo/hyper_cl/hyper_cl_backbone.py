"""HyperCL backbone: a task-conditioned hypernetwork and its target MLP."""

import keras
from keras import ops
from keras_hub.models import Backbone

from layers._checks import check_choice
from layers._checks import check_positive_int
from layers._config import ConfigMixin
from layers.functional import FunctionalDense
from layers.hypernetwork import ARCHITECTURES
from layers.hypernetwork import HyperNetwork
from layers.hypernetwork import mlp_specs


def _check_config(input_dim, num_classes, num_tasks, architecture):
    """Checks the backbone's sizes and architecture; returns the sizes."""
    sizes = (check_positive_int("input_dim", input_dim),
             check_positive_int("num_classes", num_classes),
             check_positive_int("num_tasks", num_tasks))
    check_choice("architecture", architecture, ARCHITECTURES)
    return sizes


# The config entries that are also `HyperNetwork` arguments.
_HYPERNETWORK_ARGS = ("num_tasks", "architecture", "embedding_dim",
                      "hidden_units", "chunk_size", "chunk_embedding_dim",
                      "recurrent_units", "residual", "seed")


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperCLBackbone(ConfigMixin, Backbone):
    """Target MLP whose every parameter comes from a task-conditioned hypernet.

    A `layers.HyperNetwork` maps a task id to the full parameter vector of
    an MLP `input_dim -> hidden_dims... -> num_classes` (kernels and biases
    of every layer, the output layer included, so each task has its own
    head: the multi-head, task-incremental setting CL1 of von Oswald et
    al.). The target runs with `layers.FunctionalDense` on the generated
    weights, one weight set per sample (ids may differ within a batch).

    Inputs: `{"features": (batch, input_dim), "task_id": (batch,) int}`.
    Output: logits `(batch, num_classes)` in the compute dtype.

    Args:
        input_dim: int. Input size.
        hidden_dims: tuple of int. Hidden widths of the target MLP.
        num_classes: int. Outputs per task.
        num_tasks: int. Number of tasks (rows of the embedding table).
        architecture: `"mlp"`, `"chunked"` or `"recurrent"` hypernetwork.
        embedding_dim: int. Task embedding size.
        hidden_units: tuple of int. Hypernetwork hidden sizes.
        chunk_size: int or `None`. Chunk size (chunked, recurrent).
        chunk_embedding_dim: int. Chunk embedding size.
        recurrent_units: int. LSTM size (recurrent).
        residual: bool. MIP residual `theta0`.
        activation: str. Hidden activation of the target.
        seed: int or `None`. Initialiser seed.
        dtype: string or `keras.DTypePolicy`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.HyperCLBackbone(input_dim=64, hidden_dims=(32,),
                                   num_classes=10, num_tasks=3,
                                   architecture="chunked", chunk_size=256)
    backbone({"features": np.zeros((2, 64), "float32"),
              "task_id": np.array([0, 2])}).shape  # (2, 10)
    ```

    Reference:
    - [von Oswald et al., 2020](https://arxiv.org/abs/1906.00695),
      "Continual learning with hypernetworks" (the CL1 setting).
    - The papers of the hypernetwork architectures and initialisation:
      see `layers.HyperNetwork`.
    """

    def __init__(
        self,
        input_dim,
        hidden_dims=(100, 100),
        num_classes=10,
        num_tasks=10,
        architecture="chunked",
        embedding_dim=8,
        hidden_units=(100, 100),
        chunk_size=None,
        chunk_embedding_dim=8,
        recurrent_units=64,
        residual=False,
        activation="relu",
        seed=None,
        dtype=None,
        **kwargs,
    ):
        input_dim, num_classes, num_tasks = _check_config(
            input_dim, num_classes, num_tasks, architecture)
        hidden_dims = tuple(int(h) for h in hidden_dims)
        config = dict(
            input_dim=input_dim, hidden_dims=hidden_dims,
            num_classes=num_classes, num_tasks=num_tasks,
            architecture=architecture, embedding_dim=embedding_dim,
            hidden_units=tuple(hidden_units), chunk_size=chunk_size,
            chunk_embedding_dim=chunk_embedding_dim,
            recurrent_units=recurrent_units, residual=residual,
            activation=activation, seed=seed,
        )

        # === Layers ===
        self.hypernetwork = HyperNetwork(
            mlp_specs(input_dim, hidden_dims, num_classes),
            conditioning="task", output_format="dict", dtype=dtype,
            name="hypernetwork",
            **{key: config[key] for key in _HYPERNETWORK_ARGS},
        )
        n_layers = len(hidden_dims) + 1
        self.target_layers = [
            FunctionalDense(
                activation=activation if i < n_layers - 1 else None,
                dtype=dtype,
                name=f"target_dense_{i}",
            )
            for i in range(n_layers)
        ]

        # === Functional Model ===
        features = keras.Input(shape=(input_dim,), name="features")
        task_id = keras.Input(shape=(), dtype="int32", name="task_id")
        params = self.hypernetwork(task_id)
        x = self._target(features, params)
        super().__init__(
            inputs={"features": features, "task_id": task_id},
            outputs=x,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self._set_config(**config)

    def _target(self, x, params):
        for i, layer in enumerate(self.target_layers):
            x = layer(x, params[f"dense_{i}/kernel"],
                      bias=params[f"dense_{i}/bias"])
        return x

    def target_forward(self, features, flat_params):
        """Runs the target MLP on given flat weights (no hypernetwork).

        Args:
            features: array `(batch, input_dim)`.
            flat_params: array `(num_target_params,)` (shared by the batch)
                or `(batch, num_target_params)`.

        Returns:
            Logits `(batch, num_classes)`.

        Example:

        ```python
        flat = backbone.hypernetwork.generate(np.array(0))
        logits = backbone.target_forward(x, flat)
        ```
        """
        flat = ops.convert_to_tensor(flat_params)
        return self._target(ops.convert_to_tensor(features),
                            self.hypernetwork.split(flat))

    @property
    def num_target_params(self):
        """Number of parameters of the generated target MLP."""
        return self.hypernetwork.num_target_params

    @property
    def compression_ratio(self):
        """Hypernetwork parameters (task embeddings included) / target's."""
        return self.hypernetwork.compression_ratio
