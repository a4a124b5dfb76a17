"""`WrapperOptimizer`: the base of the pruning optimizers (private).

A wrapper owns its own variables (masks, counters) and delegates the
update, the learning rate, the iteration count and loss scaling to the
wrapped optimizer, as `keras.optimizers.LossScaleOptimizer` does; its
`variables` are its own followed by the wrapped optimizer's, so JAX's
stateless train step carries both.
"""

import keras
from keras.src.saving import serialization_lib


class WrapperOptimizer(keras.optimizers.Optimizer):
    """Base class of optimizers that wrap another optimizer.

    Subclasses create their variables in `build` (then call
    `super().build(var_list)`), do their work in `apply` around
    `self.inner_optimizer.apply(...)`, and add their arguments to
    `get_config`.

    Args:
        inner_optimizer: a `keras.optimizers.Optimizer`.
        name: str or `None`.

    Example:

    ```python
    class Clipper(WrapperOptimizer):
        def apply(self, grads, trainable_variables=None):
            self.inner_optimizer.apply(grads, trainable_variables)
    ```
    """

    def __init__(self, inner_optimizer, name=None, **kwargs):
        if kwargs:
            raise ValueError(f"{type(self).__name__} takes no base optimizer "
                             "arguments (set them on `inner_optimizer`). "
                             f"Received: {sorted(kwargs)}")
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise ValueError("`inner_optimizer` must be a keras Optimizer. "
                             f"Received: {inner_optimizer!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer

    def build(self, var_list):
        """Builds the wrapped optimizer, then this one.

        Args:
            var_list: list of the model's trainable variables.
        """
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    def ensure_built(self, trainable_variables):
        """Builds on the first `apply`, as Keras optimizers do.

        Args:
            trainable_variables: list of variables, or `None`.
        """
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
            self.built = True

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "inner_optimizer": serialization_lib.serialize_keras_object(
                self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, dict) and "class_name" in value:
                config[key] = serialization_lib.deserialize_keras_object(
                    value, custom_objects=custom_objects)
        return cls(**config)
