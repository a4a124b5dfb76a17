"""Local branches: depthwise convolutions with context-generated kernels.

`ContextLocalConv` pools a context to a small kernel grid and turns it
into a depthwise kernel with a modulated sine network (the local kernel
network of the Terminator); `per_sample_depthwise_conv` applies one such
kernel per sample and `adaptive_pool_matrix` does the pooling.
"""

import math

import keras
import numpy as np
from keras import ops

from layers._checks import check_positive_int
from layers.hyperzzw._common import _MOMENTUM
from layers.hyperzzw._common import _check_feature_shape
from layers.hyperzzw._common import _check_like_inputs
from layers.hyperzzw._common import _check_rank
from layers.hyperzzw._common import _check_statistics
from layers.hyperzzw._common import _mixer
from layers.hyperzzw._common import _offset_seed
from layers.hyperzzw.implicit_kernels import _SirenStackMixin
from layers.hyperzzw.implicit_kernels import grid_coordinates
from layers.hyperzzw.standardization import _running_batch_norm
from layers.hyperzzw.standardization import _standardize_by_statistics
from layers.hyperzzw.standardization import instance_standardize

# Constants of the local kernel renormalisation (untrained in the
# reference too).
_ALPHA = 1.0
_BETA = 0.1


def adaptive_pool_matrix(length, size):
    """Averaging matrix of PyTorch-style adaptive average pooling.

    Output bin `i` averages inputs `floor(i L / k) .. ceil((i+1) L / k)-1`.

    Args:
        length: int. Input length `L`.
        size: int. Output length `k`.

    Returns:
        float32 numpy array `(size, length)` whose rows sum to 1.

    Example:

    ```python
    layers.adaptive_pool_matrix(4, 2)  # [[.5, .5, 0, 0], [0, 0, .5, .5]]
    ```
    """
    m = np.zeros((size, length), "float32")
    for i in range(size):
        start = (i * length) // size
        end = -((-(i + 1) * length) // size)
        m[i, start:end] = 1.0 / (end - start)
    return m


def per_sample_depthwise_conv(inputs, kernel):
    """Depthwise convolution with a different kernel for every sample.

    "Same" zero padding, stride 1, as a sum of shifted slices (the kernels
    are small: `k` slices in 1-D, `k²` in 2-D).

    Args:
        inputs: tensor `(batch, *grid, channels)`, rank 1 or 2 grid.
        kernel: tensor `(batch or 1, k, [k,] channels)`, odd `k`.

    Returns:
        Tensor `(batch, *grid, channels)` in `inputs`' dtype.

    Example:

    ```python
    x = np.random.rand(2, 40, 4).astype("float32")
    k = np.random.rand(2, 3, 4).astype("float32")
    layers.per_sample_depthwise_conv(x, k).shape  # (2, 40, 4)
    ```
    """
    rank = len(inputs.shape) - 2
    k = kernel.shape[1]
    p = (k - 1) // 2
    kernel = ops.cast(kernel, inputs.dtype)
    padded = ops.pad(inputs, [(0, 0)] + [(p, p)] * rank + [(0, 0)])
    out = None
    if rank == 1:
        length = inputs.shape[1]
        for j in range(k):
            term = padded[:, j:j + length, :] * kernel[:, j:j + 1, :]
            out = term if out is None else out + term
        return out
    height, width = inputs.shape[1], inputs.shape[2]
    for i in range(k):
        for j in range(k):
            term = (padded[:, i:i + height, j:j + width, :]
                    * kernel[:, i:i + 1, j:j + 1, :])
            out = term if out is None else out + term
    return out


@keras.saving.register_keras_serializable(package="hyperzoo")
class ContextLocalConv(_SirenStackMixin, keras.layers.Layer):
    """Depthwise convolution with a kernel generated from a context.

    The context is adaptively average-pooled to the `k` (or `k×k`) kernel
    grid and its channels reduced to `hidden_dim`; a GELU layer turns it
    into per-position modulations `s`. A sine network over the kernel
    coordinates (as in `ImplicitKernel`) is modulated layer by layer:
    `h ← sin(F_i c) ⊙ (A_i h + b_i) + P`, `h ← 1.0·sg(h) + 0.1·h/‖h‖`
    (the reference's untrained constants), then
    `h ← h ⊙ (B_i s)`.

    Decision (batch independence, see the `layers.hyperzzw` docstring):
    the reference (`statistics="batch"`) averages the reduced context over
    the batch, so one kernel serves the whole batch. With
    `statistics="sample"` every sample gets the kernel of its own context;
    with `"running"` training uses the batch mean as the reference does
    and inference a moving average of it (momentum 0.99), like the
    moving statistics of batch normalisation.

    Decision: the reference detaches the first term (`1.0·sg(h)`); with
    that, the frequencies of the later sine layers got gradients of
    ~1e-10 (measured on the 1-D test block) and never trained. Here the
    forward value is the same but the gradient flows through both terms.

    The kernel convolves `inputs` depthwise ("same" padding); a channel
    mixer without bias (a bias is cancelled by the standardisation that
    follows; with one channel the mixer is left out, since the
    standardisation would keep only its sign), a standardisation per
    channel over space (per sample for `"sample"`; batch statistics, with
    moving averages at inference for `"running"`; batch statistics always
    for `"batch"`) and GELU follow.

    Args:
        kernel_size: int. Odd kernel size `k`.
        rank: int. 1 or 2.
        hidden_dim: int. Width of the kernel network.
        num_layers: int. Multiplicative layers.
        omega_0: float. Frequency scale.
        statistics: str. `"sample"`, `"running"` or `"batch"`.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, *grid, channels)`, convolved.
        context: tensor of the same shape conditioning the kernel;
            defaults to `inputs`.
        training: bool. Batch or moving statistics (`"running"` only).

    Example:

    ```python
    conv = layers.ContextLocalConv(kernel_size=3, rank=1)
    x = np.random.rand(2, 40, 4).astype("float32")
    conv(x, context=x).shape  # (2, 40, 4)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(self, kernel_size=3, rank=1, hidden_dim=16, num_layers=2,
                 omega_0=10.0, statistics="running", seed=None, **kwargs):
        super().__init__(**kwargs)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 != 1:
            raise ValueError(
                "`kernel_size` must be odd. "
                f"Received: kernel_size={kernel_size}"
            )
        self.kernel_size = kernel_size
        self.rank = _check_rank(rank)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.omega_0 = float(omega_0)
        self.statistics = _check_statistics(statistics)
        self.positional_bias = True
        self.seed = seed
        # The kernel network runs in float32 under every policy.
        self.reduce = _mixer(hidden_dim, seed, "reduce", "float32",
                             use_bias=True)
        self.context_dense = _mixer(hidden_dim, _offset_seed(seed, 1),
                                    "context_dense", "float32",
                                    use_bias=True)
        self.modulations = [
            _mixer(hidden_dim, _offset_seed(seed, 2 + i), f"modulation_{i}",
                   "float32", use_bias=True)
            for i in range(num_layers)
        ]
        self.batch_norm = _running_batch_norm(self)

    def build(self, inputs_shape, context_shape=None):
        grid, c = _check_feature_shape(
            "ContextLocalConv", inputs_shape, self.rank
        )
        _check_like_inputs("context", context_shape, inputs_shape, grid, c)
        k = self.kernel_size
        self.grid_shape = grid
        self.channels = c
        self._pools = [adaptive_pool_matrix(n, k) for n in grid]
        self._coords = grid_coordinates((k,) * self.rank)
        n = k ** self.rank
        self.reduce.build((n, c))
        self.context_dense.build((n, self.hidden_dim))
        for layer in self.modulations:
            layer.build((n, self.hidden_dim))
        self.mixer = None
        if c > 1:
            self.mixer = _mixer(c, _offset_seed(self.seed, 99), "mixer",
                                self.dtype_policy)
            self.mixer.build(tuple(inputs_shape[:-1]) + (c,))
        self.moving_context = None
        if self.batch_norm is not None:
            self.batch_norm.build(tuple(inputs_shape))
            # float32 under every policy: the kernel network runs in
            # float32 (no autocast to the compute dtype).
            self.moving_context = self.add_weight(
                name="moving_context", shape=(n, self.hidden_dim),
                initializer="zeros", trainable=False, autocast=False,
            )
        rng = np.random.default_rng(self.seed)
        self._build_stack(self.rank, n, c, math.sqrt(1.0 / n), rng)
        self.built = True

    def generate(self, context, training=None):
        """The depthwise kernels `(batch or 1, k, [k,] channels)`.

        One kernel per sample of `context` (`statistics="sample"`); one
        kernel (leading axis 1) from the batch-mean context
        (`"batch"`, and `"running"` in training, which also updates the
        moving average) or from the moving average (`"running"` at
        inference).

        Args:
            context: tensor `(batch, *grid, channels)`.
            training: bool. Batch mean or moving average (`"running"`).

        Returns:
            A float32 tensor.
        """
        x = ops.cast(context, "float32")
        if self.rank == 1:
            pooled = ops.einsum("kl,blc->bkc", self._pools[0], x)
        else:
            pooled = ops.einsum(
                "ih,jw,bhwc->bijc", self._pools[0], self._pools[1], x
            )
        n = self.kernel_size ** self.rank
        pooled = ops.reshape(pooled, (-1, n, self.channels))
        s = self.reduce(pooled)  # (B, n, hidden)
        if self.statistics == "batch" or (
                self.statistics == "running" and training):
            s = ops.mean(s, axis=0, keepdims=True)
            if self.statistics == "running":
                self.moving_context.assign(
                    _MOMENTUM * self.moving_context
                    + (1.0 - _MOMENTUM) * ops.stop_gradient(s[0])
                )
        elif self.statistics == "running":
            s = ops.expand_dims(ops.convert_to_tensor(self.moving_context),
                                0)
        s = keras.activations.gelu(self.context_dense(s))

        def modulate(i, h):
            # L2 norm over the kernel positions, per hidden unit.
            norm = ops.sqrt(ops.sum(h * h, axis=-2, keepdims=True) + 1e-12)
            h = _ALPHA * h + _BETA * h / norm
            return h * self.modulations[i](s)

        coords = ops.convert_to_tensor(self._coords, "float32")
        kernel = self._run_stack(coords, modulate)  # (B or 1, n, C)
        return ops.reshape(
            kernel, (-1,) + (self.kernel_size,) * self.rank
            + (self.channels,)
        )

    def depthwise_product(self, inputs, kernel):
        """The generated per-sample depthwise kernel applied to `inputs`.

        A product hook (`zoo.dfp_training` wraps it for DFP INT16).

        Args:
            inputs: `(B, *spatial, C)` values.
            kernel: `(B or 1, *kernel_size, C)` generated kernel.

        Returns:
            `per_sample_depthwise_conv(inputs, kernel)`.
        """
        return per_sample_depthwise_conv(inputs, kernel)

    def call(self, inputs, context=None, training=None):
        kernel = self.generate(inputs if context is None else context,
                               training=training)
        y = self.depthwise_product(inputs, kernel)
        if self.mixer is not None:
            y = self.mixer(y)
        y = _standardize_by_statistics(self, y, instance_standardize,
                                       training)
        return keras.activations.gelu(y)

    def compute_output_shape(self, inputs_shape, context_shape=None):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size,
            "rank": self.rank,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "omega_0": self.omega_0,
            "statistics": self.statistics,
            "seed": self.seed,
        })
        return config
