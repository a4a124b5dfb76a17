"""Slow networks: sinusoidal coordinate networks that draw kernels.

`ImplicitKernel` is the slow network of the Terminator: a
multiplicative-filter (MAGNet, SIREN-style) network over the coordinates
of a grid, whose output is a hyper-kernel that depends on the grid only.
`_SirenStackMixin` holds its weights and forward pass, which the local
kernel network (`layers.hyperzzw.local_kernels.ContextLocalConv`)
shares; `grid_coordinates` gives the coordinates both evaluate.
"""

import math

import keras
import numpy as np
from keras import ops

from layers._checks import check_positive
from layers._checks import check_positive_int
from layers.hyperzzw._common import _check_feature_shape
from layers.hyperzzw._common import _check_rank


def grid_coordinates(grid_shape):
    """Coordinates of a regular grid in `[-1, 1]^d`, row-major.

    Args:
        grid_shape: tuple of int, e.g. `(40,)` or `(8, 8)`.

    Returns:
        float32 numpy array `(prod(grid_shape), len(grid_shape))`. An axis
        of size 1 sits at 0.

    Example:

    ```python
    layers.grid_coordinates((3,))  # [[-1.], [0.], [1.]]
    ```
    """
    axes = [
        np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
        for n in grid_shape
    ]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=-1).astype("float32")


def _gamma_frequencies(rng, rank, hidden_dim, layer_index, omega_0):
    bound = 1.0 / math.sqrt(rank)
    base = rng.uniform(-bound, bound, (rank, hidden_dim))
    gamma = rng.gamma(6.0 / (layer_index + 1), 1.0, (rank, hidden_dim))
    return (base * 2.0 * math.pi * omega_0 * gamma).astype("float32")


def _array_initializer(value):
    def initializer(shape, dtype=None):
        return ops.cast(ops.convert_to_tensor(value), dtype or "float32")

    return initializer


class _SirenStackMixin:
    """Shared weights and forward pass of the multiplicative sine nets."""

    def _build_stack(self, rank, num_points, filters, out_scale, rng):
        h = self.hidden_dim
        self.frequencies = []
        self.hidden_kernels = []
        self.hidden_biases = []
        for i in range(self.num_layers + 1):
            self.frequencies.append(self.add_weight(
                name=f"frequency_{i}",
                shape=(rank, h),
                initializer=_array_initializer(
                    _gamma_frequencies(rng, rank, h, i, self.omega_0)
                ),
            ))
        for i in range(self.num_layers):
            self.hidden_kernels.append(self.add_weight(
                name=f"hidden_kernel_{i}",
                shape=(h, h),
                initializer=keras.initializers.HeUniform(
                    int(rng.integers(2**31))
                ),
            ))
            self.hidden_biases.append(self.add_weight(
                name=f"hidden_bias_{i}", shape=(h,), initializer="ones",
            ))
        self.position_bias = None
        if self.positional_bias:
            self.position_bias = self.add_weight(
                name="position_bias", shape=(num_points, 1),
                initializer="zeros",
            )
        he = np.sqrt(6.0 / h)
        self.output_kernel = self.add_weight(
            name="output_kernel",
            shape=(h, filters),
            initializer=_array_initializer(
                rng.uniform(-he, he, (h, filters)) * out_scale
            ),
        )
        self.output_bias = self.add_weight(
            name="output_bias", shape=(filters,), initializer="zeros",
        )

    def _run_stack(self, coords, modulate=None):
        # float32 throughout: the sine arguments are large.
        def w(v):
            return ops.cast(v, "float32")

        h = ops.sin(ops.matmul(coords, w(self.frequencies[0])))
        for i in range(self.num_layers):
            linear = ops.matmul(h, w(self.hidden_kernels[i]))
            linear = linear + w(self.hidden_biases[i])
            h = ops.sin(ops.matmul(coords, w(self.frequencies[i + 1])))
            h = h * linear
            if self.position_bias is not None:
                h = h + w(self.position_bias)
            if modulate is not None:
                h = modulate(i, h)
        return ops.matmul(h, w(self.output_kernel)) + w(self.output_bias)


