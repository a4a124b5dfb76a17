"""LoGAH's low-rank weight decoder: node embedding -> A @ B kernel.

A graph hypernetwork embeds every parameter tensor of a target network
(one node of its layer graph) and decodes the embedding into the tensor.
GHN-3 predicts a fixed block and tiles it; a full prediction of a
`max_ck x max_ck` block costs `hidden * max_ck**2` head parameters.
LoGAH predicts two thin factors instead, `A (max_ck, r)` and
`B (r, max_ck)`, and slices them to any `c_out*k_out x c_in*k_in` up to
`max_ck`: the head costs `hidden * 2 r**2 + r * max_ck`.
"""

import keras
from keras import ops

from layers._checks import check_bool
from layers._checks import check_positive_int
from layers._config import ConfigMixin


def _check_units(hidden_units):
    units = tuple(hidden_units)
    for u in units:
        check_positive_int("hidden_units", u)
    return units


def kernel_block_size(kernel_shape):
    """`(c_in * k_in, c_out * k_out)` of a Keras kernel shape.

    Dense kernels `(in, out)` give `(in, out)`; conv kernels
    `(k, in, out)` give `(in, out * k)` and `(kh, kw, in, out)` give
    `(in * kw, out * kh)` (LoGAH's layout: `k_out = kh`, `k_in = kw`).

    Args:
        kernel_shape: tuple of int, a Keras kernel shape of rank 2-4.

    Returns:
        A tuple `(rows_in, rows_out)` of ints.

    Example:

    ```python
    kernel_block_size((3, 3, 8, 16))  # (24, 48)
    ```
    """
    shape = tuple(int(s) for s in kernel_shape)
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 3:
        return shape[1], shape[2] * shape[0]
    if len(shape) == 4:
        return shape[2] * shape[1], shape[3] * shape[0]
    raise ValueError(
        "`kernel_shape` must be a dense (in, out), conv1d (k, in, out) or "
        f"conv2d (kh, kw, in, out) shape. Received: {kernel_shape}"
    )


def slice_kernel(block, kernel_shape, max_ck):
    """Slices a decoded `(..., max_ck, max_ck)` block to a Keras kernel.

    `block` is in Keras dense layout `(in, out)`, i.e. the transpose of
    LoGAH's `W = A @ B` of shape `(out, in)`. Dense kernels are the
    top-left `(in, out)` corner; conv kernels are sliced to
    `(c_in*kw, c_out*kh)` and reshaped to `(kh, kw, in, out)` (or
    `(k, in, out)` for conv1d, `kw = 1`).

    Args:
        block: tensor `(..., max_ck, max_ck)`.
        kernel_shape: tuple of int, the Keras kernel shape.
        max_ck: int. The decoder's `max_ck`.

    Returns:
        Tensor `(...,) + kernel_shape`.

    Raises:
        ValueError: when `c_in*k_in` or `c_out*k_out` exceeds `max_ck`.

    Example:

    ```python
    w = slice_kernel(np.zeros((64, 64), "float32"), (40, 32), 64)
    ```
    """
    rows_in, rows_out = kernel_block_size(kernel_shape)
    if rows_in > max_ck or rows_out > max_ck:
        raise ValueError(
            f"Kernel shape {tuple(kernel_shape)} needs a "
            f"{rows_in} x {rows_out} block (c_in*k_in x c_out*k_out), "
            f"larger than max_ck={max_ck}; LoGAH slices and never tiles, "
            "so build the decoder with a larger `max_ck`."
        )
    lead = tuple(block.shape[:-2])
    w = block[..., :rows_in, :rows_out]
    shape = tuple(int(s) for s in kernel_shape)
    if len(shape) == 2:
        return w
    if len(shape) == 3:
        k, c_in, c_out = shape
        kh, kw = k, 1
    else:
        kh, kw, c_in, c_out = shape
    # (.., c_in*kw, c_out*kh) -> (.., c_in, kw, c_out, kh) -> kh, kw, in, out
    n = len(lead)
    w = ops.reshape(w, (-1,) + lead[1:] + (c_in, kw, c_out, kh)
                    if n else (c_in, kw, c_out, kh))
    perm = tuple(range(n)) + (n + 3, n + 1, n, n + 2)
    w = ops.transpose(w, perm)
    if len(shape) == 3:
        w = ops.squeeze(w, axis=n + 1)
    return w


