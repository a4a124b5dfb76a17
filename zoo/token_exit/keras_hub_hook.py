"""DyVTE gates for keras-hub's PaliGemma backbone: masked and removal paths.

`PaliGemmaTokenExitGates` holds one `layers.TokenExitRouter` per decoder
block of a `keras_hub.models.PaliGemmaBackbone`. Two execution paths run
the backbone's own sublayers and weights (ViT encoder, token embedding,
decoder blocks, final norm) in the backbone's order:

1. `gated_forward` (batched, static shapes): after the exit layer the
   image tokens stay in the sequence but are masked as keys. PaliGemma's
   decoder block builds its attention mask from a token-level
   `padding_mask` (padded with ones over the image tokens) and
   `response_mask`; the hook passes a full-length padding mask whose
   image entries are 0 in the blocks after the exit, so every query
   (image, prompt and response) stops reading image keys. With the gates
   disabled (or no exit) the blocks get exactly the backbone's
   arguments, so the outputs equal the unmodified backbone's.
2. `removal_forward` (batch-1 prefill): after the exit layer the image
   rows are physically removed from the hidden states and the later
   blocks run on the shorter sequence with the *original* position ids
   (not renumbered). keras-hub's attention layer derives its rotary
   positions from the cache index, so the hook drives each block's
   sublayers itself (pre-norms, query/key/value/output projections, the
   block's `RotaryEmbedding` called with explicit positions and Gemma's
   rotary layout, query scaling, optional logit soft cap, float32
   softmax, optional post-norms, gated GELU MLP). The attention mask is
   the block's own, written over position ids: image and prompt keys are
   read by every query (bidirectional prefix), response keys causally
   (and within the sliding window of PaliGemma 2's local blocks).

The router features are DyVTE's: the mean of the prompt-token states
(excluding the last prompt token) and the last prompt token, taken from
`padding_mask` and `response_mask`. The same code serves a real preset
on a machine that has it (`PaliGemmaBackbone.from_preset(...)`); offline
it is shown on a tiny random config (tests/test_token_exit.py,
tests/test_token_exit_hub.py). On a GPU keras-hub may take the fused
`ops.dot_product_attention` instead of its einsum path; `removal_forward`
always uses the einsum path, so there the two agree to the fused
kernel's precision rather than to float32 rounding.

Reference:
- [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
  Visual-Token Exit and the Empirical Findings of MLLMs".
"""

import numbers

import keras
import numpy as np
from keras import ops

from layers.token_exit import TokenExitRouter
from zoo._checks import check_has

_INPUT_KEYS = ("images", "token_ids", "padding_mask", "response_mask")


def _check_backbone(backbone):
    needed = ("vit_encoder", "token_embedding", "transformer_layers",
              "layer_norm", "image_sequence_length", "hidden_dim")
    check_has("backbone", dir(backbone), needed,
              "a keras_hub PaliGemmaBackbone (received a "
              f"{type(backbone).__name__})")