@keras.saving.register_keras_serializable(package="hyperzoo")
class ImplicitKernel(_SirenStackMixin, keras.layers.Layer):
    """Slow network: a sinusoidal coordinate MLP that draws a kernel.

    A multiplicative-filter network (MAGNet) over the coordinates `c` of
    the input's spatial grid in `[-1, 1]^d`:
    `h_0 = sin(F_0 c)`, `h_i = sin(F_i c) ⊙ (A_i h_{i-1} + b_i) + P`,
    `K = A_out h_n + b_out`. The frequencies `F_i` start at
    `U(±1/sqrt(d)) · 2π·ω0·γ`, `γ ~ Gamma(6/(i+1), 1)` (seeded); the `A_i`
    are He-uniform with biases 1; `P` is a learned positional bias (one
    scalar per grid point, shared by the hidden units); `A_out` is scaled
    by `sqrt(1/N)` for `N` grid points (Chang et al.'s hyperfan scaling, as
    in the reference, applied at build time).

    The kernel depends only on the grid, never on the input values: the
    input only fixes the grid size. Sines run in float32 under every
    policy; the kernel is returned in the compute dtype.

    Args:
        filters: int. Channels of the generated kernel.
        rank: int. 1 (sequences) or 2 (images).
        hidden_dim: int. Width of the sine layers.
        num_layers: int. Number of multiplicative layers after the first.
        omega_0: float. Frequency scale ω0.
        positional_bias: bool. Learn `P`.
        output_scaling: bool. Scale `A_out` by `sqrt(1/N)` at init (the
            reference does it for the slow networks; the hyper-interaction
            gates use `False`, see `HyperInteraction`).
        seed: int or `None`. Seed of the frequency and weight init.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, *grid, channels)`; only its shape is used.

    Returns:
        The kernel broadcast to the batch, `(batch, *grid, filters)`
        (every sample gets the same kernel; `generate()` returns the
        single copy `(1, *grid, filters)`).

    Example:

    ```python
    slow = layers.ImplicitKernel(filters=4, rank=1)
    slow(np.zeros((2, 40, 4), "float32")).shape  # (2, 40, 4)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    - [Romero et al., 2022](https://arxiv.org/abs/2110.08059), "FlexConv"
      (MAGNet).
    """

    def __init__(self, filters, rank=1, hidden_dim=32, num_layers=2,
                 omega_0=10.0, positional_bias=True, output_scaling=True,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.output_scaling = bool(output_scaling)
        self.rank = _check_rank(rank)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(
                "`num_layers` must be an integer >= 0. "
                f"Received: num_layers={num_layers!r}"
            )
        self.num_layers = num_layers
        self.omega_0 = float(check_positive("omega_0", omega_0))
        self.positional_bias = bool(positional_bias)
        self.seed = seed

    def build(self, input_shape):
        grid, _ = _check_feature_shape(
            "ImplicitKernel", input_shape, self.rank
        )
        self.build_grid(grid)

    def build_grid(self, grid_shape):
        """Creates the weights for a given grid (used by parent layers).

        Args:
            grid_shape: tuple of `rank` ints.
        """
        self.grid_shape = tuple(int(g) for g in grid_shape)
        self._coords = grid_coordinates(self.grid_shape)
        n = len(self._coords)
        rng = np.random.default_rng(self.seed)
        scale = math.sqrt(1.0 / n) if self.output_scaling else 1.0
        self._build_stack(self.rank, n, self.filters, scale, rng)
        self.built = True

    def generate(self):
        """The kernel `(1, *grid, filters)` in float32.

        Returns:
            A float32 tensor.
        """
        k = self._run_stack(ops.convert_to_tensor(self._coords, "float32"))
        return ops.reshape(k, (1,) + self.grid_shape + (self.filters,))

    def call(self, inputs):
        kernel = ops.cast(self.generate(), self.compute_dtype)
        shape = (ops.shape(inputs)[0],) + self.grid_shape + (self.filters,)
        return ops.broadcast_to(kernel, shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[1:-1]) + (
            self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "rank": self.rank,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "omega_0": self.omega_0,
            "positional_bias": self.positional_bias,
            "output_scaling": self.output_scaling,
            "seed": self.seed,
        })
        return config

