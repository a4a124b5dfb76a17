"""Compiled inference of a Keras model, the way each backend serves it.

The zoo's second backend shim (after `zoo._torch_shim`): it imports the
current backend's framework, and only inside `compiled_forward`, so
importing this module is safe on every backend. Callers import it
lazily too. Tested on each backend by `tests/test_inference_shim.py`.

Why a shim: Keras' `predict_on_batch` adds a fixed Python cost per call
(data adapter, callbacks, output conversion). On small inputs that
overhead hides the model's own cost, so a compact model cannot show a
batch-1 speed-up. `compiled_forward` strips it and keeps what a
server would run. `compiled_function` compiles a custom function of
layers the same way (DyVTE's batch-1 removal path,
`zoo.token_exit.token_exit_fast`).
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


def _jax_function(fn, variables):
    import jax
    import jax.numpy as jnp

    # Copied once (see `_jax_forward`) and passed as arguments, not
    # closed over: the executable holds no weights as constants.
    values = [jnp.array(v.value, copy=True) for v in variables]

    def pure(values, *args):
        mapping = list(zip(variables, values))
        with keras.StatelessScope(state_mapping=mapping):
            return fn(*args)

    jitted = jax.jit(pure)

    def run(*args):
        return jitted(values, *args)

    return run


def _tensorflow_function(fn, variables):
    import tensorflow as tf

    compiled = tf.function(fn, jit_compile=True)

    def run(*args):
        return compiled(*[tf.convert_to_tensor(a) for a in args])

    return run


def _torch_function(fn, variables):
    import torch

    def run(*args):
        with torch.no_grad():
            return fn(*[keras.ops.convert_to_tensor(a) for a in args])

    return run


def compiled_function(fn, variables):
    """Compiles `fn`, a function of tensors that calls Keras layers.

    The backend's compiler for a custom inference function (several
    layers of a model, control flow with `keras.ops.cond`), one
    executable per input signature:
    - JAX: `jax.jit`, the values of `variables` copied once and passed
      as arguments (read through a `keras.StatelessScope`): later
      changes to the weights are not seen (compile again).
    - TensorFlow: `tf.function(jit_compile=True)` (XLA); the variables
      are read live.
    - PyTorch: eager under `torch.no_grad()` (see `compiled_forward`
      for why not `torch.compile`).

    Keep the arguments' shapes and dtypes fixed (numpy scalars, not
    Python numbers, for values that change): every new signature
    compiles again. The outputs are backend tensors (convert with
    `keras.ops.convert_to_numpy`), not yet waited for on JAX.

    Args:
        fn: a function of backend tensors returning a tensor or a
            structure of tensors.
        variables: list of the Keras variables `fn` reads (all of
            them: on JAX a variable not listed is baked in as a
            constant).

    Returns:
        A function of the same arguments (array-likes).

    Example:

    ```python
    head = compiled_function(lambda h: model.answer_head(h[:, -1]),
                             model.variables)
    logits = keras.ops.convert_to_numpy(head(hidden))
    ```
    """
    backend = keras.backend.backend()
    builders = {"jax": _jax_function, "tensorflow": _tensorflow_function,
                "torch": _torch_function}
    if backend not in builders:
        raise ValueError(
            f"compiled_function supports the jax, tensorflow and torch "
            f"backends. Received: backend={backend!r}"
        )
    return builders[backend](fn, list(variables))
