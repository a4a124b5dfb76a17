"""SIE predictors: map an equivariant embedding under a transformation.

`HyperPredictor` generates a `d x d` matrix `W(z)` from transformation
parameters `z` (e.g. `(cos t, sin t)`) and applies it per sample;
`ConcatPredictor` is the baseline MLP on the concatenation `[x, z]`.

Reference:
    Garrido et al., "Self-supervised learning of Split Invariant
    Equivariant representations", ICML 2023.
"""

import keras
from keras import ops

from layers._checks import check_bool
from layers._checks import check_positive_int


def _check_units(units):
    units = tuple(int(u) for u in (units or ()))
    for u in units:
        check_positive_int("hidden_units entry", u)
    return units


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperPredictor(keras.layers.Layer):
    """Hypernetwork predictor `y = W(z) x (+ b(z))` of SIE.

    With no hidden units, `W(z)` is a bias-free linear combination of
    `latent_dim` learned `d x d` basis matrices with coefficients `z`
    (the reference default), so `W` is linear in `z`. Hidden units give
    a small ReLU MLP hypernetwork instead. Each sample uses its own
    matrix (a batched einsum).

    Args:
        dim: int, size `d` of the equivariant embedding.
        hidden_units: tuple of ints, hidden sizes of the hypernetwork
            MLP; empty (default) for the linear basis combination.
        use_bias: bool, whether the hypernetwork also generates a bias
            `b(z)` of size `d`.
        seed: int or None, initializer seed.
        **kwargs: base layer arguments.

    Returns:
        A `(batch, dim)` tensor from `call(inputs, condition)`, with
        `inputs (batch, dim)` and `condition (batch, latent_dim)`.

    Example:

    >>> import numpy as np
    >>> layer = HyperPredictor(dim=4, seed=0)
    >>> x = np.ones((2, 4), "float32")
    >>> z = np.ones((2, 2), "float32")
    >>> tuple(layer(x, z).shape)
    (2, 4)

    Reference:
        Garrido et al., "Self-supervised learning of Split Invariant
        Equivariant representations", ICML 2023.
    """

    def __init__(self, dim, hidden_units=(), use_bias=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.dim = check_positive_int("dim", dim)
        self.hidden_units = _check_units(hidden_units)
        self.use_bias = check_bool("use_bias", use_bias)
        self.seed = seed
        init = keras.initializers.GlorotUniform(seed=seed)
        self.hidden = [
            keras.layers.Dense(
                u, activation="relu", kernel_initializer=init,
                name=f"hyper_hidden_{i}", dtype=self.dtype_policy)
            for i, u in enumerate(self.hidden_units)]
        # Bias-free so that W(0) = 0 and W is linear in z (no hidden).
        self.weight_head = keras.layers.Dense(
            self.dim * self.dim, use_bias=False,
            kernel_initializer=keras.initializers.RandomNormal(
                stddev=1.0 / self.dim, seed=seed),
            name="weight_head", dtype=self.dtype_policy)
        self.bias_head = None
        if self.use_bias:
            self.bias_head = keras.layers.Dense(
                self.dim, use_bias=False, kernel_initializer="zeros",
                name="bias_head", dtype=self.dtype_policy)

    def build(self, inputs_shape, condition_shape):
        shape = tuple(condition_shape)
        for layer in self.hidden:
            layer.build(shape)
            shape = shape[:-1] + (layer.units,)
        self.weight_head.build(shape)
        if self.bias_head is not None:
            self.bias_head.build(shape)

    def generate(self, condition):
        """Generated matrices `W(z)` (and bias) for a batch of `z`.

        Args:
            condition: `(batch, latent_dim)` transformation parameters.

        Returns:
            A tuple `(W, b)`: `W (batch, dim, dim)` and `b (batch, dim)`
            or `None` without bias.
        """
        h = condition
        for layer in self.hidden:
            h = layer(h)
        w = ops.reshape(self.weight_head(h), (-1, self.dim, self.dim))
        b = self.bias_head(h) if self.bias_head is not None else None
        return w, b

    def call(self, inputs, condition):
        w, b = self.generate(condition)
        y = ops.einsum("bij,bj->bi", w, inputs)
        if b is not None:
            y = y + b
        return y

    def compute_output_shape(self, inputs_shape, condition_shape):
        return tuple(inputs_shape[:-1]) + (self.dim,)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, hidden_units=list(self.hidden_units),
                      use_bias=self.use_bias, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class ConcatPredictor(keras.layers.Layer):
    """Baseline SIE predictor: an MLP on the concatenation `[x, z]`.

    Args:
        dim: int, size `d` of the equivariant embedding (output size).
        hidden_units: tuple of ints, hidden ReLU layer sizes.
        seed: int or None, initializer seed.
        **kwargs: base layer arguments.

    Returns:
        A `(batch, dim)` tensor from `call(inputs, condition)`.

    Example:

    >>> import numpy as np
    >>> layer = ConcatPredictor(dim=4, hidden_units=(8,), seed=0)
    >>> x = np.ones((2, 4), "float32")
    >>> z = np.ones((2, 2), "float32")
    >>> tuple(layer(x, z).shape)
    (2, 4)

    Reference:
        Garrido et al., "Self-supervised learning of Split Invariant
        Equivariant representations", ICML 2023.
    """

    def __init__(self, dim, hidden_units=(64,), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = check_positive_int("dim", dim)
        self.hidden_units = _check_units(hidden_units)
        self.seed = seed
        init = keras.initializers.GlorotUniform(seed=seed)
        self.hidden = [
            keras.layers.Dense(u, activation="relu", kernel_initializer=init,
                               name=f"hidden_{i}", dtype=self.dtype_policy)
            for i, u in enumerate(self.hidden_units)]
        self.out = keras.layers.Dense(
            self.dim, kernel_initializer=init, name="out",
            dtype=self.dtype_policy)

    def build(self, inputs_shape, condition_shape):
        shape = tuple(inputs_shape[:-1]) + (
            inputs_shape[-1] + condition_shape[-1],)
        for layer in self.hidden:
            layer.build(shape)
            shape = shape[:-1] + (layer.units,)
        self.out.build(shape)

    def call(self, inputs, condition):
        h = ops.concatenate([inputs, condition], axis=-1)
        for layer in self.hidden:
            h = layer(h)
        return self.out(h)

    def compute_output_shape(self, inputs_shape, condition_shape):
        return tuple(inputs_shape[:-1]) + (self.dim,)

    def get_config(self):
        config = super().get_config()
        config.update(dim=self.dim, hidden_units=list(self.hidden_units),
                      seed=self.seed)
        return config
