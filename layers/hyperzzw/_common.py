"""Constants and checks shared by the HyperZ·Z·W layers (private).

The argument values the layers accept, the constants of their
standardisations, the shape checks of their call inputs and the seeded
channel mixers they all build.
"""

import keras

from layers._checks import check_choice

RANKS = (1, 2)
GLOBAL_MODES = ("circular", "causal")
INTERACTION_MODES = ("channel", "channel_spatial")
STATISTICS = ("sample", "running", "batch")
_EPSILON = 1e-5
# Momentum of the moving averages of `statistics="running"`.
_MOMENTUM = 0.99


def _check_statistics(statistics):
    return check_choice("statistics", statistics, STATISTICS)


def _check_global_mode(global_mode):
    return check_choice("global_mode", global_mode, GLOBAL_MODES)


def _check_rank(rank):
    if rank not in RANKS:
        raise ValueError(f"`rank` must be 1 or 2. Received: rank={rank!r}")
    return rank


def _check_feature_shape(layer, shape, rank, argument="inputs"):
    """The static grid and channel count of a `(batch, *grid, C)` shape."""
    shape = tuple(shape)
    if len(shape) != rank + 2:
        layout = "(batch, length, channels)" if rank == 1 else (
            "(batch, height, width, channels)")
        raise ValueError(
            f"{layer} expects `{argument}` of shape {layout} (rank "
            f"{rank + 2}). Received shape: {shape}"
        )
    grid = shape[1:-1]
    if any(d is None for d in grid) or shape[-1] is None:
        raise ValueError(
            f"{layer} needs static spatial and channel sizes in "
            f"`{argument}`. Received shape: {shape}"
        )
    return tuple(int(d) for d in grid), int(shape[-1])


def _check_like_inputs(argument, shape, inputs_shape, grid, channels):
    """Raises unless `shape` is `inputs_shape` (batch axis excepted)."""
    if shape is not None and tuple(shape[1:]) != grid + (channels,):
        raise ValueError(
            f"`{argument}` must have the shape of `inputs`. Received: "
            f"{tuple(shape)} vs {tuple(inputs_shape)}"
        )


def _check_square(layer, rank, grid, needs):
    """Raises unless a rank-2 grid is square (`needs` ends the message)."""
    if rank == 2 and grid[0] != grid[1]:
        raise ValueError(
            f"{layer} with rank=2 {needs}. Received grid: {grid}"
        )


def _offset_seed(seed, offset):
    return None if seed is None else seed + offset


def _mixer(units, seed, name, dtype, use_bias=False):
    """A 1x1 channel mixer (`Dense`) with a He-uniform seeded kernel."""
    return keras.layers.Dense(
        units,
        kernel_initializer=keras.initializers.HeUniform(seed),
        use_bias=use_bias, dtype=dtype, name=name,
    )
