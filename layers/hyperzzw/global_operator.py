"""The global HyperZ·Z·W operator: a context kernel meets the values.

`hyperzzw_global` lets a context-dependent kernel `Z` interact with
values over the whole grid: a matrix product over the spatial axes in
2-D, a circular or causal long convolution computed by FFT in 1-D (see
decision 1 in the `layers.hyperzzw` package docstring). `HyperZZW`
wraps it as a layer that first forms `Z = x ⊙ K` from a hyper-kernel.
"""

import keras
from keras import ops

from layers.hyperzzw._common import _check_feature_shape
from layers.hyperzzw._common import _check_global_mode
from layers.hyperzzw._common import _check_like_inputs
from layers.hyperzzw._common import _check_rank
from layers.hyperzzw._common import _check_square


def hyperzzw_global(z, values, rank, mode="circular"):
    """Global interaction of a context kernel `z` with `values`.

    Rank 2: the matrix product over the spatial axes,
    `out[b, h, v, c] = Σ_w z[b, h, w, c] · values[b, w, v, c]` (needs a
    square map). Rank 1: the convolution of `values` with `z` along the
    sequence, by FFT in float32, circular (`out[t] = Σ_s z[s] ·
    values[(t - s) mod L]`) or causal (`Σ_{s<=t}`).

    Args:
        z: tensor `(batch, *grid, channels)`.
        values: tensor of the same shape.
        rank: int. 1 or 2.
        mode: str. `"circular"` or `"causal"` (rank 1 only).

    Returns:
        Tensor of the same shape, in `values`' dtype.

    Example:

    ```python
    out = layers.hyperzzw_global(z, v, rank=1)
    ```
    """
    if rank == 2:
        return ops.einsum("bhwc,bwvc->bhvc", z, values)
    dtype = values.dtype
    length = values.shape[1]
    n = length if mode == "circular" else 2 * length
    zt = ops.transpose(ops.cast(z, "float32"), (0, 2, 1))
    vt = ops.transpose(ops.cast(values, "float32"), (0, 2, 1))
    zr, zi = ops.rfft(zt, fft_length=n)
    vr, vi = ops.rfft(vt, fft_length=n)
    out = ops.irfft((zr * vr - zi * vi, zr * vi + zi * vr), fft_length=n)
    out = out[:, :, :length]
    return ops.cast(ops.transpose(out, (0, 2, 1)), dtype)


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperZZW(keras.layers.Layer):
    """The HyperZ·Z·W operator: hyper-kernel times activations, then global.

    Step 1 makes the context-dependent kernel `Z = x ⊙ K` from the
    activations `x` and a hyper-kernel `K` (from `ImplicitKernel`); step 2
    lets `Z` interact with `values` over the whole grid (`hyperzzw_global`:
    a spatial matrix product in 2-D, an FFT long convolution in 1-D; see
    the `layers.hyperzzw` docstring for why). No weights.

    Args:
        rank: int. 1 or 2.
        global_mode: str. `"circular"` or `"causal"` (rank 1).
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: activations `x`, `(batch, *grid, channels)`.
        kernel: hyper-kernel `(1 or batch, *grid, channels)`.
        values: tensor like `inputs`; defaults to `Z` itself.

    Example:

    ```python
    op = layers.HyperZZW(rank=2)
    x = np.random.rand(2, 8, 8, 3).astype("float32")
    k = np.random.rand(1, 8, 8, 3).astype("float32")
    op(x, kernel=k, values=x).shape  # (2, 8, 8, 3)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(self, rank=1, global_mode="circular", **kwargs):
        super().__init__(**kwargs)
        self.rank = _check_rank(rank)
        self.global_mode = _check_global_mode(global_mode)

    def build(self, inputs_shape, kernel_shape=None, values_shape=None):
        grid, c = _check_feature_shape("HyperZZW", inputs_shape, self.rank)
        _check_square("HyperZZW", self.rank, grid,
                      "multiplies the maps over the spatial axes and needs "
                      "height == width")
        if kernel_shape is not None and (
            tuple(kernel_shape[1:]) != grid + (c,)
        ):
            raise ValueError(
                f"`kernel` must have shape (1, *{grid}, {c}). Received "
                f"shape: {tuple(kernel_shape)}"
            )
        _check_like_inputs("values", values_shape, inputs_shape, grid, c)
        self.built = True

    def hyper_kernel(self, kernel, dtype):
        """The hyper-kernel as it meets the activations (a product hook
        that `zoo.dfp_training` wraps for DFP INT16).

        Args:
            kernel: the slow network's kernel.
            dtype: the compute dtype of the activations.

        Returns:
            `kernel` cast to `dtype`.
        """
        return ops.cast(kernel, dtype)

    def global_product(self, z, values):
        """`hyperzzw_global(z, values, rank, global_mode)` (a product
        hook, like `hyper_kernel`).

        Args:
            z: the hyper-kernel times the input.
            values: the values mixed by the global product.

        Returns:
            The global product, shaped like `values`.
        """
        return hyperzzw_global(z, values, self.rank, self.global_mode)

    def call(self, inputs, kernel, values=None):
        z = inputs * self.hyper_kernel(kernel, inputs.dtype)
        values = z if values is None else values
        return self.global_product(z, values)

    def compute_output_shape(self, inputs_shape, kernel_shape=None,
                             values_shape=None):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rank": self.rank, "global_mode": self.global_mode})
        return config

