"""Visual-token exit (DyVTE): the router and a key-maskable decoder layer.

A decoder-only multimodal model reads `[prefix][image tokens][text]`.
DyVTE trains one small router per decoder layer; after layer `k` the
router reads the text hidden states and may decide that the image tokens
are no longer needed, and every later layer runs without them.

Two execution paths give the same text hidden states:

1. Batched / training (static shapes, jit-friendly): the image tokens
   stay in the sequence but are masked as *keys* in every layer after the
   exit layer (`visual_exit_key_mask`), for every query. The exit layer
   can differ per example.
2. Batch-1 inference: after the exit layer the image rows are physically
   removed from the hidden states and from the position ids; the position
   ids of the remaining tokens are *not* renumbered, so rotary positions
   are unchanged (`TokenExitDecoderLayer(position_ids=...)`).

Exit-layer convention used throughout: `k` in `[-1, num_layers - 1]`
means "the image tokens are seen by layers `0..k` and dropped after layer
`k`"; `k = num_layers - 1` is the full model, `k = -1` a text-only
model.
"""

import math

import keras
from keras import ops

_NEG_INF = -1e9


def visual_exit_key_mask(exit_layers, layer_index, sequence_length,
                         image_start, num_image_tokens):
    """Key mask of one decoder layer for per-example exit layers.

    Args:
        exit_layers: int tensor `(batch,)`. Exit layer `k` of every
            example (image tokens dropped after layer `k`).
        layer_index: int. Index of the decoder layer the mask is for.
        sequence_length: int. Total number of tokens `T`.
        image_start: int. Position of the first image token.
        num_image_tokens: int. Number of image tokens `M`.

    Returns:
        A bool tensor `(batch, T)`: `True` where the key may be attended
        to. Image keys are `False` iff `layer_index > exit_layers`.

    Example:

    ```python
    mask = layers.visual_exit_key_mask(np.array([0, 3]), 2, 10, 1, 4)
    # row 0: image keys 1..4 masked; row 1: nothing masked
    ```
    """
    for name, value in (("layer_index", layer_index),
                        ("sequence_length", sequence_length),
                        ("image_start", image_start),
                        ("num_image_tokens", num_image_tokens)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(
                f"`{name}` must be a non-negative int. Received: "
                f"{name}={value!r}"
            )
    if image_start + num_image_tokens > sequence_length:
        raise ValueError(
            "The image tokens must lie inside the sequence. Received: "
            f"image_start={image_start}, num_image_tokens="
            f"{num_image_tokens}, sequence_length={sequence_length}"
        )
    positions = ops.arange(sequence_length)
    is_image = ops.logical_and(positions >= image_start,
                               positions < image_start + num_image_tokens)
    exited = ops.expand_dims(ops.cast(exit_layers, "int32"), -1) < (
        layer_index
    )
    return ops.logical_not(
        ops.logical_and(ops.expand_dims(is_image, 0), exited)
    )


def token_exit_labels(full_logits, exit_logits, labels, label_mask=None,
                      agreement=0.99, loss_ratio=1.03):
    """DyVTE's per-example exit labels (1 = "exit", 0 = "keep").

    `y = 1` iff the argmax agreement of the exited and the full model on
    the answer positions is `> agreement` *and* the exited model's mean
    cross-entropy against `labels` is `< loss_ratio` times the full
    model's. The agreement compares the two models with each other, not
    with the ground truth.

    Args:
        full_logits: float tensor `(batch, vocab)` or `(batch, steps,
            vocab)`. Logits of the full model.
        exit_logits: same shape. Logits with the image tokens dropped.
        labels: int tensor `(batch,)` or `(batch, steps)`. Targets.
        label_mask: optional `(batch, steps)` tensor, nonzero on the
            answer positions (all positions when `None`).
        agreement: float. Agreement threshold (strict).
        loss_ratio: float. Loss-ratio threshold (strict).

    Returns:
        An int32 tensor `(batch,)`.

    Example:

    ```python
    y = layers.token_exit_labels(full, exited, answers)
    ```
    """
    full_logits = ops.convert_to_tensor(full_logits)
    exit_logits = ops.convert_to_tensor(exit_logits)
    if tuple(full_logits.shape) != tuple(exit_logits.shape):
        raise ValueError(
            "`full_logits` and `exit_logits` must have the same shape. "
            f"Received: {full_logits.shape} and {exit_logits.shape}"
        )
    if len(full_logits.shape) == 2:
        full_logits = ops.expand_dims(full_logits, 1)
        exit_logits = ops.expand_dims(exit_logits, 1)
        labels = ops.expand_dims(labels, 1)
    if len(full_logits.shape) != 3:
        raise ValueError(
            "`full_logits` must be (batch, vocab) or (batch, steps, vocab)."
            f" Received shape: {full_logits.shape}"
        )
    full_logits = ops.cast(full_logits, "float32")
    exit_logits = ops.cast(exit_logits, "float32")
    labels = ops.cast(labels, "int32")
    if label_mask is None:
        mask = ops.ones(ops.shape(labels), "float32")
    else:
        mask = ops.cast(ops.cast(label_mask, "bool"), "float32")
    count = ops.maximum(ops.sum(mask, axis=1), 1.0)
    same = ops.cast(
        ops.argmax(full_logits, -1) == ops.argmax(exit_logits, -1),
        "float32",
    )
    agree = ops.sum(same * mask, axis=1) / count
    ce_full = ops.sum(
        ops.sparse_categorical_crossentropy(labels, full_logits,
                                            from_logits=True) * mask,
        axis=1,
    ) / count
    ce_exit = ops.sum(
        ops.sparse_categorical_crossentropy(labels, exit_logits,
                                            from_logits=True) * mask,
        axis=1,
    ) / count
    keep = ops.logical_and(agree > agreement, ce_exit < loss_ratio * ce_full)
    return ops.cast(keep, "int32")


@keras.saving.register_keras_serializable(package="hyperzoo")
class TokenExitRouter(keras.layers.Layer):
    """DyVTE router: `W2 · GELU(W1 · f)`, no biases, two classes.

    The feature `f = [mean of the instruction-text hidden states, hidden
    state of the last prompt token]` (`2d` values) is taken under
    `stop_gradient`, so training the router never moves the model it
    reads. Class 1 means "exit now" (drop the image tokens after this
    layer), class 0 "keep". Weights use Xavier-uniform (gain 1), as the
    reference's `init_weight.py`. The reference's unused dropout is
    omitted.

    Text positions: with `text_mask=None` the last `num_text_tokens`
    positions are the instruction (the last of them is the last prompt
    token). With `text_mask` (`(batch, T)`, nonzero on the instruction
    tokens including the last prompt token) padded or variable layouts
    are supported: the last nonzero position is the last prompt token.

    Args:
        hidden_dim: int. Width of the hidden layer (2048 in the
            reference).
        num_text_tokens: int >= 2 or `None`. Instruction tokens at the
            end of the sequence, last prompt token included. `None`
            requires `text_mask` at call time.
        kernel_initializer: initializer of both matrices.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        hidden_states: float tensor `(batch, T, d)`.
        text_mask: optional tensor `(batch, T)`.

    Returns:
        Exit logits `(batch, 2)`.

    Example:

    ```python
    router = layers.TokenExitRouter(16, num_text_tokens=5)
    router(np.zeros((2, 70, 32), "float32")).shape  # (2, 2)
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """

    def __init__(self, hidden_dim, num_text_tokens=None,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(hidden_dim, int) or hidden_dim < 1:
            raise ValueError(
                "`hidden_dim` must be a positive int. Received: "
                f"hidden_dim={hidden_dim!r}"
            )
        if num_text_tokens is not None and (
            not isinstance(num_text_tokens, int) or num_text_tokens < 2
        ):
            raise ValueError(
                "`num_text_tokens` must be an int >= 2 (the mean excludes "
                "the last prompt token) or None. Received: "
                f"num_text_tokens={num_text_tokens!r}"
            )
        self.hidden_dim = hidden_dim
        self.num_text_tokens = num_text_tokens
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.hidden = keras.layers.Dense(
            hidden_dim, use_bias=False,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy, name="hidden",
        )
        self.logits = keras.layers.Dense(
            2, use_bias=False, kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy, name="logits",
        )

    def build(self, hidden_states_shape, text_mask_shape=None):
        if len(hidden_states_shape) != 3:
            raise ValueError(
                "`hidden_states` must be (batch, T, d). Received shape: "
                f"{hidden_states_shape}"
            )
        d = hidden_states_shape[-1]
        self.hidden.build((None, 2 * d))
        self.logits.build((None, self.hidden_dim))
        self.built = True

    def features(self, hidden_states, text_mask=None):
        """The stop-gradient feature `[text mean, last prompt token]`.

        Args:
            hidden_states: float tensor `(batch, T, d)`.
            text_mask: optional `(batch, T)` instruction mask.

        Returns:
            A tensor `(batch, 2d)` with no gradient path to the input.
        """
        x = ops.stop_gradient(ops.convert_to_tensor(hidden_states))
        if text_mask is None:
            n = self.num_text_tokens
            if n is None:
                raise ValueError(
                    "`text_mask` is required when `num_text_tokens` is None."
                )
            length = x.shape[1]
            if length is not None and length < n:
                raise ValueError(
                    f"The sequence ({length} tokens) is shorter than "
                    f"`num_text_tokens`={n}."
                )
            mean = ops.mean(x[:, -n:-1, :], axis=1)
            last = x[:, -1, :]
        else:
            m = ops.cast(ops.cast(text_mask, "bool"), x.dtype)
            steps = ops.cast(ops.arange(ops.shape(m)[1]) + 1, x.dtype)
            last_index = ops.argmax(m * steps, axis=1)
            onehot = ops.one_hot(last_index, ops.shape(m)[1], dtype=x.dtype)
            rest = m - onehot
            count = ops.maximum(ops.sum(rest, axis=1, keepdims=True), 1.0)
            mean = ops.sum(x * ops.expand_dims(rest, -1), axis=1) / count
            last = ops.sum(x * ops.expand_dims(onehot, -1), axis=1)
        return ops.stop_gradient(ops.concatenate([mean, last], axis=-1))

    def call(self, hidden_states, text_mask=None):
        f = self.features(hidden_states, text_mask)
        h = keras.activations.gelu(self.hidden(f), approximate=False)
        return self.logits(h)

    def compute_output_shape(self, hidden_states_shape,
                             text_mask_shape=None):
        return (hidden_states_shape[0], 2)

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_dim": self.hidden_dim,
            "num_text_tokens": self.num_text_tokens,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        })
        return config