@keras.saving.register_keras_serializable(package="hyperzoo")
class LowRankWeightDecoder(ConfigMixin, keras.layers.Layer):
    """Decodes node embeddings into kernels of rank at most `rank`.

    LoGAH's decoder (`ConvDecoder3LoRA`): an MLP maps the embedding to
    `2 r * r` values viewed as `[2r, r]`; a ReLU and a linear map
    `r -> max_ck` give `[2r, max_ck]`, which is *reshaped* (a view, not
    a transpose) to `[2 max_ck, r]` and split into `A [max_ck, r]` and
    `B^T [max_ck, r]`. `W = A @ B` (`(out, in)`, rank `<= r`) is returned
    transposed, in Keras layout `(in, out)`: the full `max_ck x max_ck`
    block, or sliced to `kernel_shape` (`slice_kernel`; dense
    `(in, out)`, conv `(k, in, out)` / `(kh, kw, in, out)`).

    With `full_rank=True` the MLP's head predicts the whole block
    (`max_ck**2` outputs), the GHN-style reference that LoGAH compares
    with; `num_decoder_params` counts either.

    The factors are computed in float32 (hypernetwork outputs lose
    precision in float16) and the result is cast to the compute dtype.

    Args:
        max_ck: int. Largest `c*k` (block side) the decoder supports.
        rank: int. `r`, the rank bound (ignored with `full_rank`).
        hidden_units: tuple of int. Hidden sizes of the MLP (ReLU).
        kernel_shape: `None` (return the full block) or a Keras kernel
            shape whose `c*k` sizes are `<= max_ck`.
        full_rank: bool. Predict the full block instead of `A @ B`.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        embeddings: tensor `(batch, ..., embedding_dim)`.

    Returns:
        Tensor `(batch, ..., max_ck, max_ck)` or
        `(batch, ...) + kernel_shape`.

    Example:

    ```python
    dec = layers.LowRankWeightDecoder(max_ck=64, rank=8,
                                      kernel_shape=(40, 32))
    dec(np.ones((2, 16), "float32")).shape  # (2, 40, 32)
    ```

    Reference:
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH:
      Predicting 774-Million-Parameter Transformers using Graph
      HyperNetworks with 1/100 Parameters".
    - [Knyazev et al., 2023](https://arxiv.org/abs/2303.04143), "Can We
      Scale Transformers to Predict Parameters of Diverse ImageNet
      Models?" (GHN-3).
    """

    def __init__(self, max_ck, rank=8, hidden_units=(32,),
                 kernel_shape=None, full_rank=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        max_ck = check_positive_int("max_ck", max_ck)
        rank = check_positive_int("rank", rank)
        hidden_units = _check_units(hidden_units)
        check_bool("full_rank", full_rank)
        if kernel_shape is not None:
            kernel_shape = tuple(int(s) for s in kernel_shape)
            rows = kernel_block_size(kernel_shape)
            if max(rows) > max_ck:
                raise ValueError(
                    f"kernel_shape={kernel_shape} needs a {rows[0]} x "
                    f"{rows[1]} block (c_in*k_in x c_out*k_out), larger "
                    f"than max_ck={max_ck}."
                )
        self._set_config(max_ck=max_ck, rank=rank,
                         hidden_units=hidden_units,
                         kernel_shape=kernel_shape, full_rank=full_rank,
                         seed=seed)
        seeds = [None if seed is None else seed + i for i in range(8)]
        self.hidden_layers = [
            keras.layers.Dense(u, activation="relu", dtype="float32",
                               kernel_initializer=keras.initializers
                               .GlorotUniform(seeds[i]),
                               name=f"hidden_{i}")
            for i, u in enumerate(hidden_units)
        ]
        head = max_ck * max_ck if full_rank else 2 * rank * rank
        self.head = keras.layers.Dense(
            head, dtype="float32",
            kernel_initializer=keras.initializers.GlorotUniform(seeds[5]),
            name="head")
        self.factor = None
        if not full_rank:
            self.factor = keras.layers.Dense(
                max_ck, dtype="float32",
                kernel_initializer=keras.initializers.GlorotUniform(
                    seeds[6]),
                name="factor")

    def build(self, embeddings_shape):
        dim = embeddings_shape[-1]
        for layer in self.hidden_layers:
            layer.build((None, dim))
            dim = layer.units
        self.head.build((None, dim))
        if self.factor is not None:
            self.factor.build((None, self.rank))
        self.built = True

    def num_decoder_params(self):
        """Number of scalars of the (built) decoder.

        Returns:
            int.
        """
        return int(sum(int(ops.size(w)) for w in self.weights))

    def call(self, embeddings):
        ck, r = self.max_ck, self.rank
        lead = tuple(embeddings.shape[:-1])
        x = ops.cast(embeddings, "float32")
        x = ops.reshape(x, (-1, x.shape[-1]))
        for layer in self.hidden_layers:
            x = layer(x)
        x = self.head(x)
        if self.full_rank:
            w = ops.reshape(x, (-1, ck, ck))  # (out, in)
        else:
            x = ops.reshape(x, (-1, 2 * r, r))
            x = self.factor(ops.relu(x))  # (n, 2r, ck)
            x = ops.reshape(x, (-1, 2 * ck, r))  # a view, not a transpose
            a, b_t = x[:, :ck], x[:, ck:]
            w = ops.matmul(a, ops.transpose(b_t, (0, 2, 1)))  # (out, in)
        w = ops.transpose(w, (0, 2, 1))  # Keras (in, out)
        w = ops.reshape(w, (-1,) + lead[1:] + (ck, ck))
        if self.kernel_shape is not None:
            w = slice_kernel(w, self.kernel_shape, ck)
        return ops.cast(w, self.compute_dtype)

    def compute_output_shape(self, embeddings_shape):
        lead = tuple(embeddings_shape[:-1])
        if self.kernel_shape is None:
            return lead + (self.max_ck, self.max_ck)
        return lead + self.kernel_shape