@keras.saving.register_keras_serializable(package="hyperzoo")
class PaliGemmaTokenExitGates(keras.layers.Layer):
    """One DyVTE router per decoder block of a keras-hub PaliGemma.

    Args:
        num_layers: int. Decoder blocks of the backbone.
        router_hidden_dim: int. Hidden width of every router.
        **kwargs: passed to `keras.layers.Layer`.

    Example:

    ```python
    gates = PaliGemmaTokenExitGates(backbone.num_layers)
    gates.build(backbone.hidden_dim)
    out, gate_logits = gated_forward(backbone, gates, inputs)
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """

    def __init__(self, num_layers, router_hidden_dim=64, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(
                "`num_layers` must be a positive int. Received: "
                f"num_layers={num_layers!r}"
            )
        self.num_layers = num_layers
        self.router_hidden_dim = router_hidden_dim
        self.routers = [
            TokenExitRouter(router_hidden_dim, dtype=self.dtype_policy,
                            name=f"router_{i}")
            for i in range(num_layers)
        ]

    def build(self, hidden_dim):
        if isinstance(hidden_dim, (tuple, list)):
            hidden_dim = hidden_dim[-1]
        for router in self.routers:
            router.build((None, None, int(hidden_dim)))
        self.built = True

    def call(self, hidden_states, text_mask):
        """Every router on the same states: logits `(batch, L, 2)`."""
        return ops.stack([r(hidden_states, text_mask=text_mask)
                          for r in self.routers], axis=1)

    def get_config(self):
        config = super().get_config()
        config.update({"num_layers": self.num_layers,
                       "router_hidden_dim": self.router_hidden_dim})
        return config


def add_token_exit_gates(backbone, router_hidden_dim=64):
    """Builds the gates that fit a PaliGemma backbone.

    Args:
        backbone: `keras_hub.models.PaliGemmaBackbone`.
        router_hidden_dim: int.

    Returns:
        A built `PaliGemmaTokenExitGates` (the backbone is not modified).

    Example:

    ```python
    gates = add_token_exit_gates(backbone)
    ```
    """
    _check_backbone(backbone)
    gates = PaliGemmaTokenExitGates(len(backbone.transformer_layers),
                                    router_hidden_dim,
                                    dtype=backbone.dtype_policy)
    gates.build(backbone.hidden_dim)
    return gates


def _check_input_keys(inputs):
    if not isinstance(inputs, dict):
        raise ValueError(
            "`inputs` must be a dict with 'images', 'token_ids', "
            f"'padding_mask' and 'response_mask'. Received: {type(inputs)}"
        )
    for key in _INPUT_KEYS:
        if key not in inputs:
            raise ValueError(f"`inputs` is missing {key!r}.")


def _embed(backbone, images, token_ids):
    """The backbone's input sequence: `[image embeddings][text]`."""
    img = backbone.vit_encoder(images)
    text = backbone.token_embedding(token_ids)
    text = text * ops.cast(ops.sqrt(backbone.hidden_dim), text.dtype)
    return ops.concatenate((img, text), axis=1)


def _router_text_mask(padding_mask, response_mask, n_img, batch):
    """Prompt tokens (padding_mask and not response_mask), image rows 0."""
    prompt = ops.logical_and(ops.cast(padding_mask, "bool"),
                             ops.logical_not(ops.cast(response_mask, "bool")))
    return ops.concatenate(
        [ops.zeros((batch, n_img), "bool"), prompt], axis=1)


def gated_forward(backbone, gates, inputs, exit_layers=None, enabled=True):
    """PaliGemma forward pass with DyVTE gates (masked path).

    Args:
        backbone: `keras_hub.models.PaliGemmaBackbone`.
        gates: `PaliGemmaTokenExitGates` or `None` (no router logits).
        inputs: the backbone's input dict (`images`, `token_ids`,
            `padding_mask`, `response_mask`).
        exit_layers: int tensor `(batch,)` in `[-1, L-1]` or `None`:
            image keys are masked in every block after `exit_layers`.
        enabled: bool. `False` ignores `exit_layers` (the plain backbone).

    Returns:
        `(sequence_output, gate_logits)`: the backbone's output and the
        routers' logits `(batch, L, 2)` in float32 (`None` without
        gates), router `i` reading the states after block `i`.

    Example:

    ```python
    gates = add_token_exit_gates(backbone)
    out, gate_logits = gated_forward(backbone, gates, inputs,
                                     exit_layers=np.array([3, 7]))
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """
    _check_backbone(backbone)
    _check_input_keys(inputs)
    padding_mask = inputs["padding_mask"]
    response_mask = inputs["response_mask"]
    x = _embed(backbone, inputs["images"], inputs["token_ids"])
    n_img = backbone.image_sequence_length
    batch = ops.shape(x)[0]
    text_mask = _router_text_mask(padding_mask, response_mask, n_img, batch)
    use_exit = enabled and exit_layers is not None
    if use_exit:
        exit_layers = ops.reshape(ops.cast(exit_layers, "int32"), (-1,))
    gate_logits = []
    for i, block in enumerate(backbone.transformer_layers):
        mask = padding_mask
        if use_exit:
            keep_image = ops.cast(exit_layers >= i, "int32")
            image_part = ops.broadcast_to(
                ops.expand_dims(keep_image, 1), (batch, n_img))
            mask = ops.concatenate(
                [image_part, ops.cast(padding_mask, "int32")], axis=1)
        x = block(x, padding_mask=mask, response_mask=response_mask)
        if gates is not None:
            gate_logits.append(ops.cast(
                gates.routers[i](x, text_mask=text_mask), "float32"))
    out = backbone.layer_norm(x)
    return out, (ops.stack(gate_logits, axis=1) if gates is not None
                 else None)


def _to_host(value):
    return ops.convert_to_numpy(value)


def _check_removal_inputs(inputs):
    """Host copies of the masks after checking batch-1 shapes."""
    _check_input_keys(inputs)
    images_shape = tuple(ops.shape(inputs["images"]))
    ids_shape = tuple(ops.shape(inputs["token_ids"]))
    if len(images_shape) != 4 or len(ids_shape) != 2:
        raise ValueError(
            "`inputs['images']` must be (1, S, S, 3) and "
            "`inputs['token_ids']` (1, T). Received shapes: "
            f"{images_shape} and {ids_shape}"
        )
    if images_shape[0] != 1 or ids_shape[0] != 1:
        raise ValueError(
            "`removal_forward` runs on one example (batch size 1). "
            f"Received batch sizes {images_shape[0]} (images) and "
            f"{ids_shape[0]} (token_ids); use `gated_forward` with "
            "`exit_layers` for batches."
        )
    masks = []
    for key in ("padding_mask", "response_mask"):
        mask = _to_host(inputs[key])
        if tuple(mask.shape) != ids_shape:
            raise ValueError(
                f"`inputs[{key!r}]` must have the shape of "
                f"`inputs['token_ids']` {ids_shape}. Received: "
                f"{tuple(mask.shape)}"
            )
        masks.append(mask[0].astype(bool))
    return masks


def _gemma_rope(attention, x, positions):
    """The attention's own `RotaryEmbedding` at explicit positions.

    Gemma stores the rotated halves interleaved (`[a0, b0, a1, b1, ...]`)
    rather than concatenated; the same permutation is applied here.
    """
    rotated = attention.rope_layer(x, positions=positions)
    first, second = ops.split(rotated, 2, axis=-1)
    return ops.reshape(ops.stack((first, second), axis=-1),
                       ops.shape(rotated))


def _block_mask(attention, positions, prefix, response):
    """The PaliGemma block's attention mask over position ids (host).

    Keys in `prefix` (image and prompt tokens) are read by every query;
    keys in `response` by the queries at the same or a later position;
    padding keys by none. Local (sliding-window) blocks further keep only
    the keys less than `sliding_window_size` positions away.
    """
    later = positions[:, None] >= positions[None, :]
    allowed = prefix[None, :] | (response[None, :] & later)
    if attention.use_sliding_window_attention:
        distance = np.abs(positions[:, None] - positions[None, :])
        allowed &= distance < attention.sliding_window_size
    return ops.convert_to_tensor(allowed[None])


def _attention_with_positions(attention, x, positions, mask):
    """`CachedGemmaAttention` without a cache, rotary at `positions`."""
    heads = attention.num_query_heads
    kv_heads = attention.num_key_value_heads
    head_dim = attention.head_dim
    query = _gemma_rope(attention, attention.query_dense(x), positions)
    key = _gemma_rope(attention, attention.key_dense(x), positions)
    value = attention.value_dense(x)
    if attention.query_head_dim_normalize:
        scale = 1 / np.sqrt(head_dim)
    else:
        scale = 1 / np.sqrt(attention.hidden_dim // heads)
    query = query * ops.cast(scale, query.dtype)
    batch, length = ops.shape(query)[0], ops.shape(query)[1]
    # Grouped-query attention: `heads // kv_heads` queries per key head.
    query = ops.reshape(query, (batch, length, kv_heads, heads // kv_heads,
                                head_dim))
    logits = ops.einsum("bqkgh,bskh->bkgqs", query, key)
    cap = attention.logit_soft_cap
    if cap is not None:
        logits = ops.multiply(ops.tanh(ops.divide(logits, cap)), cap)
    weights = attention.softmax(logits, mask=mask[:, None, None, :, :])
    weights = ops.cast(weights, logits.dtype)
    out = ops.einsum("bkgqs,bskh->bqkgh", weights, value)
    out = ops.reshape(out, (batch, length, heads, head_dim))
    # A query with no readable key gets a zero vector (as keras-hub).
    blind = ops.logical_not(ops.any(mask, axis=-1))
    out = ops.where(blind[:, :, None, None], ops.zeros_like(out), out)
    return attention.output_dense(out)


def _decoder_block(block, x, positions, mask):
    """One `PaliGemmaDecoderBlock` (inference) at explicit positions."""
    attended = _attention_with_positions(
        block.attention, block.pre_attention_norm(x), positions, mask)
    if block.use_post_attention_norm:
        attended = block.post_attention_norm(attended)
    x = x + attended
    h = block.pre_ffw_norm(x)
    h = keras.activations.gelu(block.gating_ffw(h), approximate=True) * (
        block.gating_ffw_2(h))
    h = block.ffw_linear(h)
    if block.use_post_ffw_norm:
        h = block.post_ffw_norm(h)
    return h + x


def removal_forward(backbone, gates, inputs, threshold=0.5,
                    exit_layer=None):
    """Batch-1 PaliGemma prefill that physically removes the image tokens.

    Every decoder block runs on the current rows with explicit position
    ids (the block's own sublayers and weights, see the module
    docstring). After block `i` router `i` reads the prompt states; the
    first block whose exit probability exceeds `threshold` (or the forced
    `exit_layer`) removes the image rows from the hidden states, and the
    later blocks run on the text rows with their original position ids
    (not renumbered), under the block's mask semantics (bidirectional
    over the prompt, causal over the response). Removing the image rows
    gives the text rows of `gated_forward` with the same exit layer;
    with no exit they are the text rows of `backbone(inputs)`. Eager,
    Python control flow: batch size 1 only.

    Args:
        backbone: `keras_hub.models.PaliGemmaBackbone`.
        gates: `PaliGemmaTokenExitGates` (one router per block) or `None`:
            no router runs, the exit happens only at a forced
            `exit_layer` (`None` and no `exit_layer`: the plain backbone).
        inputs: the backbone's input dict (`images` `(1, S, S, 3)`,
            `token_ids`, `padding_mask`, `response_mask`, all `(1, T)`).
        threshold: float in `[0, 1]`. Exit when `p(exit) > threshold`
            (0.5 = the reference's argmax).
        exit_layer: int in `[-1, L - 1]` or `None`: force the exit after
            this block (`-1`: no block sees the image; the routers still
            report their probabilities up to the exit).

    Returns:
        A dict: `hidden_states` (final-normalised states of the text rows,
        `(1, T, hidden_dim)`), `position_ids` (int numpy array of their
        original positions), `exit_layer` (int; `L - 1` when no router
        fired) and `exit_probs` (list of float, the routers evaluated
        before the exit, router `i` after block `i`).

    Example:

    ```python
    gates = add_token_exit_gates(backbone)
    result = removal_forward(backbone, gates, inputs, threshold=0.5)
    result["exit_layer"], result["hidden_states"].shape
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """
    _check_backbone(backbone)
    blocks = backbone.transformer_layers
    last = len(blocks) - 1
    if gates is not None and len(getattr(gates, "routers", ())) != len(
            blocks):
        raise ValueError(
            "`gates` must hold one router per decoder block "
            f"({len(blocks)}), e.g. from `add_token_exit_gates(backbone)`."
        )
    valid = isinstance(threshold, numbers.Real) and not isinstance(
        threshold, (bool, np.bool_)) and 0.0 <= threshold <= 1.0
    if not valid:
        raise ValueError(
            f"`threshold` must be a number in [0, 1]. Received: "
            f"threshold={threshold!r}"
        )
    if exit_layer is not None and (
        not isinstance(exit_layer, numbers.Integral)
        or isinstance(exit_layer, (bool, np.bool_))
        or not -1 <= exit_layer <= last
    ):
        raise ValueError(
            f"`exit_layer` must be an int in [-1, {last}] or None. "
            f"Received: exit_layer={exit_layer!r}"
        )
    padding, response = _check_removal_inputs(inputs)
    n_img = backbone.image_sequence_length
    num_text = padding.shape[0]
    positions = np.arange(n_img + num_text, dtype="int32")
    prefix = np.concatenate([np.ones(n_img, bool), padding & ~response])
    responds = np.concatenate([np.zeros(n_img, bool), response])
    text_mask = _router_text_mask(padding[None], response[None], n_img, 1)
    x = _embed(backbone, inputs["images"], inputs["token_ids"])

    def remove_image(x):
        return (ops.take(x, positions[n_img:], axis=1), positions[n_img:],
                prefix[n_img:], responds[n_img:])

    exited = None
    if exit_layer == -1:
        x, positions, prefix, responds = remove_image(x)
        exited = -1
    probs = []
    for i, block in enumerate(blocks):
        mask = _block_mask(block.attention, positions, prefix, responds)
        x = _decoder_block(block, x, ops.convert_to_tensor(positions), mask)
        if exited is not None:
            continue
        fire = i == exit_layer
        if gates is not None:
            logits = ops.cast(gates.routers[i](x, text_mask=text_mask),
                              "float32")
            probs.append(float(_to_host(ops.softmax(logits))[0, 1]))
            if exit_layer is None:
                fire = probs[-1] > threshold
        if fire or i == last:
            # After the last block the image rows are dropped from the
            # output only, so that every exit returns the same layout.
            exited = i
            x, positions, prefix, responds = remove_image(x)
    return {
        "hidden_states": backbone.layer_norm(x),
        "position_ids": np.asarray(positions),
        "exit_layer": int(exited),
        "exit_probs": probs,
    }
