"""The Terminator block: all HyperZ·Z·W branches, concatenated and mixed.

`TerminatorBlock` (the SFNE block of the Terminator network) combines
the slow network's hyper-kernel (`implicit_kernels`), the global operator
(`global_operator`), the gating units (`gates`) and the local branches
(`local_kernels`), then mixes, standardises (`standardization`) and
drops out.
"""

import keras
from keras import ops

from layers._checks import check_positive_int
from layers._checks import check_rate
from layers.hyperzzw._common import _check_feature_shape
from layers.hyperzzw._common import _check_global_mode
from layers.hyperzzw._common import _check_rank
from layers.hyperzzw._common import _check_square
from layers.hyperzzw._common import _check_statistics
from layers.hyperzzw._common import _mixer
from layers.hyperzzw._common import _offset_seed
from layers.hyperzzw.gates import HyperInteraction
from layers.hyperzzw.gates import RecursiveGatedUnit
from layers.hyperzzw.global_operator import hyperzzw_global
from layers.hyperzzw.implicit_kernels import ImplicitKernel
from layers.hyperzzw.local_kernels import ContextLocalConv
from layers.hyperzzw.standardization import GroupStandardization
from layers.hyperzzw.standardization import instance_standardize

# Context/values pairs of the local branches, cycled over kernel sizes:
# (x, hci), (hci, x), (mix, x), (x, mix) as in the reference.
_LOCAL_PAIRS = (("x", "hci"), ("hci", "x"), ("mix", "x"), ("x", "mix"))


