"""TokenExitVLM backbone: a tiny decoder-only VLM with DyVTE routers."""

import keras
import numpy as np
from keras import ops
from keras_hub.layers import PositionEmbedding
from keras_hub.models import Backbone

from layers.token_exit import TokenExitDecoderLayer
from layers.token_exit import TokenExitRouter
from layers.token_exit import decoder_flops
from layers.token_exit import visual_exit_key_mask


def _check_config(vocabulary_size, num_layers, hidden_dim, image_size,
                  patch_size, num_prefix_tokens, num_text_tokens,
                  router_hidden_dim, image_channels=1):
    """Checks the backbone's sizes; returns the number of image tokens."""
    for name, value, low in (
        ("image_channels", image_channels, 1),
        ("vocabulary_size", vocabulary_size, 2),
        ("num_layers", num_layers, 1),
        ("hidden_dim", hidden_dim, 2),
        ("image_size", image_size, 1),
        ("patch_size", patch_size, 1),
        ("num_prefix_tokens", num_prefix_tokens, 0),
        ("num_text_tokens", num_text_tokens, 2),
        ("router_hidden_dim", router_hidden_dim, 1),
    ):
        if not isinstance(value, int) or value < low:
            raise ValueError(
                f"`{name}` must be an int >= {low}. Received: "
                f"{name}={value!r}"
            )
    if image_size % patch_size:
        raise ValueError(
            "`image_size` must be a multiple of `patch_size`. Received: "
            f"image_size={image_size}, patch_size={patch_size}"
        )
    return (image_size // patch_size) ** 2


@keras.saving.register_keras_serializable(package="hyperzoo")
class TokenExitVLMBackbone(Backbone):
    """Decoder-only vision-language model with a visual-token exit gate.

    The sequence is `[prefix tokens][image tokens][instruction tokens]`
    (LLaVA's layout). Image tokens are linear patch embeddings (plus a
    learned keras-hub `PositionEmbedding`) of a square image with
    `image_channels` channels (1: digits, 3: RGB scenes);
    text tokens come from an embedding table. `num_layers`
    `layers.TokenExitDecoderLayer`s (causal, RoPE) follow, then a final
    RMS normalisation. The backbone returns the final hidden states
    `(batch, T, hidden_dim)`.

    One `layers.TokenExitRouter` per layer (`routers`, not part of the
    functional graph, used by `masked_forward` and `prefill_with_exit`) reads
    the instruction states after that layer.

    Inputs (dict): `images` `(batch, image_size, image_size,
    image_channels)` float,
    `token_ids` `(batch, num_prefix_tokens + num_text_tokens)` int (the
    prefix then the instruction, the last being the last prompt token),
    `exit_layers` `(batch,)` int: the image tokens are masked as keys in
    every layer after `exit_layers` (`num_layers - 1` = full model,
    `-1` = no image at all).

    Args:
        vocabulary_size: int. Text vocabulary.
        num_layers: int. Decoder layers.
        num_heads: int. Attention heads.
        hidden_dim: int. Model width `d`.
        intermediate_dim: int. MLP width.
        image_size: int. Side of the input image.
        patch_size: int. Side of a square patch (`image_size` must be a
            multiple).
        num_prefix_tokens: int. Text tokens before the image.
        num_text_tokens: int >= 2. Instruction tokens after the image.
        router_hidden_dim: int. Hidden width of every router.
        image_channels: int. Channels of the input image (a patch has
            `patch_size**2 * image_channels` values).
        vision_stem_channels: int or `None`. `None`: linear patch
            embeddings of the pixels (the digits preset). An int `c`: a
            tiny vision encoder first, two 3x3 "same" convolutions with
            `c` channels and GELU (the role of LLaVA's vision tower), whose
            feature map is then cut into patches (`patch_size**2 * c`
            values each). Its FLOPs do not depend on the exit and are not
            part of the decoder FLOPs count.
        head_dim: int or `None`.
        layer_norm_epsilon: float.
        dtype: string or `keras.DTypePolicy`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.TokenExitVLMBackbone(
        vocabulary_size=20, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, image_size=8, patch_size=2)
    backbone({"images": np.zeros((1, 8, 8, 1), "float32"),
              "token_ids": np.ones((1, 6), "int32"),
              "exit_layers": np.array([1])}).shape  # (1, 22, 16)
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        image_size=16,
        patch_size=2,
        num_prefix_tokens=1,
        num_text_tokens=5,
        router_hidden_dim=64,
        image_channels=1,
        vision_stem_channels=None,
        head_dim=None,
        layer_norm_epsilon=1e-6,
        dtype=None,
        **kwargs,
    ):
        num_image_tokens = _check_config(
            vocabulary_size, num_layers, hidden_dim, image_size, patch_size,
            num_prefix_tokens, num_text_tokens, router_hidden_dim,
            image_channels)
        seq_len = num_prefix_tokens + num_image_tokens + num_text_tokens

        # === Layers ===
        if vision_stem_channels is not None and (
            isinstance(vision_stem_channels, bool)
            or not isinstance(vision_stem_channels, int)
            or vision_stem_channels < 1
        ):
            raise ValueError(
                "`vision_stem_channels` must be a positive int or None. "
                f"Received: vision_stem_channels={vision_stem_channels!r}"
            )
        self.image_channels = image_channels
        self.vision_stem_channels = vision_stem_channels
        self._make_layers(vocabulary_size, num_layers, num_heads, hidden_dim,
                          intermediate_dim, patch_size, num_image_tokens,
                          head_dim, layer_norm_epsilon, dtype)
        routers = [
            TokenExitRouter(router_hidden_dim, num_text_tokens=num_text_tokens,
                            dtype=dtype, name=f"router_{i}")
            for i in range(num_layers)
        ]
        for router in routers:
            router.build((None, seq_len, hidden_dim))

        # Config needed by the helpers below (set before the graph).
        self.num_layers = num_layers
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_prefix_tokens = num_prefix_tokens
        self.num_text_tokens = num_text_tokens
        self.num_image_tokens = num_image_tokens
        self.sequence_length = seq_len

        # === Functional Model ===
        images = keras.Input((image_size, image_size, image_channels),
                             name="images")
        token_ids = keras.Input((num_prefix_tokens + num_text_tokens,),
                                dtype="int32", name="token_ids")
        exit_layers = keras.Input((), dtype="int32", name="exit_layers")
        x = self.embed(images, token_ids)
        for i, layer in enumerate(self.transformer_layers):
            x = layer(x, key_mask=self._key_mask(exit_layers, i))
        outputs = self.final_norm(x)
        super().__init__(
            inputs={"images": images, "token_ids": token_ids,
                    "exit_layers": exit_layers},
            outputs=outputs, dtype=dtype, **kwargs,
        )
        # Not in the functional graph: tracked as an attribute (set after
        # `Functional.__init__` so every backend tracks their weights).
        self.routers = routers

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.router_hidden_dim = router_hidden_dim
        self.head_dim = head_dim
        self.layer_norm_epsilon = layer_norm_epsilon

    def _make_layers(self, vocabulary_size, num_layers, num_heads,
                     hidden_dim, intermediate_dim, patch_size,
                     num_image_tokens, head_dim, layer_norm_epsilon, dtype):
        """Creates and builds the embeddings, decoder layers and norm."""
        # The vision stem first: created, tracked and built before the
        # other layers, so `weights` starts with it on every backend.
        self.vision_stem = []
        stem = self.vision_stem_channels
        if stem:
            self.vision_stem = [
                keras.layers.Conv2D(stem, 3, padding="same",
                                    activation="gelu", dtype=dtype,
                                    name=f"vision_stem_{i}")
                for i in range(2)
            ]
        channels = self.image_channels
        for conv in self.vision_stem:
            conv.build((None, None, None, channels))
            channels = stem
        self.patch_embedding = keras.layers.Dense(
            hidden_dim, dtype=dtype, name="patch_embedding"
        )
        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, dtype=dtype, name="token_embedding"
        )
        self.image_position_embedding = PositionEmbedding(
            num_image_tokens, dtype=dtype, name="image_position_embedding"
        )
        self.transformer_layers = [
            TokenExitDecoderLayer(
                num_heads, intermediate_dim, head_dim=head_dim,
                layer_norm_epsilon=layer_norm_epsilon, dtype=dtype,
                name=f"decoder_layer_{i}",
            )
            for i in range(num_layers)
        ]
        self.final_norm = keras.layers.RMSNormalization(
            epsilon=layer_norm_epsilon, dtype=dtype, name="final_norm",
        )
        # Built here, in attribute order: `weights` is then in the same
        # order on every backend (goldens, `set_weights`).
        features = stem or self.image_channels
        self.patch_embedding.build(
            (None, None, patch_size * patch_size * features))
        self.token_embedding.build((None, None))
        self.image_position_embedding.build(
            (None, num_image_tokens, hidden_dim))


    # ------------------------------------------------------------------
    def _key_mask(self, exit_layers, index):
        return visual_exit_key_mask(
            exit_layers, index, self.sequence_length, self.num_prefix_tokens,
            self.num_image_tokens,
        )

    def patchify(self, images):
        """`(batch, S, S, c)` images to `(batch, M, p*p*c)` patches.

        With a vision stem, its feature map is cut instead (`c` = the
        stem's channels).

        Args:
            images: float `(batch, S, S, image_channels)`.

        Returns:
            The patches.
        """
        p, g = self.patch_size, self.image_size // self.patch_size
        for conv in self.vision_stem:
            images = conv(images)
        c = self.vision_stem_channels or self.image_channels
        x = ops.reshape(images, (-1, g, p, g, p, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, g * g, p * p * c))

    def embed(self, images, token_ids):
        """The input sequence `[prefix][image][instruction]` `(B, T, d)`.

        Args:
            images: float `(batch, S, S, image_channels)`.
            token_ids: int `(batch, num_prefix + num_text)`.

        Returns:
            The embedded sequence.
        """
        img = self.patch_embedding(self.patchify(images))
        text = self.token_embedding(token_ids)
        img = img + self.image_position_embedding(img)
        n = self.num_prefix_tokens
        return ops.concatenate([text[:, :n], img, text[:, n:]], axis=1)

    def _check_inputs(self, inputs):
        if not isinstance(inputs, dict) or not {"images", "token_ids"} <= set(
            inputs
        ):
            raise ValueError(
                "`inputs` must be a dict with 'images' and 'token_ids' "
                f"(and optionally 'exit_layers'). Received: {type(inputs)}"
            )
        images = ops.convert_to_tensor(inputs["images"], self.compute_dtype)
        token_ids = ops.convert_to_tensor(inputs["token_ids"], "int32")
        expected = (self.image_size, self.image_size, self.image_channels)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"`images` must have shape (batch,) + {expected}. "
                f"Received: {tuple(images.shape)}"
            )
        length = self.num_prefix_tokens + self.num_text_tokens
        if tuple(token_ids.shape[1:]) != (length,):
            raise ValueError(
                f"`token_ids` must have shape (batch, {length}). "
                f"Received: {tuple(token_ids.shape)}"
            )
        return images, token_ids

    def masked_forward(self, inputs, exit_layers=None, return_gates=False,
                       training=False):
        """Masked-path forward pass, optionally with every router's logits.

        Same computation as calling the backbone, without the functional
        graph (usable inside `compute_loss` and in eager loops).

        Args:
            inputs: dict with `images` and `token_ids` (`exit_layers` is
                read from it when the argument is `None`).
            exit_layers: int tensor `(batch,)` or `None` (full model).
            return_gates: bool. Also return router logits.
            training: bool.

        Returns:
            The hidden states `(batch, T, d)`, and with `return_gates` a
            tuple `(hidden states, gate logits (batch, num_layers, 2))`
            in float32: router `i` read the states after layer `i`.
        """
        images, token_ids = self._check_inputs(inputs)
        if exit_layers is None:
            exit_layers = inputs.get("exit_layers")
        if exit_layers is None:
            exit_layers = ops.full((ops.shape(images)[0],),
                                   self.num_layers - 1, "int32")
        exit_layers = ops.reshape(ops.cast(exit_layers, "int32"), (-1,))
        x = self.embed(images, token_ids)
        gates = []
        for i, layer in enumerate(self.transformer_layers):
            x = layer(x, key_mask=self._key_mask(exit_layers, i),
                      training=training)
            if return_gates:
                gates.append(ops.cast(self.routers[i](x), "float32"))
        out = self.final_norm(x)
        if not return_gates:
            return out
        return out, ops.stack(gates, axis=1)

    def prefill_with_exit(self, inputs, threshold=0.5, exit_layer=None):
        """Batch-1 prefill that physically removes the image tokens.

        After each layer `i` the router reads the instruction states; the
        first layer whose exit probability exceeds `threshold` (or the
        forced `exit_layer`) removes the image rows from the hidden
        states and their position ids. Later layers run on the shorter
        sequence with the original position ids (not renumbered). Eager,
        Python control flow: batch size 1 only.

        Args:
            inputs: dict with `images` `(1, S, S, c)` and `token_ids`.
            threshold: float in `[0, 1]`. Exit when `p(exit) > threshold`
                (0.5 = the reference's argmax).
            exit_layer: int in `[-1, num_layers - 1]` or `None`: force the
                exit after this layer (routers still report their
                probabilities).

        Returns:
            A dict: `hidden_states` (final normalised states of the kept
            tokens), `position_ids` (int numpy array), `exit_layer` (int;
            `num_layers - 1` when no router fired) and `exit_probs` (list
            of float, the routers evaluated before the exit).
        """
        images, token_ids = self._check_inputs(inputs)
        if images.shape[0] != 1:
            raise ValueError(
                "`prefill_with_exit` runs on one example (batch size 1). "
                f"Received batch size {images.shape[0]}; use `masked_forward` "
                "with `exit_layers` for batches."
            )
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(
                f"`threshold` must be in [0, 1]. Received: {threshold!r}"
            )
        last = self.num_layers - 1
        if exit_layer is not None and (
            not isinstance(exit_layer, (int, np.integer))
            or not -1 <= exit_layer <= last
        ):
            raise ValueError(
                f"`exit_layer` must be an int in [-1, {last}] or None. "
                f"Received: exit_layer={exit_layer!r}"
            )
        start = self.num_prefix_tokens
        stop = start + self.num_image_tokens
        positions = np.arange(self.sequence_length)
        keep = np.concatenate([positions[:start], positions[stop:]])
        x = self.embed(images, token_ids)
        exited = None
        if exit_layer == -1:
            x, positions, exited = ops.take(x, keep, axis=1), keep, -1
        probs = []
        for i, layer in enumerate(self.transformer_layers):
            x = layer(x, position_ids=positions)
            if exited is not None:
                continue
            p = float(ops.convert_to_numpy(
                ops.softmax(ops.cast(self.routers[i](x), "float32"))
            )[0, 1])
            probs.append(p)
            fire = (p > threshold) if exit_layer is None else (
                i == exit_layer)
            if fire or i == last:
                exited = i
                if i < last:
                    x, positions = ops.take(x, keep, axis=1), keep
        if exited == last:
            # Nothing runs after the last layer: drop the image rows of
            # the output so both branches return the same layout.
            x, positions = ops.take(x, keep, axis=1), keep
        return {
            "hidden_states": self.final_norm(x),
            "position_ids": np.asarray(positions),
            "exit_layer": int(exited),
            "exit_probs": probs,
        }

    def layer_flops(self, num_tokens):
        """Analytic FLOPs of one decoder layer on `num_tokens` tokens."""
        hd = self.head_dim or self.hidden_dim // self.num_heads
        return decoder_flops(num_tokens, self.hidden_dim, self.num_heads,
                             hd, self.intermediate_dim)

    def prefill_flops(self, exit_layers, router_calls=True):
        """Analytic prefill FLOPs of the decoder stack per example.

        Args:
            exit_layers: int or array of exit layers in `[-1, L-1]`.
            router_calls: bool. Add the routers evaluated up to the exit
                (layers `0..k`, each `2 * (2d*h + 2h)` FLOPs).

        Returns:
            A float64 numpy array like `exit_layers`.
        """
        k = np.asarray(exit_layers, dtype=np.int64)
        t = self.sequence_length
        full = self.layer_flops(t)
        short = self.layer_flops(t - self.num_image_tokens)
        seen = k + 1
        flops = seen * full + (self.num_layers - seen) * short
        if router_calls:
            h = self.router_hidden_dim
            per = 2 * (2 * self.hidden_dim * h + 2 * h)
            flops = flops + np.minimum(seen, self.num_layers - 1) * per
        return flops.astype(np.float64)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "image_size": self.image_size,
            "patch_size": self.patch_size,
            "num_prefix_tokens": self.num_prefix_tokens,
            "num_text_tokens": self.num_text_tokens,
            "router_hidden_dim": self.router_hidden_dim,
            "image_channels": self.image_channels,
            "vision_stem_channels": self.vision_stem_channels,
            "head_dim": self.head_dim,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        })
        return config
