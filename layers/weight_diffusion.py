"""D2NWG building blocks: a set encoder and a conditional latent denoiser.

Written with `keras.ops` only. `SetEncoder` embeds a set of examples
(a task's support set) into one vector, invariant to the order of the
set; `ConditionalDenoiser` predicts the flow-matching velocity (or the
DDPM noise) of a latent from the latent, the diffusion time and a
condition vector (the task embedding).
"""

import math

import keras
from keras import ops

from layers._checks import check_choice
from layers._checks import check_positive_int

POOLINGS = ("attention", "mean")


def timestep_embedding(time, dim, max_period=10000.0):
    """Sinusoidal embedding of a (continuous) diffusion time.

    Args:
        time: tensor `(batch,)` of times (flow matching: in `[0, 1]`,
            scaled by 1000 here; DDPM: step indices divided by the number
            of steps).
        dim: int. Embedding size (even).
        max_period: float. Longest period of the sinusoids.

    Returns:
        Tensor `(batch, dim)`, `[cos(1000 t w_i), sin(1000 t w_i)]` with
        `w_i = max_period ** (-i / (dim / 2))`.

    Example:

    ```python
    layers.timestep_embedding(np.array([0.0, 0.5], "float32"), 8).shape
    ```

    Reference:
    - [Ho et al., 2020](https://arxiv.org/abs/2006.11239), "Denoising
      Diffusion Probabilistic Models".
    """
    half = dim // 2
    freqs = ops.exp(
        -math.log(max_period) * ops.arange(half, dtype="float32") / half
    )
    t = ops.reshape(ops.cast(time, "float32"), (-1, 1)) * 1000.0
    args = t * ops.expand_dims(freqs, 0)
    return ops.concatenate([ops.cos(args), ops.sin(args)], axis=-1)


def _dense(units, seed, offset, dtype, name, activation=None):
    return keras.layers.Dense(
        units, activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(
            None if seed is None else seed + offset),
        dtype=dtype, name=name)


