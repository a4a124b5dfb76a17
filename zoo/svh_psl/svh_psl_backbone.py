"""SVH-PSL backbone: the preference hypernetwork's hidden layers."""

import keras
from keras_hub.models import Backbone

from layers._checks import check_positive_int
from layers._config import ConfigMixin


@keras.saving.register_keras_serializable(package="hyperzoo")
class SVHPSLBackbone(ConfigMixin, Backbone):
    """Hidden layers of a Pareto-set hypernetwork: preference -> features.

    A preference vector `r` on the simplex (one weight per objective)
    goes through `num_layers` ReLU `Dense(hidden_dim)` layers. The task
    `zoo.ParetoSetModel` adds the sigmoid head that returns the solution
    `x = h(r)` in the unit box. The hypernetwork's "generated weights"
    are the decision variables themselves, as in Pareto-set learning
    (PSL): one network represents the whole Pareto set.

    Inputs: `preferences` float `(batch, num_objectives)`.

    Args:
        num_objectives: int. Size of the preference vector (>= 2).
        hidden_dim: int. Width of the hidden layers.
        num_layers: int. Number of hidden layers.
        seed: int or `None`. Initialiser seed.
        dtype: string or `keras.DTypePolicy`. The dtype policy.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.SVHPSLBackbone(num_objectives=2, hidden_dim=64)
    backbone(np.array([[0.3, 0.7]], "float32")).shape  # (1, 64)
    ```

    Reference:
    - [Nguyen et al., 2025](https://arxiv.org/abs/2412.17312), "Improving
      Pareto Set Learning for Expensive Multi-objective Optimization via
      Stein Variational Hypernetworks", AAAI 2025.
    - [Lin et al., 2022](https://arxiv.org/abs/2210.08495), "Pareto Set
      Learning for Expensive Multi-Objective Optimization", NeurIPS 2022.
    """

    def __init__(self, num_objectives, hidden_dim=64, num_layers=2,
                 seed=None, dtype=None, **kwargs):
        num_objectives = check_positive_int("num_objectives",
                                            num_objectives)
        if num_objectives < 2:
            raise ValueError("`num_objectives` must be >= 2. Received: "
                             f"{num_objectives}")
        config = dict(
            num_objectives=num_objectives,
            hidden_dim=check_positive_int("hidden_dim", hidden_dim),
            num_layers=check_positive_int("num_layers", num_layers),
            seed=seed,
        )

        # === Layers ===
        self.hidden_layers = [
            keras.layers.Dense(
                hidden_dim, activation="relu", dtype=dtype,
                kernel_initializer=keras.initializers.HeUniform(
                    None if seed is None else seed + i),
                name=f"hidden_{i}")
            for i in range(num_layers)
        ]

        # === Functional Model ===
        inputs = keras.Input(shape=(num_objectives,), name="preferences")
        x = inputs
        for layer in self.hidden_layers:
            x = layer(x)
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self._set_config(**config)
