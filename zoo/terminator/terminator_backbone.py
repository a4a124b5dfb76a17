"""Terminator backbone: stacked multi-branch HyperZ·Z·W blocks."""

import keras
from keras import ops
from keras_hub.models import Backbone

from layers._checks import check_choice
from layers._checks import check_positive_int
from layers._config import ConfigMixin
from layers.hyperzzw import GLOBAL_MODES
from layers.hyperzzw import TerminatorBlock
from zoo._checks import check_positive_ints


def _check_config(config):
    """Checks the backbone's config; returns it normalised.

    `spatial_shape`, `hidden_dims` and `num_concat_pre` become tuples of
    ints, `num_concat_pre` filled with its default when `None`.
    """
    spatial_shape = tuple(config["spatial_shape"])
    check_positive_ints("spatial_shape", spatial_shape,
                        1 if len(spatial_shape) < 2 else 2,
                        "must be `(length,)` or `(size, size)`")
    if len(spatial_shape) == 2 and spatial_shape[0] != spatial_shape[1]:
        raise ValueError(
            "2-D Terminator needs square images (the global operator "
            "multiplies maps over the spatial axes). Received: "
            f"spatial_shape={spatial_shape!r}"
        )
    hidden_dims = check_positive_ints(
        "hidden_dims", (int(d) for d in config["hidden_dims"]), None,
        "needs at least one block",
    )
    n = len(hidden_dims)
    num_concat_pre = config["num_concat_pre"]
    if num_concat_pre is None:
        num_concat_pre = tuple(
            0 if i < 2 else min((i - 2) // 2 + 1, i - 1) for i in range(n)
        )
    num_concat_pre = tuple(int(c) for c in num_concat_pre)
    if len(num_concat_pre) != n or any(
        c < 0 or (c > 0 and c > i - 1) for i, c in enumerate(num_concat_pre)
    ):
        raise ValueError(
            "`num_concat_pre` needs one count per block, block i "
            "taking at most i-1 earlier outputs. Received: "
            f"num_concat_pre={num_concat_pre!r} for {n} blocks"
        )
    check_choice("global_mode", config["global_mode"], GLOBAL_MODES)
    return dict(
        config,
        spatial_shape=tuple(int(d) for d in spatial_shape),
        stem_channels=check_positive_int(
            "stem_channels", config["stem_channels"], allow_none=True),
        hidden_dims=hidden_dims,
        num_concat_pre=num_concat_pre,
        local_kernel_sizes=tuple(config["local_kernel_sizes"]),
    )


# The config entries that every `TerminatorBlock` takes as they are.
_BLOCK_ARGS = ("local_kernel_sizes", "slow_hidden_dim", "slow_num_layers",
               "local_hidden_dim", "interact_hidden_dim", "omega_0",
               "statistics", "global_branch", "local_branches",
               "global_mode")


def _stem(config, dtype):
    """The 1×1 input lift, or `None` without `stem_channels`."""
    if config["stem_channels"] is None:
        return None
    seed = config["seed"]
    return keras.layers.Dense(
        config["stem_channels"],
        kernel_initializer=keras.initializers.HeUniform(
            None if seed is None else seed + 777),
        dtype=dtype, name="stem",
    )


def _blocks(config, dtype):
    """One `TerminatorBlock` per entry of `hidden_dims`, seeded apart."""
    seed = config["seed"]
    return [
        TerminatorBlock(
            width, rank=len(config["spatial_shape"]),
            num_groups=min(config["num_groups"], width),
            dropout=config["dropout"] if i > 0 else 0.0,
            seed=None if seed is None else seed + 10000 * i,
            dtype=dtype, name=f"block_{i}",
            **{key: config[key] for key in _BLOCK_ARGS},
        )
        for i, width in enumerate(config["hidden_dims"])
    ]


def _skip_input(outputs, i, count, dtype):
    """The earlier outputs block `i` concatenates (`None`: none)."""
    pre = [outputs[i - 2 - j] for j in range(count)]
    if not pre:
        return None
    if len(pre) == 1:
        return pre[0]
    return keras.layers.Concatenate(
        axis=-1, dtype=dtype, name=f"skip_{i}"
    )(pre)


@keras.saving.register_keras_serializable(package="hyperzoo")
class TerminatorBackbone(ConfigMixin, Backbone):
    """Terminator: a stack of HyperZ·Z·W blocks without residual sums.

    Every block (`layers.TerminatorBlock`) mixes a full-context global
    branch (slow-network hyper-kernel, HyperZ·Z·W operator), context-
    dependent local depthwise branches, recursive gated units and hyper-
    interaction gates, concatenates them (plus earlier blocks' outputs)
    and maps them through a bottleneck. Nothing downsamples; the backbone
    returns the last block's feature map.

    Works on sequences (`rank=1`, inputs `(batch, length, channels)`, the
    global branch is an FFT long convolution) and on square images
    (`rank=2`, inputs `(batch, size, size, channels)`, the global branch is
    the reference's spatial matrix product).

    Batch independence (a deviation from the reference, see
    `layers.hyperzzw`): with `statistics="running"` (default, chosen on
    validation) the blocks use batch statistics and batch-mean contexts
    in training, as the reference, and their moving averages at
    inference, so `predict(x)[i] == predict(x[i:i+1])`; `"sample"` uses
    per-sample statistics in training too; `"batch"` is the reference's
    batch-dependent behaviour.

    `stem_channels` (a deviation, off by default): a 1×1 channel mixer
    lifts the input to that many channels before the first block. With a
    single input channel (MNIST-1D, digits) the first block is otherwise
    degenerate: its channel hyper-kernels sit on one coordinate at 0,
    where `sin(0) = 0` leaves their networks without gradient, and its
    channel mixers keep only a sign after the instance standardisation.
    The presets use a stem.

    `slow_loss()` returns the reference's slow loss: the mean squared
    difference between the channel-summed hyper-kernels of every pair of
    blocks. `TerminatorClassifier` adds it to the training loss.

    Args:
        spatial_shape: tuple. `(length,)` or `(size, size)`.
        input_channels: int. Channels of the input.
        stem_channels: int or `None`. Width of the 1×1 input lift; `None`
            feeds the input to the first block as is.
        hidden_dims: tuple of int. Output channels of each block.
        num_concat_pre: tuple of int or `None`. How many earlier block
            outputs each block concatenates: block `i` with `n` takes the
            outputs of blocks `i-2, ..., i-1-n` (the reference's `x_pre`,
            `x_pre_pre`). Defaults to `(0, 0, 1, 1, 2, ...)` capped so
            that only existing blocks are used.
        local_kernel_sizes, slow_hidden_dim, slow_num_layers,
            local_hidden_dim, interact_hidden_dim, omega_0, statistics,
            global_branch, local_branches, global_mode: passed as they
            are to every block; see `layers.TerminatorBlock`.
        num_groups: int. Groups of each block's standardisation, capped
            at the block's width.
        dropout: float. Spatial dropout of every block but the first.
        seed: int or `None`. Initialiser seed.
        dtype: string or `keras.DTypePolicy`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.TerminatorBackbone(spatial_shape=(40,),
                                      hidden_dims=(8, 8))
    backbone(np.zeros((2, 40, 1), "float32")).shape  # (2, 40, 8)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(
        self,
        spatial_shape,
        input_channels=1,
        stem_channels=None,
        hidden_dims=(16, 32, 32),
        num_concat_pre=None,
        local_kernel_sizes=(3, 5),
        slow_hidden_dim=32,
        slow_num_layers=2,
        local_hidden_dim=16,
        interact_hidden_dim=16,
        omega_0=10.0,
        num_groups=4,
        statistics="running",
        dropout=0.0,
        global_branch=True,
        local_branches=True,
        global_mode="circular",
        seed=None,
        dtype=None,
        **kwargs,
    ):
        config = _check_config(dict(
            spatial_shape=spatial_shape, input_channels=input_channels,
            stem_channels=stem_channels, hidden_dims=hidden_dims,
            num_concat_pre=num_concat_pre,
            local_kernel_sizes=local_kernel_sizes,
            slow_hidden_dim=slow_hidden_dim, slow_num_layers=slow_num_layers,
            local_hidden_dim=local_hidden_dim,
            interact_hidden_dim=interact_hidden_dim, omega_0=omega_0,
            num_groups=num_groups, statistics=statistics, dropout=dropout,
            global_branch=global_branch, local_branches=local_branches,
            global_mode=global_mode, seed=seed,
        ))

        # === Layers ===
        self.stem = _stem(config, dtype)
        self.blocks = _blocks(config, dtype)

        # === Functional Model ===
        features = keras.Input(
            config["spatial_shape"] + (input_channels,), name="features")
        outputs = []
        x = features if self.stem is None else self.stem(features)
        for i, block in enumerate(self.blocks):
            skip = _skip_input(outputs, i, config["num_concat_pre"][i],
                               dtype)
            x = block(x) if skip is None else block(x, skip=skip)
            outputs.append(x)
        super().__init__(inputs=features, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self._set_config(**config)
        self.rank = len(self.spatial_shape)

    def global_kernels(self):
        """The channel-summed hyper-kernel of every block.

        Returns:
            A list of float32 tensors `spatial_shape`, one per block.
        """
        return [ops.sum(b.global_kernel()[0], axis=-1) for b in self.blocks]

    def slow_loss(self):
        """Σ over block pairs `j < i` of `MSE(Σ_c K_j, Σ_c K_i)` (float32).

        Returns:
            A float32 scalar tensor (0 with a single block).
        """
        kernels = self.global_kernels()
        total = ops.zeros((), "float32")
        for i in range(len(kernels)):
            for j in range(i):
                total = total + ops.mean(ops.square(kernels[j] - kernels[i]))
        return total