def rotary_embedding(x, positions, max_wavelength=10000.0):
    """Rotary position embedding (rotate-half form) with given positions.

    Args:
        x: float tensor `(batch, T, heads, head_dim)`, `head_dim` even.
        positions: tensor `(T,)` or `(batch, T)` of (possibly
            non-contiguous) positions.
        max_wavelength: float. RoPE base.

    Returns:
        A tensor like `x`.

    Example:

    ```python
    y = layers.rotary_embedding(q, np.arange(10))
    ```
    """
    head_dim = x.shape[-1]
    half = head_dim // 2
    inv_freq = 1.0 / ops.power(
        ops.cast(max_wavelength, "float32"),
        ops.cast(ops.arange(half), "float32") * (2.0 / head_dim),
    )
    positions = ops.cast(positions, "float32")
    if len(positions.shape) == 1:
        positions = ops.expand_dims(positions, 0)
    angles = ops.expand_dims(positions, -1) * inv_freq  # (B|1, T, half)
    cos = ops.cast(ops.expand_dims(ops.cos(angles), 2), x.dtype)
    sin = ops.cast(ops.expand_dims(ops.sin(angles), 2), x.dtype)
    x1 = x[..., :half]
    x2 = x[..., half:]
    return ops.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin],
                           axis=-1)


