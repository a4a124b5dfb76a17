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
