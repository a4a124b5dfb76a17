"""Target layers that take their weights as call arguments.

A hypernetwork's output cannot be written into a Keras layer's variables
without breaking the gradient path (and `torch.func.functional_call` on
a Keras model gives zero gradients, keras-team/keras#20279). These layers
therefore own no variables: the kernel and bias are call inputs, either
shared by the batch or one set per sample.
"""

import keras
from keras import ops

from layers._checks import check_choice

PADDINGS = ("valid", "same")


def _rank(shape):
    return len(tuple(shape))


def _dense_forward(inputs, kernel, bias, dtype):
    """`inputs @ kernel + bias` in `dtype`; a 3-D kernel is per sample."""
    x = ops.cast(inputs, dtype)
    kernel = ops.cast(kernel, dtype)
    if len(kernel.shape) == 2:
        y = ops.matmul(x, kernel)
        if bias is not None:
            y = ops.add(y, ops.cast(bias, dtype))
        return y
    shape = ops.shape(x)
    units = ops.shape(kernel)[-1]
    x3 = ops.reshape(x, (shape[0], -1, shape[-1]))
    y = ops.einsum("bni,bio->bno", x3, kernel)
    if bias is not None:
        b = ops.cast(bias, dtype)
        y = ops.add(y, ops.expand_dims(b, 1))
    return ops.reshape(y, tuple(shape[:-1]) + (units,))


class _FunctionalLayer(keras.layers.Layer):
    """Checks the call inputs, applies `_forward`, then the activation.

    Subclasses define `_check(inputs_shape, kernel_shape, bias_shape)`
    and `_forward(inputs, kernel, bias)`.
    """

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.get(activation)

    def build(self, inputs_shape, kernel_shape, bias_shape=None):
        self._check(inputs_shape, kernel_shape, bias_shape)
        self.built = True

    def call(self, inputs, kernel, bias=None):
        self._check(
            ops.shape(inputs), ops.shape(kernel),
            None if bias is None else ops.shape(bias),
        )
        y = self._forward(inputs, kernel, bias)
        if self.activation is not None:
            y = self.activation(y)
        return y

    def get_config(self):
        config = super().get_config()
        config["activation"] = keras.activations.serialize(self.activation)
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class FunctionalDense(_FunctionalLayer):
    """Dense layer whose kernel and bias are call inputs.

    Batch policy (explicit, never squeezed): a kernel of shape
    `(input_dim, units)` is shared by the whole batch; a kernel of shape
    `(batch, input_dim, units)` gives every sample its own weights (one
    `einsum`, no loop). A bias is `(units,)` or `(batch, units)` to match.
    Inputs may have extra middle axes, `(batch, ..., input_dim)`.

    Args:
        activation: activation applied to the output (any
            `keras.activations.get` identifier). Defaults to `None`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(batch, ..., input_dim)`.
        kernel: tensor `(input_dim, units)` or `(batch, input_dim, units)`.
        bias: `None` or a tensor `(units,)` / `(batch, units)`.

    Example:

    ```python
    dense = layers.FunctionalDense(activation="relu")
    x = np.ones((4, 3), "float32")
    dense(x, kernel=np.ones((3, 2), "float32")).shape  # (4, 2)
    dense(x, kernel=np.ones((4, 3, 2), "float32")).shape  # per sample
    ```

    Reference:
    - [Ha et al., 2017](https://arxiv.org/abs/1609.09106), "HyperNetworks".
    - [von Oswald et al., 2020](https://arxiv.org/abs/1906.00695),
      "Continual learning with hypernetworks" (functional target nets).
    """

    def _check(self, inputs_shape, kernel_shape, bias_shape):
        k_rank = _rank(kernel_shape)
        if k_rank not in (2, 3):
            raise ValueError(
                "`kernel` must have shape (input_dim, units) or (batch, "
                f"input_dim, units). Received: kernel.shape={kernel_shape}"
            )
        in_dim = kernel_shape[-2]
        if (inputs_shape[-1] is not None and in_dim is not None
                and inputs_shape[-1] != in_dim):
            raise ValueError(
                f"The last axis of `inputs` ({inputs_shape[-1]}) must equal "
                f"the kernel's input size ({in_dim}). Received: "
                f"inputs.shape={inputs_shape}, kernel.shape={kernel_shape}"
            )
        if k_rank == 3 and _rank(inputs_shape) < 2:
            raise ValueError(
                "A per-sample kernel (batch, input_dim, units) needs "
                f"batched `inputs`. Received: inputs.shape={inputs_shape}"
            )
        if bias_shape is not None:
            expected = k_rank - 1
            if _rank(bias_shape) != expected:
                raise ValueError(
                    "`bias` must be (units,) with a shared kernel and "
                    "(batch, units) with a per-sample kernel. Received: "
                    f"bias.shape={bias_shape}, kernel.shape={kernel_shape}"
                )

    def _forward(self, x, kernel, bias):
        return _dense_forward(x, kernel, bias, self.compute_dtype)

    def compute_output_shape(self, inputs_shape, kernel_shape,
                             bias_shape=None):
        return tuple(inputs_shape[:-1]) + (kernel_shape[-1],)


