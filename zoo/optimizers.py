"""Optimizers of the zoo."""

import keras


@keras.saving.register_keras_serializable(package="hyperzoo")
class InplaceAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with an in-place update on PyTorch.

    The maths are Keras's Adam exactly (same moments, bias correction and
    epsilon placement). On the torch backend Keras updates every variable
    with out-of-place `torch._foreach_*` calls that allocate five
    temporaries the size of the model per step; this class writes the
    moments and the variables in place (`_foreach_lerp_`,
    `_foreach_addcmul_`, `_foreach_addcdiv_`) into buffers kept from
    step to step, allocating nothing. For
    hypernetworks, whose output head holds most parameters, the optimizer
    step is most of a CPU training step (about 30 of 45 ms for a 1.8M-
    parameter HMLP), so this matters. The step size is read back to the
    host once per step. On TensorFlow and JAX (compiled steps) and with
    `amsgrad=True`, Keras's own update runs unchanged.

    Args:
        *args: as `keras.optimizers.Adam`.
        **kwargs: as `keras.optimizers.Adam`.

    Example:

    ```python
    model.compile(optimizer=zoo.optimizers.InplaceAdam(1e-3), loss="mse")
    ```

    Reference:
    - [Kingma & Ba, 2015](https://arxiv.org/abs/1412.6980), "Adam: A
      Method for Stochastic Optimization".
    """

    def _backend_update_step(self, grads, trainable_variables,
                             learning_rate):
        if keras.backend.backend() != "torch" or self.amsgrad:
            return super()._backend_update_step(
                grads, trainable_variables, learning_rate
            )
        from zoo import _torch_shim

        _torch_shim.adam_update_(self, grads, trainable_variables,
                                 learning_rate)


@keras.saving.register_keras_serializable(package="hyperzoo")
class Kar3(keras.optimizers.Optimizer):
    """Sign optimizer of the Terminator (HyperZ·Z·W) paper ("Kar3").

    Each step moves every weight by the sum of three signs:
    `w ← w − lr · (sign(g) + sign(m1) + sign(m2))`, then updates the two
    gradient averages `m1 ← β1 m1 + (1−β1) g`, `m2 ← β2 m2 + (1−β2) g`
    *after* the step (as the reference does: the first step uses only
    `sign(g)`). No weight decay of its own (`weight_decay` of the Keras
    base class still works). Sign updates move every weight by up to
    `3·lr` per step: use a warm-up schedule.

    Args:
        learning_rate: float or schedule. Step size.
        beta_1: float. Decay of the fast gradient average.
        beta_2: float. Decay of the slow gradient average.
        name: str. Optimizer name.
        **kwargs: base `keras.optimizers.Optimizer` arguments.

    Example:

    ```python
    model.compile(optimizer=zoo.optimizers.Kar3(1e-3), loss="mse")
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(self, learning_rate=0.001, beta_1=0.5, beta_2=0.95,
                 name="kar3", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(
                    f"`{arg}` must be in [0, 1). Received: {arg}={value!r}"
                )
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, var_list):
        """Creates the two gradient averages of every variable.

        Args:
            var_list: list of the variables to optimise.
        """
        if self.built:
            return
        super().build(var_list)
        self._fast_averages, self._slow_averages = (
            self.add_optimizer_variables(var_list, ["fast", "slow"])
        )

    def update_step(self, gradient, variable, learning_rate):
        """One sign step of `variable`, then the average updates.

        Args:
            gradient: the gradient of `variable`.
            variable: the variable to update.
            learning_rate: the current step size.
        """
        ops = keras.ops
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        m1 = self._fast_averages[index]
        m2 = self._slow_averages[index]
        step = ops.sign(gradient) + ops.sign(m1) + ops.sign(m2)
        self.assign_sub(variable, ops.multiply(lr, step))
        self.assign(m1, ops.add(ops.multiply(m1, self.beta_1),
                                ops.multiply(gradient, 1 - self.beta_1)))
        self.assign(m2, ops.add(ops.multiply(m2, self.beta_2),
                                ops.multiply(gradient, 1 - self.beta_2)))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
