"""DyVTE gates for keras-hub's PaliGemma backbone (masked exit path).

`PaliGemmaTokenExitGates` holds one `layers.TokenExitRouter` per decoder
block of a `keras_hub.models.PaliGemmaBackbone`; `gated_forward` re-runs
the backbone's own sublayers (ViT encoder, token embedding, decoder
blocks, final norm) in the backbone's order and, after the exit layer,
masks the image tokens as keys. PaliGemma's decoder block builds its
attention mask from a token-level `padding_mask` (padded with ones over
the image tokens) and `response_mask`; the hook passes a full-length
padding mask whose image entries are 0 in the layers after the exit, so
every query (image, prompt and response) stops reading image keys. With
the gates disabled (or no exit) the blocks get exactly the backbone's
arguments, so the outputs equal the unmodified backbone's.

The router features are DyVTE's: the mean of the prompt-token states
(excluding the last prompt token) and the last prompt token, taken from
`padding_mask` and `response_mask`. The same code serves a real preset
on a machine that has it (`PaliGemmaBackbone.from_preset(...)`); offline
it is shown on a tiny random config (tests/test_token_exit.py). The
batch-1 physical removal path is not provided for PaliGemma: its
attention layer derives rotary positions from the cache index, so kept
position ids would need a change inside keras-hub.
"""

import keras
from keras import ops

from layers.token_exit import TokenExitRouter
from zoo._checks import check_has


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
    """
    _check_backbone(backbone)
    for key in ("images", "token_ids", "padding_mask", "response_mask"):
        if key not in inputs:
            raise ValueError(f"`inputs` is missing {key!r}.")
    images = inputs["images"]
    token_ids = inputs["token_ids"]
    padding_mask = inputs["padding_mask"]
    response_mask = inputs["response_mask"]
    img = backbone.vit_encoder(images)
    text = backbone.token_embedding(token_ids)
    text = text * ops.cast(ops.sqrt(backbone.hidden_dim), text.dtype)
    x = ops.concatenate((img, text), axis=1)
    n_img = backbone.image_sequence_length
    batch = ops.shape(x)[0]
    prompt = ops.logical_and(ops.cast(padding_mask, "bool"),
                             ops.logical_not(ops.cast(response_mask, "bool")))
    text_mask = ops.concatenate(
        [ops.zeros((batch, n_img), "bool"), prompt], axis=1)
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