@keras.saving.register_keras_serializable(package="hyperzoo")
class FunctionalConv2D(_FunctionalLayer):
    """2D convolution whose kernel and bias are call inputs.

    A kernel of shape `(kh, kw, in, out)` (Keras layout) is shared by the
    batch and applied with `keras.ops.conv`. A kernel of shape `(batch,
    kh, kw, in, out)` gives each sample its own filters; the convolution
    is then computed as image patches (`keras.ops.image.extract_patches`)
    times the flattened kernel in one batched `einsum` (no loop, no
    grouped convolution, which TensorFlow lacks on CPU). Channels last.

    Args:
        strides: int or tuple of 2 ints. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        activation: activation applied to the output. Defaults to `None`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(batch, height, width, in)`.
        kernel: tensor `(kh, kw, in, out)` or `(batch, kh, kw, in, out)`.
        bias: `None` or a tensor `(out,)` / `(batch, out)`.

    Example:

    ```python
    conv = layers.FunctionalConv2D(padding="same")
    x = np.ones((2, 8, 8, 1), "float32")
    conv(x, kernel=np.ones((2, 3, 3, 1, 4), "float32")).shape  # (2, 8, 8, 4)
    ```

    Reference:
    - [Ha et al., 2017](https://arxiv.org/abs/1609.09106), "HyperNetworks".
    """

    def __init__(self, strides=1, padding="valid", activation=None,
                 **kwargs):
        super().__init__(activation=activation, **kwargs)
        if isinstance(strides, int):
            strides = (strides, strides)
        strides = tuple(strides)
        if len(strides) != 2 or any(
            not isinstance(s, int) or s <= 0 for s in strides
        ):
            raise ValueError(
                "`strides` must be a positive int or a tuple of 2 positive "
                f"ints. Received: strides={strides!r}"
            )
        self.strides = strides
        self.padding = check_choice("padding", padding, PADDINGS)

    def _check(self, inputs_shape, kernel_shape, bias_shape):
        if _rank(inputs_shape) != 4:
            raise ValueError(
                "`inputs` must be (batch, height, width, channels). "
                f"Received: inputs.shape={inputs_shape}"
            )
        k_rank = _rank(kernel_shape)
        if k_rank not in (4, 5):
            raise ValueError(
                "`kernel` must be (kh, kw, in, out) or (batch, kh, kw, in, "
                f"out). Received: kernel.shape={kernel_shape}"
            )
        if (inputs_shape[-1] is not None and kernel_shape[-2] is not None
                and inputs_shape[-1] != kernel_shape[-2]):
            raise ValueError(
                f"`inputs` has {inputs_shape[-1]} channels but the kernel "
                f"expects {kernel_shape[-2]}. Received: kernel.shape="
                f"{kernel_shape}"
            )
        if bias_shape is not None and _rank(bias_shape) != k_rank - 3:
            raise ValueError(
                "`bias` must be (out,) with a shared kernel and (batch, "
                "out) with a per-sample kernel. Received: "
                f"bias.shape={bias_shape}, kernel.shape={kernel_shape}"
            )

    def _forward(self, inputs, kernel, bias):
        x = ops.cast(inputs, self.compute_dtype)
        kernel = ops.cast(kernel, self.compute_dtype)
        if len(kernel.shape) == 4:
            y = ops.conv(x, kernel, strides=self.strides,
                         padding=self.padding)
            if bias is not None:
                y = ops.add(y, ops.cast(bias, self.compute_dtype))
        else:
            kh, kw, cin, cout = kernel.shape[1:]
            patches = ops.image.extract_patches(
                x, (kh, kw), strides=self.strides, padding=self.padding,
                data_format="channels_last",
            )
            flat = ops.reshape(kernel, (-1, kh * kw * cin, cout))
            y = ops.einsum("bhwk,bko->bhwo", patches, flat)
            if bias is not None:
                b = ops.cast(bias, self.compute_dtype)
                y = ops.add(y, b[:, None, None, :])
        return y

    def compute_output_shape(self, inputs_shape, kernel_shape,
                             bias_shape=None):
        batch, h, w, _ = inputs_shape
        kh, kw, _, cout = kernel_shape[-4:]
        out = []
        for size, k, s in zip((h, w), (kh, kw), self.strides):
            if size is None:
                out.append(None)
            elif self.padding == "same":
                out.append(-(-size // s))
            else:
                out.append((size - k) // s + 1)
        return (batch, out[0], out[1], cout)

    def get_config(self):
        config = super().get_config()
        config.update({"strides": list(self.strides),
                       "padding": self.padding})
        return config
