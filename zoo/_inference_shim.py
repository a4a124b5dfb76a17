"""Compiled inference of a Keras model, the way each backend serves it.

The zoo's second backend shim (after `zoo._torch_shim`): it imports the
current backend's framework, and only inside `compiled_forward`, so
importing this module is safe on every backend. Callers import it
lazily too. Tested on each backend by `tests/test_inference_shim.py`.

Why a shim: Keras' `predict_on_batch` adds a fixed Python cost per call
(data adapter, callbacks, output conversion). On small inputs that
overhead hides the model's own cost, so a compact model cannot show a
batch-1 speed-up. `compiled_forward` strips it and keeps what a
server would run.
"""

import keras
import numpy as np


def _jax_forward(model):
    import jax
    import jax.numpy as jnp

    # Copies: Keras' JAX trainer donates (deletes) the variables' buffers
    # in `fit`/`predict`, which would invalidate references to them.
    trainable = [jnp.array(v.value, copy=True)
                 for v in model.trainable_variables]
    non_trainable = [jnp.array(v.value, copy=True)
                     for v in model.non_trainable_variables]

    @jax.jit
    def forward(trainable, non_trainable, x):
        outputs, _ = model.stateless_call(trainable, non_trainable, x,
                                          training=False)
        return outputs

    def run(x):
        return np.asarray(
            forward(trainable, non_trainable, x).block_until_ready())

    return run


def _tensorflow_forward(model):
    import tensorflow as tf

    forward = tf.function(lambda x: model(x, training=False),
                          jit_compile=True, reduce_retracing=True)

    def run(x):
        return forward(tf.convert_to_tensor(x)).numpy()

    return run


def _torch_forward(model):
    import torch

    def run(x):
        with torch.no_grad():
            outputs = model(keras.ops.convert_to_tensor(x), training=False)
        return outputs.detach().cpu().numpy()

    return run


def compiled_forward(model):
    """A callable `x -> numpy logits` running `model`'s compiled inference.

    Per backend, the model's inference as that backend serves it:
    - JAX: `jax.jit` of `model.stateless_call(..., training=False)`,
      waiting for the result (`block_until_ready`). The variables'
      values are copied once, when `compiled_forward` is called: later
      changes to the weights are not seen (call it again).
    - TensorFlow: `tf.function(jit_compile=True)` (XLA) of
      `model(x, training=False)`.
    - PyTorch: eager `model(x, training=False)` under `torch.no_grad()`.
      Not `torch.compile`: Keras itself runs PyTorch eagerly (its
      `jit_compile="auto"` means eager on torch and its torch.compile
      path is experimental), Keras layers break `torch.compile` graphs
      into many pieces, and the first call compiles for tens of
      seconds with a C++ toolchain the eager path does not need.

    The first call compiles (JAX, TensorFlow): warm the callable up
    before timing it. The model's input checks (`zoo.task.ZooTask`)
    are not run: the callable is for timing and serving checked inputs.

    Args:
        model: a built `keras.Model` with one input.

    Returns:
        A function of one array-like `x` returning the model's outputs
        as a numpy array.

    Example:

    ```python
    forward = compiled_forward(model)
    logits = forward(x[:1])  # same values as model.predict(x[:1])
    ```
    """
    backend = keras.backend.backend()
    builders = {"jax": _jax_forward, "tensorflow": _tensorflow_forward,
                "torch": _torch_forward}
    if backend not in builders:
        raise ValueError(
            f"compiled_forward supports the jax, tensorflow and torch "
            f"backends. Received: backend={backend!r}"
        )
    return builders[backend](model)