@keras.saving.register_keras_serializable(package="hyperzoo")
class TokenExitDecoderLayer(keras.layers.Layer):
    """Pre-norm causal decoder layer with a key mask and kept positions.

    `x + Attn(RMSNorm(x))`, then `+ MLP(RMSNorm(.))` (GELU, no biases).
    Attention is causal with rotary positions; `key_mask` (`(batch, T)`,
    nonzero = attendable) masks keys for every query, which is how an
    exit of the image tokens is emulated at static shapes. Every query
    may always attend to itself, so rows whose earlier keys are all
    masked stay well defined (they are the dropped image rows, which no
    kept token reads). `position_ids` carries the original positions
    after tokens were physically removed (batch-1 exit path).

    keras-hub's `TransformerDecoder` takes an attention mask but no
    position ids for rotary embeddings after removal, hence this layer.
    Softmax runs in float32 under mixed precision.

    Args:
        num_heads: int. Attention heads.
        intermediate_dim: int. Width of the MLP.
        head_dim: int or `None` (hidden size / `num_heads`). Must be even.
        rope_max_wavelength: float. RoPE base.
        layer_norm_epsilon: float. RMSNorm epsilon.
        kernel_initializer: initializer of the matrices.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        hidden_states: float tensor `(batch, T, d)`.
        key_mask: optional `(batch, T)` tensor, nonzero = attendable.
        position_ids: optional int tensor `(T,)` or `(batch, T)`
            (default `0..T-1`).

    Returns:
        A tensor `(batch, T, d)`.

    Example:

    ```python
    layer = layers.TokenExitDecoderLayer(num_heads=2, intermediate_dim=32)
    layer(np.zeros((2, 10, 16), "float32")).shape  # (2, 10, 16)
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """

    def __init__(self, num_heads, intermediate_dim, head_dim=None,
                 rope_max_wavelength=10000.0, layer_norm_epsilon=1e-6,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_heads", num_heads),
                            ("intermediate_dim", intermediate_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"`{name}` must be a positive int. Received: "
                    f"{name}={value!r}"
                )
        if head_dim is not None and (
            not isinstance(head_dim, int) or head_dim < 2 or head_dim % 2
        ):
            raise ValueError(
                "`head_dim` must be a positive even int or None. "
                f"Received: head_dim={head_dim!r}"
            )
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.head_dim = head_dim
        self.rope_max_wavelength = float(rope_max_wavelength)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, hidden_states_shape, key_mask_shape=None,
              position_ids_shape=None):
        if len(hidden_states_shape) != 3:
            raise ValueError(
                "`hidden_states` must be (batch, T, d). Received shape: "
                f"{hidden_states_shape}"
            )
        d = hidden_states_shape[-1]
        hd = self.head_dim or d // self.num_heads
        if hd < 2 or hd % 2:
            raise ValueError(
                f"The head size ({hd}) must be even: pass `head_dim` or a "
                "hidden size divisible by 2 * num_heads."
            )
        self._hd = hd
        inner = self.num_heads * hd
        init = self.kernel_initializer
        self.attention_norm = self.add_weight(
            (d,), initializer="ones", name="attention_norm")
        self.query = self.add_weight((d, inner), initializer=init,
                                     name="query")
        self.key = self.add_weight((d, inner), initializer=init, name="key")
        self.value = self.add_weight((d, inner), initializer=init,
                                     name="value")
        self.output_kernel = self.add_weight((inner, d), initializer=init,
                                             name="output")
        self.mlp_norm = self.add_weight((d,), initializer="ones",
                                        name="mlp_norm")
        self.mlp_in = self.add_weight((d, self.intermediate_dim),
                                      initializer=init, name="mlp_in")
        self.mlp_out = self.add_weight((self.intermediate_dim, d),
                                       initializer=init, name="mlp_out")
        self.built = True

    def _rms_norm(self, x, scale):
        x32 = ops.cast(x, "float32")
        var = ops.mean(ops.square(x32), axis=-1, keepdims=True)
        y = x32 * ops.rsqrt(var + self.layer_norm_epsilon)
        return ops.cast(y, self.compute_dtype) * ops.cast(scale,
                                                          self.compute_dtype)

    def _attention(self, x, key_mask, position_ids):
        length = x.shape[1]
        if length is None:
            length = ops.shape(x)[1]
        heads, hd = self.num_heads, self._hd
        if position_ids is None:
            position_ids = ops.arange(length)
        h = self._rms_norm(x, self.attention_norm)
        q = ops.reshape(ops.matmul(h, self.query), (-1, length, heads, hd))
        k = ops.reshape(ops.matmul(h, self.key), (-1, length, heads, hd))
        v = ops.reshape(ops.matmul(h, self.value), (-1, length, heads, hd))
        q = rotary_embedding(q, position_ids, self.rope_max_wavelength)
        k = rotary_embedding(k, position_ids, self.rope_max_wavelength)
        scores = ops.einsum("bqhd,bkhd->bhqk", ops.cast(q, "float32"),
                            ops.cast(k, "float32")) / math.sqrt(hd)
        steps = ops.arange(length)
        allowed = ops.expand_dims(steps, 1) >= ops.expand_dims(steps, 0)
        allowed = ops.expand_dims(allowed, 0)  # (1, T, T)
        if key_mask is not None:
            keys = ops.expand_dims(ops.cast(key_mask, "bool"), 1)
            eye = ops.expand_dims(
                ops.expand_dims(steps, 1) == ops.expand_dims(steps, 0), 0)
            allowed = ops.logical_or(ops.logical_and(allowed, keys), eye)
        scores = ops.where(ops.expand_dims(allowed, 1), scores, _NEG_INF)
        return ops.softmax(scores, axis=-1), v, length

    def attention_probs(self, hidden_states, key_mask=None,
                        position_ids=None):
        """Attention probabilities `(batch, heads, T, T)` in float32.

        Used by FastV-style pruning (attention received from the last
        token). Same arguments as `call`.

        Args:
            hidden_states: float tensor `(batch, T, d)`.
            key_mask: optional `(batch, T)` key mask.
            position_ids: optional positions.

        Returns:
            A float32 tensor.
        """
        return self._attention(hidden_states, key_mask, position_ids)[0]

    def call(self, hidden_states, key_mask=None, position_ids=None):
        x = hidden_states
        heads, hd = self.num_heads, self._hd
        probs, v, length = self._attention(x, key_mask, position_ids)
        weights = ops.cast(probs, self.compute_dtype)
        attn = ops.einsum("bhqk,bkhd->bqhd", weights, v)
        attn = ops.reshape(attn, (-1, length, heads * hd))
        x = x + ops.matmul(attn, self.output_kernel)

        h = self._rms_norm(x, self.mlp_norm)
        h = keras.activations.gelu(ops.matmul(h, self.mlp_in),
                                   approximate=False)
        return x + ops.matmul(h, self.mlp_out)

    def compute_output_shape(self, hidden_states_shape, key_mask_shape=None,
                             position_ids_shape=None):
        return tuple(hidden_states_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "head_dim": self.head_dim,
            "rope_max_wavelength": self.rope_max_wavelength,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        })
        return config


def decoder_flops(num_tokens, hidden_dim, num_heads, head_dim,
                  intermediate_dim):
    """Analytic multiply-add FLOPs (x2) of one `TokenExitDecoderLayer`.

    Counts the four projections, the MLP and the two attention products
    (full `T x T`, as a dense implementation computes them); norms,
    softmax and RoPE are ignored.

    Args:
        num_tokens: int. Sequence length `T`.
        hidden_dim: int. `d`.
        num_heads: int.
        head_dim: int.
        intermediate_dim: int.

    Returns:
        An int.

    Example:

    ```python
    layers.decoder_flops(70, 64, 4, 16, 128)
    ```
    """
    inner = num_heads * head_dim
    proj = 2 * num_tokens * hidden_dim * inner * 4
    mlp = 2 * num_tokens * hidden_dim * intermediate_dim * 2
    attn = 2 * 2 * num_tokens * num_tokens * inner
    return int(proj + mlp + attn)
