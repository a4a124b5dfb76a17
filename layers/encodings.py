"""Input encodings for hypernetwork conditioning."""

import math

import keras
from keras import ops


def cos_sin_encoding(values):
    """Encodes values in [0, 1] to a constant-norm cos/sin vector.

    Each scalar `g` becomes the pair `(cos(pi * g / 2), sin(pi * g / 2))`,
    so every pair has unit norm and the encoded vector of `k` values has
    norm `sqrt(k)` whatever the values are. This removes the magnitude
    proportionality between a hypernetwork's input and its output (MIP).

    Args:
        values: tensor of shape `(..., k)` with entries in `[0, 1]`.
            Values outside the range are encoded all the same (the map is
            periodic), so callers validate the range at the public
            boundary.

    Returns:
        A tensor of shape `(..., 2 * k)`: all cosines, then all sines.

    Example:

    ```python
    enc = layers.cos_sin_encoding(np.array([[0.0, 1.0]], "float32"))
    # [[1., 0., 0., 1.]] up to rounding
    ```

    Reference:
    - [Ortiz et al., 2024](https://arxiv.org/abs/2304.07645),
      "Magnitude Invariant Parametrizations Improve Hypernetwork Learning".
    """
    angle = ops.multiply(values, math.pi / 2.0)
    return ops.concatenate([ops.cos(angle), ops.sin(angle)], axis=-1)


@keras.saving.register_keras_serializable(package="hyperzoo")
class CosSinEncoding(keras.layers.Layer):
    """Layer form of `cos_sin_encoding` (MIP constant-norm encoding).

    Args:
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Example:

    ```python
    enc = layers.CosSinEncoding()
    enc(np.zeros((2, 3), "float32")).shape  # (2, 6)
    ```

    Reference:
    - [Ortiz et al., 2024](https://arxiv.org/abs/2304.07645),
      "Magnitude Invariant Parametrizations Improve Hypernetwork Learning".
    """

    def call(self, inputs):
        return cos_sin_encoding(inputs)

    def compute_output_shape(self, input_shape):
        last = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if last is None else 2 * last,)
