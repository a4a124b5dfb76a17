"""Standardisations of the Terminator: instance, batch and group-wise.

The functional forms (`instance_standardize`, `batch_standardize`,
`group_standardize`) standardise in float32 without affine parameters;
`GroupStandardization` is the G-IBS layer that ends every Terminator
block. The private helpers choose between per-sample, running and batch
statistics for the layers that take `statistics` (decision 2 in the
`layers.hyperzzw` package docstring).
"""

import keras
import numpy as np
from keras import ops

from layers._checks import check_positive_int
from layers.hyperzzw._common import _EPSILON
from layers.hyperzzw._common import _MOMENTUM
from layers.hyperzzw._common import _check_statistics


def _standardize(x, axes):
    """Zero mean, unit variance over `axes`, computed in float32."""
    dtype = x.dtype
    x = ops.cast(x, "float32")
    mean, var = ops.moments(x, axes=axes, keepdims=True)
    y = (x - mean) * ops.rsqrt(var + _EPSILON)
    return ops.cast(y, dtype)


def instance_standardize(x):
    """Standardises each sample and channel over the spatial axes.

    Args:
        x: tensor `(batch, *spatial, channels)`.

    Returns:
        Tensor of the same shape and dtype, with zero mean and unit
        variance over the spatial axes for every sample and channel.

    Example:

    ```python
    y = layers.instance_standardize(np.random.rand(2, 8, 3))
    np.asarray(y).mean(axis=1)  # ~0, (2, 3): per sample and channel
    ```
    """
    return _standardize(x, tuple(range(1, len(x.shape) - 1)))


def batch_standardize(x):
    """Standardises each channel over the batch and spatial axes.

    Uses the statistics of the current batch, always (no moving
    averages), so an output depends on the other samples of the batch.

    Args:
        x: tensor `(batch, *spatial, channels)`.

    Returns:
        Tensor of the same shape and dtype, with zero mean and unit
        variance over the batch and spatial axes for every channel.

    Example:

    ```python
    y = layers.batch_standardize(np.random.rand(2, 8, 3))
    np.asarray(y).mean(axis=(0, 1))  # ~0, (3,): per channel only
    ```
    """
    return _standardize(x, tuple(range(len(x.shape) - 1)))


def _running_batch_norm(layer):
    """Batch normalisation without affine parameters for `"running"`.

    Returns `None` for the other `layer.statistics`.
    """
    if layer.statistics != "running":
        return None
    return keras.layers.BatchNormalization(
        momentum=_MOMENTUM, epsilon=_EPSILON, center=False, scale=False,
        dtype=layer.dtype_policy, name="batch_norm",
    )


def _standardize_by_statistics(layer, x, per_sample, training):
    """Standardises `x` with the statistics `layer.statistics` selects.

    `"sample"`: `per_sample(x)`; `"running"`: `layer.batch_norm` (batch
    statistics in training, moving averages at inference); `"batch"`:
    the statistics of the current batch, always.
    """
    if layer.statistics == "sample":
        return per_sample(x)
    if layer.statistics == "running":
        return ops.cast(layer.batch_norm(x, training=training), x.dtype)
    return batch_standardize(x)


def group_standardize(x, group_matrix):
    """Per-sample standardisation of channel groups (group normalisation).

    Each sample's channels of one group are standardised together over
    the spatial axes and the group's channels (Wu & He's group
    normalisation without affine parameters), in float32.

    Args:
        x: tensor `(batch, *spatial, channels)`.
        group_matrix: float32 array `(channels, groups)`, one-hot rows.

    Returns:
        Tensor of the same shape and dtype.

    Example:

    ```python
    g = np.repeat(np.eye(2, dtype="float32"), 2, axis=0)  # 4 channels
    y = layers.group_standardize(np.random.rand(2, 8, 4), g)
    ```

    Reference:
    - [Wu & He, 2018](https://arxiv.org/abs/1803.08494), "Group
      Normalization".
    """
    dtype = x.dtype
    x = ops.cast(x, "float32")
    g = ops.convert_to_tensor(group_matrix, "float32")
    axes = tuple(range(1, len(x.shape) - 1))
    # Channel means per sample, then their average within each group.
    counts = ops.sum(g, axis=0)  # (groups,)
    mean_c = ops.mean(x, axis=axes, keepdims=True)  # (B, 1.., C)
    mean_g = ops.matmul(mean_c, g) / counts
    centred = x - ops.matmul(mean_g, ops.transpose(g))
    var_c = ops.mean(ops.square(centred), axis=axes, keepdims=True)
    var_g = ops.matmul(var_c, g) / counts
    y = centred * ops.rsqrt(ops.matmul(var_g, ops.transpose(g)) + _EPSILON)
    return ops.cast(y, dtype)


@keras.saving.register_keras_serializable(package="hyperzoo")
class GroupStandardization(keras.layers.Layer):
    """Group standardisation of the Terminator blocks (G-IBS), no affine.

    Channels are split into `num_groups` contiguous groups (the last group
    takes the remainder). Odd groups are standardised over space per
    sample and channel (instance normalisation). Even groups, which the
    reference batch-normalises, depend on `statistics`:

    - `"running"` (default): batch statistics in training, moving
      averages (momentum 0.99) at inference, as batch normalisation
      without affine parameters.
    - `"sample"`: group normalisation, per sample, over space and the
      group's channels. No batch statistics anywhere: training and
      inference compute the same per-sample function.
    - `"batch"`: batch statistics in training and at inference, as in
      the reference; predictions depend on the other samples.

    Args:
        num_groups: int. Number of channel groups.
        statistics: str. `"sample"`, `"running"` or `"batch"`.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, *spatial, channels)`.
        training: bool. Selects batch or moving statistics
            (`statistics="running"` only).

    Example:

    ```python
    gibs = layers.GroupStandardization(num_groups=4)
    gibs(np.random.rand(3, 10, 8).astype("float32")).shape  # (3, 10, 8)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    - [Wu & He, 2018](https://arxiv.org/abs/1803.08494), "Group
      Normalization".
    """

    def __init__(self, num_groups=4, statistics="running", **kwargs):
        super().__init__(**kwargs)
        self.num_groups = check_positive_int("num_groups", num_groups)
        self.statistics = _check_statistics(statistics)
        self.batch_norm = _running_batch_norm(self)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels < self.num_groups:
            raise ValueError(
                "GroupStandardization needs at least `num_groups` "
                f"({self.num_groups}) channels. Received shape: "
                f"{tuple(input_shape)}"
            )
        size = channels // self.num_groups
        group = np.minimum(np.arange(channels) // size, self.num_groups - 1)
        self._batch_mask = (group % 2 == 0).astype("float32")
        self._group_matrix = np.eye(self.num_groups, dtype="float32")[group]
        if self.batch_norm is not None:
            self.batch_norm.build(tuple(input_shape))
        self.built = True

    def call(self, inputs, training=None):
        mask = ops.cast(ops.convert_to_tensor(self._batch_mask),
                        inputs.dtype)
        b = _standardize_by_statistics(
            self, inputs,
            lambda x: group_standardize(x, self._group_matrix), training,
        )
        i = instance_standardize(inputs)
        return b * mask + i * (1 - mask)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_groups": self.num_groups,
            "statistics": self.statistics,
        })
        return config