@keras.saving.register_keras_serializable(package="hyperzoo")
class TerminatorBlock(keras.layers.Layer):
    """Multi-branch HyperZ·Z·W block (SFNE block of the Terminator).

    With `K` the slow network's hyper-kernel and `Z = x ⊙ K`:
    `fast = IN(RGU_2(Z) + RGU_1(x))`, `mix = IN(W x)`,
    `hci = HCI(IN(x); scored on x)` (channel hyper-interaction), global
    branches `out = G(Z, fast)`, `out_x = G(Z, mix)`, `out_hci = G(Z,
    hci)`, `out_glu = sigmoid(out) ⊙ out`, `x_hyp = HI(x; scored on
    out_glu)` (channel × spatial hyper-interaction) with `G` =
    `hyperzzw_global`; local branches
    `ContextLocalConv` with kernel sizes `local_kernel_sizes` on the
    (context, values) pairs (x, hci), (hci, x), (mix, x), (x, mix). All
    branches and the optional `skip` tensor are concatenated (no residual
    sum) and a bottleneck channel mixer maps them to `filters`; then
    `GroupStandardization`, GELU and spatial dropout.

    `statistics` (`"running"` by default) selects running, per-sample or
    batch statistics for every standardisation and local-kernel context
    of the block (see `GroupStandardization` and the `layers.hyperzzw`
    docstring).
    The channel mixers that feed a standardisation (`mix`, the RGU
    outputs, the bottleneck, the local branches' mixers) have no bias,
    and with a single input channel `mix` is left out (`IN(w·x)` is
    `sign(w)·IN(x)`): those parameters would get no gradient.

    Decisions (measured on the 1-D test block, where the reference's
    wiring gave these weights gradients of 1e-8 and 1e-19): the reference
    computes `hci = IN(HCI(x))`, but instance standardisation cancels a
    per-channel gate exactly, so here the gate multiplies `IN(x)`; and it
    scores `HI` on `out`, whose spatial mean is exactly 0 in 1-D (a
    circular convolution of the zero-mean `fast`), so here it is scored
    on `out_glu`.

    The reference tiles skip inputs to `C` channels before the
    concat; tiling followed by a linear bottleneck equals a bottleneck with
    tied rows, so the skip tensor is concatenated as is.

    Args:
        filters: int. Output channels.
        rank: int. 1 (sequences) or 2 (square images).
        local_kernel_sizes: tuple of odd ints, one local branch each (at
            most 4); empty or `local_branches=False` disables them.
        slow_hidden_dim: int. Width of the slow (global kernel) network.
        slow_num_layers: int. Its multiplicative layers.
        local_hidden_dim: int. Width of the local kernel networks.
        interact_hidden_dim: int. Width of the interaction kernels.
        omega_0: float. Frequency scale of every kernel network.
        num_groups: int. Groups of the output standardisation.
        statistics: str. `"sample"`, `"running"` or `"batch"`.
        dropout: float. Spatial dropout rate.
        global_branch: bool. `False` drops the global branches (`out`,
            `out_x`, `out_hci`, `out_glu`, `x_hyp`), an ablation.
        local_branches: bool. `False` drops the local branches.
        global_mode: str. `"circular"` or `"causal"` 1-D global operator.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, *grid, channels)`.
        skip: optional tensor `(batch, *grid, any)` concatenated to the
            branches (outputs of earlier blocks).
        training: bool. Dropout switch.

    Example:

    ```python
    block = layers.TerminatorBlock(filters=8, rank=1)
    block(np.random.rand(4, 40, 1).astype("float32")).shape  # (4, 40, 8)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    def __init__(self, filters, rank=1, local_kernel_sizes=(3, 5),
                 slow_hidden_dim=32, slow_num_layers=2, local_hidden_dim=16,
                 interact_hidden_dim=16, omega_0=10.0, num_groups=4,
                 dropout=0.0, global_branch=True, local_branches=True,
                 global_mode="circular", statistics="running", seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.statistics = _check_statistics(statistics)
        self.rank = _check_rank(rank)
        self.local_kernel_sizes = tuple(int(k) for k in local_kernel_sizes)
        if len(self.local_kernel_sizes) > len(_LOCAL_PAIRS):
            raise ValueError(
                "`local_kernel_sizes` takes at most 4 sizes. Received: "
                f"{self.local_kernel_sizes}"
            )
        self.dropout = check_rate("dropout", dropout)
        self.global_mode = _check_global_mode(global_mode)
        if num_groups > filters:
            raise ValueError(
                "`num_groups` must be <= `filters`. Received: "
                f"num_groups={num_groups}, filters={filters}"
            )
        self.slow_hidden_dim = slow_hidden_dim
        self.slow_num_layers = slow_num_layers
        self.local_hidden_dim = local_hidden_dim
        self.interact_hidden_dim = interact_hidden_dim
        self.omega_0 = float(omega_0)
        self.num_groups = num_groups
        self.global_branch = bool(global_branch)
        self.local_branches = bool(local_branches)
        self.seed = seed
        self._create_sublayers()

    def _sub_seed(self, i):
        return _offset_seed(self.seed, 1000 * i)

    def _create_sublayers(self):
        """Creates the sub-layers (the order fixes the weight order)."""
        rank, omega_0, policy = self.rank, self.omega_0, self.dtype_policy
        sub = self._sub_seed
        self.slow_net = ImplicitKernel(
            1, rank=rank, hidden_dim=self.slow_hidden_dim,
            num_layers=self.slow_num_layers, omega_0=omega_0, seed=sub(1),
            dtype=policy, name="slow_net",
        )
        self.rgu_x = RecursiveGatedUnit(rank, output_bias=False,
                                        seed=sub(2), dtype=policy,
                                        name="rgu_x")
        self.rgu_z = RecursiveGatedUnit(rank, output_bias=False,
                                        seed=sub(3), dtype=policy,
                                        name="rgu_z")
        self.channel_interaction = HyperInteraction(
            "channel", rank, self.interact_hidden_dim, omega_0, seed=sub(4),
            dtype=policy, name="channel_interaction",
        )
        self.hyper_interaction = None
        if self.global_branch:
            self.hyper_interaction = HyperInteraction(
                "channel_spatial", rank, self.interact_hidden_dim, omega_0,
                seed=sub(5), dtype=policy, name="hyper_interaction",
            )
        self.local_convs = []
        if self.local_branches:
            self.local_convs = [
                ContextLocalConv(
                    k, rank, self.local_hidden_dim, omega_0=omega_0,
                    statistics=self.statistics, seed=sub(10 + i),
                    dtype=policy, name=f"local_conv_{i}",
                )
                for i, k in enumerate(self.local_kernel_sizes)
            ]
        self.bottleneck = _mixer(self.filters, sub(6), "bottleneck", policy)
        self.standardization = GroupStandardization(
            self.num_groups, statistics=self.statistics, dtype=policy,
            name="standardization",
        )
        dropout_cls = (keras.layers.SpatialDropout1D if rank == 1
                       else keras.layers.SpatialDropout2D)
        self.spatial_dropout = dropout_cls(
            self.dropout, seed=sub(8), dtype=policy, name="spatial_dropout"
        )

    def _num_branches(self):
        n = 2  # fast, mix
        if self.global_branch:
            n += 5  # out, out_x, out_hci, out_glu, x_hyp
        n += len(self.local_convs)
        return n

    def build(self, inputs_shape, skip_shape=None):
        grid, c = _check_feature_shape(
            "TerminatorBlock", inputs_shape, self.rank
        )
        _check_square("TerminatorBlock", self.rank, grid,
                      "needs square maps (height == width)")
        extra = 0
        if skip_shape is not None:
            skip_grid, extra = _check_feature_shape(
                "TerminatorBlock", skip_shape, self.rank, "skip"
            )
            if skip_grid != grid:
                raise ValueError(
                    "`skip` must have the spatial shape of `inputs`. "
                    f"Received: {tuple(skip_shape)} vs "
                    f"{tuple(inputs_shape)}"
                )
        self.grid_shape = grid
        feature_shape = tuple(inputs_shape)
        self.slow_net.filters = c
        self.slow_net.build_grid(grid)
        self.rgu_x.build(feature_shape)
        self.rgu_z.build(feature_shape)
        self.mix = None
        if c > 1:
            self.mix = _mixer(c, self._sub_seed(7), "mix",
                              self.dtype_policy)
            self.mix.build(feature_shape)
        self.channel_interaction.build(feature_shape)
        if self.hyper_interaction is not None:
            self.hyper_interaction.build(feature_shape, feature_shape)
        for conv in self.local_convs:
            conv.build(feature_shape, feature_shape)
        width = self._num_branches() * c + extra
        self.bottleneck.build(tuple(inputs_shape[:-1]) + (width,))
        self.standardization.build(
            tuple(inputs_shape[:-1]) + (self.filters,)
        )
        self.built = True

    def global_kernel(self):
        """The slow network's hyper-kernel `(1, *grid, channels)`, float32.

        Input-independent; the slow loss and the demo read it.

        Returns:
            A float32 tensor.
        """
        return self.slow_net.generate()

    def hyper_kernel(self, dtype):
        """The hyper-kernel `K` as it meets the activations (`x * K`).

        The product hooks `hyper_kernel` and `global_product` are what
        `zoo.dfp_training` wraps to train in DFP INT16.

        Args:
            dtype: the compute dtype of the activations.

        Returns:
            `global_kernel()` cast to `dtype`.
        """
        return ops.cast(self.global_kernel(), dtype)

    def global_product(self, z, values):
        """The global HyperZ·Z·W product of `z` with `values`.

        Args:
            z: the hyper-kernel times the input, `x * K`.
            values: the branch it mixes (fast, mix or hci).

        Returns:
            `hyperzzw_global(z, values, rank, global_mode)`.
        """
        return hyperzzw_global(z, values, self.rank, self.global_mode)

    def call(self, inputs, skip=None, training=None):
        x = inputs
        kernel = self.hyper_kernel(x.dtype)
        z = x * kernel
        fast = instance_standardize(self.rgu_z(z) + self.rgu_x(x))
        mix = instance_standardize(
            x if self.mix is None else self.mix(x)
        )
        hci = self.channel_interaction(instance_standardize(x), context=x)
        named = {"x": x, "mix": mix, "hci": hci}
        local = [
            conv(named[pair[1]], context=named[pair[0]], training=training)
            for conv, pair in zip(self.local_convs, _LOCAL_PAIRS)
        ]
        branches = [fast, mix]
        if self.global_branch:
            out = self.global_product(z, fast)
            out_x = self.global_product(z, mix)
            out_hci = self.global_product(z, hci)
            out_glu = ops.sigmoid(out) * out
            x_hyp = self.hyper_interaction(x, context=out_glu)
            branches += [out, out_x, out_hci, out_glu, x_hyp]
        branches += local
        if skip is not None:
            branches.append(ops.cast(skip, x.dtype))
        y = self.bottleneck(ops.concatenate(branches, axis=-1))
        y = keras.activations.gelu(
            self.standardization(y, training=training)
        )
        if self.dropout > 0:
            y = self.spatial_dropout(y, training=training)
        return y

    def compute_output_shape(self, inputs_shape, skip_shape=None):
        return tuple(inputs_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "rank": self.rank,
            "local_kernel_sizes": list(self.local_kernel_sizes),
            "slow_hidden_dim": self.slow_hidden_dim,
            "slow_num_layers": self.slow_num_layers,
            "local_hidden_dim": self.local_hidden_dim,
            "interact_hidden_dim": self.interact_hidden_dim,
            "omega_0": self.omega_0,
            "num_groups": self.num_groups,
            "dropout": self.dropout,
            "global_branch": self.global_branch,
            "local_branches": self.local_branches,
            "global_mode": self.global_mode,
            "statistics": self.statistics,
            "seed": self.seed,
        })
        return config