@keras.saving.register_keras_serializable(package="hyperzoo")
class SetEncoder(keras.layers.Layer):
    """Permutation-invariant encoder of a set of examples (DeepSets).

    `y = rho(pool_i phi(x_i))`: `phi` is a two-layer ReLU MLP applied to
    every element, the pooling is a mean or an attention pooling with
    one learned query (`softmax_i(phi(x_i) . q / sqrt(h))`-weighted sum,
    as in Set Transformer's PMA with one seed), and `rho` a linear map.
    Any reordering of the set axis leaves the output unchanged.

    D2NWG encodes each class's support examples with it; the per-class
    codes, in label order, form the task condition.

    Args:
        output_dim: int. Size of the set embedding.
        hidden_dim: int. Width of `phi`.
        pooling: str. `"attention"` or `"mean"`.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, ..., set_size, features)`; the set axis
            is the second to last (leading axes index separate sets).

    Returns:
        Tensor `(batch, ..., output_dim)`.

    Example:

    ```python
    encoder = layers.SetEncoder(8, hidden_dim=16)
    encoder(np.random.rand(2, 5, 3).astype("float32")).shape  # (2, 8)
    ```

    Reference:
    - [Zaheer et al., 2017](https://arxiv.org/abs/1703.06114), "Deep
      Sets".
    - [Lee et al., 2019](https://arxiv.org/abs/1810.00825), "Set
      Transformer".
    - [Soro et al., 2025](https://arxiv.org/abs/2402.18153), "Diffusion-
      based Neural Network Weights Generation" (D2NWG).
    """

    def __init__(self, output_dim, hidden_dim=32, pooling="attention",
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = check_positive_int("output_dim", output_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.pooling = check_choice("pooling", pooling, POOLINGS)
        self.seed = seed
        policy = self.dtype_policy
        self.phi_0 = _dense(hidden_dim, seed, 0, policy, "phi_0", "relu")
        self.phi_1 = _dense(hidden_dim, seed, 1, policy, "phi_1", "relu")
        self.rho = _dense(output_dim, seed, 2, policy, "rho")

    def build(self, inputs_shape):
        if len(inputs_shape) < 3:
            raise ValueError(
                "`SetEncoder` expects inputs of shape (batch, ..., "
                f"set_size, features). Received: {tuple(inputs_shape)}")
        self.phi_0.build(tuple(inputs_shape))
        hidden = tuple(inputs_shape[:-1]) + (self.hidden_dim,)
        self.phi_1.build(hidden)
        if self.pooling == "attention":
            self.query = self.add_weight(
                name="query", shape=(self.hidden_dim,),
                initializer=keras.initializers.RandomNormal(
                    stddev=1.0, seed=self.seed))
        self.rho.build(tuple(inputs_shape[:-2]) + (self.hidden_dim,))
        self.built = True

    def call(self, inputs):
        h = self.phi_1(self.phi_0(inputs))
        if self.pooling == "mean":
            pooled = ops.mean(h, axis=-2)
        else:
            q = ops.cast(self.query, h.dtype)
            scores = ops.sum(h * q, axis=-1) / math.sqrt(self.hidden_dim)
            weights = ops.softmax(scores, axis=-1)
            pooled = ops.sum(h * ops.expand_dims(weights, -1), axis=-2)
        return self.rho(pooled)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-2]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({"output_dim": self.output_dim,
                       "hidden_dim": self.hidden_dim,
                       "pooling": self.pooling, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class ConditionalDenoiser(keras.layers.Layer):
    """Time- and condition-aware residual MLP denoiser of latents.

    `h = W_in z + MLP_t(emb(t)) + W_c c`, then `num_blocks` residual
    blocks `h += W_2 silu(W_1 LayerNorm(h))`, and `y = W_out silu(h)`.
    With flow matching (`z_t = (1 - t) z_0 + t z_1`, noise `z_0`) `y` is
    trained to the velocity `z_1 - z_0`; with DDPM to the noise.

    Args:
        output_dim: int. Output size (the latent size, or a feature size
            when a head follows).
        hidden_dim: int. Width of the residual stream.
        num_blocks: int. Number of residual blocks.
        time_embedding_dim: int. Size of the sinusoidal time embedding
            (even).
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(batch, latent_dim)`, the noisy latent `z_t`.
        time: tensor `(batch,)`, the time `t` in `[0, 1]`.
        condition: tensor `(batch, condition_dim)`, the task embedding.

    Returns:
        Tensor `(batch, output_dim)`.

    Example:

    ```python
    denoiser = layers.ConditionalDenoiser(6, hidden_dim=16)
    z = np.random.rand(2, 6).astype("float32")
    t = np.array([0.1, 0.9], "float32")
    c = np.random.rand(2, 4).astype("float32")
    denoiser(z, time=t, condition=c).shape  # (2, 6)
    ```

    Reference:
    - [Lipman et al., 2023](https://arxiv.org/abs/2210.02747), "Flow
      Matching for Generative Modeling".
    - [Soro et al., 2025](https://arxiv.org/abs/2402.18153), "Diffusion-
      based Neural Network Weights Generation" (D2NWG).
    """

    def __init__(self, output_dim, hidden_dim=64, num_blocks=2,
                 time_embedding_dim=16, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = check_positive_int("output_dim", output_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.num_blocks = check_positive_int("num_blocks", num_blocks)
        self.time_embedding_dim = check_positive_int(
            "time_embedding_dim", time_embedding_dim)
        if time_embedding_dim % 2:
            raise ValueError("`time_embedding_dim` must be even. "
                             f"Received: {time_embedding_dim}")
        self.seed = seed
        policy = self.dtype_policy
        self.input_proj = _dense(hidden_dim, seed, 0, policy, "input_proj")
        self.time_0 = _dense(hidden_dim, seed, 1, policy, "time_0", "silu")
        self.time_1 = _dense(hidden_dim, seed, 2, policy, "time_1")
        self.condition_proj = _dense(hidden_dim, seed, 3, policy,
                                     "condition_proj")
        self.norms, self.blocks_in, self.blocks_out = [], [], []
        for i in range(num_blocks):
            self.norms.append(keras.layers.LayerNormalization(
                dtype=policy, name=f"norm_{i}"))
            self.blocks_in.append(_dense(2 * hidden_dim, seed, 10 + 2 * i,
                                         policy, f"block_{i}_in", "silu"))
            self.blocks_out.append(_dense(hidden_dim, seed, 11 + 2 * i,
                                          policy, f"block_{i}_out"))
        self.output_proj = _dense(output_dim, seed, 4, policy, "output_proj")

    def build(self, inputs_shape, time_shape=None, condition_shape=None):
        batch = inputs_shape[0]
        hidden = (batch, self.hidden_dim)
        self.input_proj.build(tuple(inputs_shape))
        self.time_0.build((batch, self.time_embedding_dim))
        self.time_1.build(hidden)
        self.condition_proj.build(tuple(condition_shape))
        for norm, b_in, b_out in zip(self.norms, self.blocks_in,
                                     self.blocks_out):
            norm.build(hidden)
            b_in.build(hidden)
            b_out.build((batch, 2 * self.hidden_dim))
        self.output_proj.build(hidden)
        self.built = True

    def call(self, inputs, time, condition):
        emb = timestep_embedding(time, self.time_embedding_dim)
        emb = ops.cast(emb, self.compute_dtype)
        h = (self.input_proj(inputs) + self.time_1(self.time_0(emb))
             + self.condition_proj(condition))
        for norm, b_in, b_out in zip(self.norms, self.blocks_in,
                                     self.blocks_out):
            h = h + b_out(b_in(norm(h)))
        return self.output_proj(ops.silu(h))

    def compute_output_shape(self, inputs_shape, time_shape=None,
                             condition_shape=None):
        return (inputs_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"output_dim": self.output_dim,
                       "hidden_dim": self.hidden_dim,
                       "num_blocks": self.num_blocks,
                       "time_embedding_dim": self.time_embedding_dim,
                       "seed": self.seed})
        return config
