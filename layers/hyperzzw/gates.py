"""Gating units of the Terminator's fast network.

`RecursiveGatedUnit` (RGU) gates keys with queries formed from values,
all through 1×1 channel mixers; `HyperInteraction` gates its inputs by
channel (and optionally channel × spatial) scores drawn from small
implicit-kernel networks.
"""

import keras
from keras import ops

from layers._checks import check_choice
from layers._checks import check_positive_int
from layers.hyperzzw._common import INTERACTION_MODES
from layers.hyperzzw._common import _check_feature_shape
from layers.hyperzzw._common import _check_like_inputs
from layers.hyperzzw._common import _check_rank
from layers.hyperzzw._common import _mixer
from layers.hyperzzw._common import _offset_seed
from layers.hyperzzw.implicit_kernels import ImplicitKernel
from layers.hyperzzw.standardization import instance_standardize


@keras.saving.register_keras_serializable(package="hyperzoo")
class RecursiveGatedUnit(keras.layers.Layer):
    """Recursive gated unit (RGU) of the Terminator fast network.

    `k = W_k x`, `v = W_v x`, `q = GELU(IN(k ⊙ W_q v)) + P`, `y = W_y q`,
    where the `W` are channel mixers (1×1), `IN` is instance
    standardisation and `P` a learned positional bias (one scalar per grid
    position, shared by channels and samples).

    Args:
        rank: int. 1 or 2.
        output_bias: bool. Bias of `W_y`. `TerminatorBlock` turns it off:
            its two RGU outputs are summed and instance-standardised,
            which cancels any per-channel bias (zero gradient).
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, *grid, channels)`.

    Example:

    ```python
    rgu = layers.RecursiveGatedUnit(rank=1)
    rgu(np.random.rand(2, 40, 4).astype("float32")).shape  # (2, 40, 4)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(self, rank=1, output_bias=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = _check_rank(rank)
        self.output_bias = bool(output_bias)
        self.seed = seed

    def build(self, input_shape):
        grid, c = _check_feature_shape(
            "RecursiveGatedUnit", input_shape, self.rank
        )
        self.mixers = [
            _mixer(c, _offset_seed(self.seed, i), name, self.dtype_policy,
                   use_bias=name != "output" or self.output_bias)
            for i, name in enumerate(("key", "value", "query", "output"))
        ]
        for layer in self.mixers:
            layer.build(tuple(input_shape[:-1]) + (c,))
        self.position_bias = self.add_weight(
            name="position_bias", shape=(1,) + grid + (1,),
            initializer="zeros",
        )
        self.built = True

    def call(self, inputs):
        key, value, query, output = self.mixers
        k = key(inputs)
        v = value(inputs)
        q = keras.activations.gelu(instance_standardize(k * query(v)))
        q = q + ops.cast(self.position_bias, q.dtype)
        return output(q)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "rank": self.rank,
            "output_bias": self.output_bias,
            "seed": self.seed,
        })
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperInteraction(keras.layers.Layer):
    """Hyper-interaction gates: channel, or channel × spatial.

    Scores come from a context `y` (defaults to the inputs) and
    input-independent hyper-kernels drawn by `ImplicitKernel`s:
    channel score `s_c = GAP(y) ⊙ k_c ⊙ GAP(y)` with `k_c` a 1-D kernel
    over the channel index; with `mode="channel_spatial"` also a spatial
    score `s_s = mean_c(y) ⊙ k_s ⊙ mean_c(y)` with `k_s` a kernel over the
    grid. The output is `inputs ⊙ sigmoid(s_c)` or
    `inputs ⊙ sigmoid(s_s ⊗ s_c)`.

    Decision: the kernels are not scaled by `sqrt(1/N)` at init. The
    score is of degree 4 in small quantities; with the scaling, the
    kernels' gradients were ~1e-7 on the test block and a training step
    left them unchanged in float32.

    Args:
        mode: str. `"channel"` or `"channel_spatial"`.
        rank: int. 1 or 2.
        hidden_dim: int. Width of the kernel networks.
        omega_0: float. Frequency scale of the kernel networks.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, *grid, channels)`, gated.
        context: tensor of the same shape, scored; defaults to `inputs`.

    Example:

    ```python
    gate = layers.HyperInteraction(mode="channel_spatial", rank=2)
    x = np.random.rand(2, 8, 8, 4).astype("float32")
    gate(x, context=x).shape  # (2, 8, 8, 4)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(self, mode="channel", rank=1, hidden_dim=16,
                 omega_0=10.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, INTERACTION_MODES)
        self.rank = _check_rank(rank)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.omega_0 = float(omega_0)
        self.seed = seed
        self.channel_kernel = ImplicitKernel(
            1, rank=1, hidden_dim=hidden_dim, num_layers=1,
            omega_0=omega_0, output_scaling=False, seed=seed,
            dtype=self.dtype_policy, name="channel_kernel",
        )
        self.spatial_kernel = None
        if mode == "channel_spatial":
            self.spatial_kernel = ImplicitKernel(
                1, rank=rank, hidden_dim=hidden_dim, num_layers=1,
                omega_0=omega_0, output_scaling=False,
                seed=_offset_seed(seed, 1),
                dtype=self.dtype_policy, name="spatial_kernel",
            )

    def build(self, inputs_shape, context_shape=None):
        grid, c = _check_feature_shape(
            "HyperInteraction", inputs_shape, self.rank
        )
        if context_shape is not None:
            _check_feature_shape("HyperInteraction", context_shape,
                                 self.rank, "context")
            _check_like_inputs("context", context_shape, inputs_shape,
                               grid, c)
        self.channel_kernel.build_grid((c,))
        if self.spatial_kernel is not None:
            self.spatial_kernel.build_grid(grid)
        self.built = True

    def call(self, inputs, context=None):
        y = inputs if context is None else context
        dtype = inputs.dtype
        y = ops.cast(y, "float32")
        spatial_axes = tuple(range(1, self.rank + 1))
        pooled = ops.mean(y, axis=spatial_axes)  # (B, C)
        k_c = ops.reshape(self.channel_kernel.generate(), (1, -1))
        score = pooled * k_c * pooled
        score = ops.reshape(
            score, (-1,) + (1,) * self.rank + (pooled.shape[-1],)
        )
        if self.spatial_kernel is not None:
            m = ops.mean(y, axis=-1, keepdims=True)  # (B, *grid, 1)
            k_s = self.spatial_kernel.generate()  # (1, *grid, 1)
            score = score * (m * k_s * m)
        return inputs * ops.cast(ops.sigmoid(score), dtype)

    def compute_output_shape(self, inputs_shape, context_shape=None):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "mode": self.mode,
            "rank": self.rank,
            "hidden_dim": self.hidden_dim,
            "omega_0": self.omega_0,
            "seed": self.seed,
        })
        return config

