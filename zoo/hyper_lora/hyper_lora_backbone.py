"""HyperLoRA backbone: a base ViT whose LoRA adapters a set encoder sets.

The base classifier is a keras-hub `ViTBackbone` + mean pooling + a
dense head. A DeepSets encoder reads a subject's labelled support set
and `layers.HyperLoRA` turns its embedding into LoRA factors for the
base's attention and MLP projections, in one forward pass.
"""

import keras
from keras import ops
from keras_hub.models import Backbone
from keras_hub.models import ViTBackbone

from layers._checks import check_positive_int
from layers._config import ConfigMixin
from layers.hyper_lora import HyperLoRA
from layers.weight_diffusion import SetEncoder
from zoo.task import check_num_classes


def build_base_classifier(image_size, patch_size, num_layers, num_heads,
                          hidden_dim, mlp_dim, num_classes,
                          attention_dropout=0.0, dtype=None):
    """The base classifier: ViT, mean pooling over tokens, dense head.

    Args:
        image_size: int. Side of the square grey images.
        patch_size: int.
        num_layers: int. Transformer blocks.
        num_heads: int.
        hidden_dim: int.
        mlp_dim: int.
        num_classes: int.
        attention_dropout: float. The ViT's attention dropout.
        dtype: dtype policy or `None`.

    Returns:
        A functional `keras.Model` `images -> logits` named
        `"base_classifier"` (its head is the layer `"head"`).

    Example:

    ```python
    base = build_base_classifier(16, 4, 2, 2, 32, 64, 10)
    ```
    """
    vit = ViTBackbone(image_shape=(image_size, image_size, 1),
                      patch_size=patch_size, num_layers=num_layers,
                      num_heads=num_heads, hidden_dim=hidden_dim,
                      mlp_dim=mlp_dim, attention_dropout=attention_dropout,
                      dtype=dtype, name="vit")
    pooled = keras.layers.GlobalAveragePooling1D(
        dtype=dtype, name="pool")(vit.output)
    logits = keras.layers.Dense(num_classes, dtype=dtype,
                                name="head")(pooled)
    return keras.Model(vit.input, logits, name="base_classifier")


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperLoRABackbone(ConfigMixin, Backbone):
    """Finetuning-free personalisation of a ViT digit classifier.

    Inputs: dict `images (batch, s, s, 1)`, `support_images (batch, k,
    s, s, 1)` and `support_labels (batch, k)` int: every query comes
    with its subject's labelled support set (labels are used: each
    support example is its flattened pixels concatenated with the
    one-hot label). A mean-pooled DeepSets encoder
    (`layers.SetEncoder`) maps the set to a condition vector and
    `layers.HyperLoRA` generates per-sample LoRA factors for the
    targeted layers of the frozen base classifier (by default the
    attention query/value projections, the MLP layers and the head).
    Output: the adapted base's logits.

    Args:
        image_size: int. Image side.
        patch_size: int. ViT patch side.
        num_layers: int. ViT blocks.
        num_heads: int. Attention heads.
        hidden_dim: int. ViT width.
        mlp_dim: int. ViT MLP width.
        num_classes: int.
        support_size: int. Support examples per subject (k).
        rank: int. LoRA rank.
        targets: str. Regular expression on the base's layer paths.
        hyper_units: tuple of int. Hypernetwork hidden sizes.
        set_units: int. Width of the set encoder.
        condition_dim: int. Size of the subject embedding.
        basis_dim: int or `None`. LiDB basis size.
        output_regularization: float. Weight-norm output regulariser.
        zero_init: bool. Adapter exactly zero at init.
        attention_dropout: float. The ViT's attention dropout. With 0,
            Keras's `MultiHeadAttention` takes the fused
            `ops.dot_product_attention` path, whose gradient does not
            lower on CPU under `mixed_float16` with JAX (XLA refuses
            the F16 x F16 -> F32 dot); a positive rate takes the
            explicit einsum path, which trains in every policy.
        seed: int or `None`.
        dtype: dtype policy or `None`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.HyperLoRABackbone(image_size=16, patch_size=4)
    logits = backbone({"images": x, "support_images": sx,
                       "support_labels": sy})
    ```

    Reference:
    - [Ruiz et al., 2023](https://arxiv.org/abs/2307.06949),
      "HyperDreamBooth: HyperNetworks for Fast Personalization of
      Text-to-Image Models".
    - "Finetuning-Free Personalization of Text to Image Generation via
      Hypernetworks" (end-to-end training with output regularisation).
    """

    def __init__(self, image_size=16, patch_size=4, num_layers=2,
                 num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10,
                 support_size=5, rank=4, targets="query|value|mlp|head",
                 hyper_units=(64,), set_units=64, condition_dim=32,
                 basis_dim=None, output_regularization=0.0,
                 zero_init=True, attention_dropout=0.0, seed=None,
                 dtype=None, **kwargs):
        image_size = check_positive_int("image_size", image_size)
        num_classes = check_num_classes(num_classes)
        support_size = check_positive_int("support_size", support_size)
        # === Layers ===
        base = build_base_classifier(image_size, patch_size, num_layers,
                                     num_heads, hidden_dim, mlp_dim,
                                     num_classes,
                                     attention_dropout=attention_dropout,
                                     dtype=dtype)
        set_encoder = SetEncoder(condition_dim, hidden_dim=set_units,
                                 pooling="mean", seed=seed, dtype=dtype,
                                 name="set_encoder")
        hyper_lora = HyperLoRA(
            base, condition_dim, targets=targets, rank=rank,
            hyper_units=hyper_units, basis_dim=basis_dim,
            output_regularization=output_regularization,
            zero_init=zero_init, seed=seed, dtype=dtype, name="hyper_lora")
        # === Functional model ===
        s, k = image_size, support_size
        inputs = {
            "images": keras.Input((s, s, 1), name="images"),
            "support_images": keras.Input((k, s, s, 1),
                                          name="support_images"),
            "support_labels": keras.Input((k,), dtype="int32",
                                          name="support_labels"),
        }
        condition = set_encoder(
            support_features(inputs["support_images"],
                             inputs["support_labels"], num_classes))
        logits = hyper_lora(inputs["images"], condition=condition)
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype,
                         **kwargs)
        self.base = base
        self.set_encoder = set_encoder
        self.hyper_lora = hyper_lora
        self._set_config(
            image_size=image_size, patch_size=patch_size,
            num_layers=num_layers, num_heads=num_heads,
            hidden_dim=hidden_dim, mlp_dim=mlp_dim,
            num_classes=num_classes, support_size=support_size, rank=rank,
            targets=targets, hyper_units=tuple(hyper_units),
            set_units=set_units, condition_dim=condition_dim,
            basis_dim=basis_dim,
            output_regularization=output_regularization,
            zero_init=zero_init, attention_dropout=attention_dropout,
            seed=seed)

    def condition(self, support_images, support_labels):
        """The subject embeddings of support sets.

        Args:
            support_images: `(batch, k, s, s, 1)`.
            support_labels: `(batch, k)` int.

        Returns:
            `(batch, condition_dim)`.
        """
        return self.set_encoder(support_features(
            support_images, support_labels, self.num_classes))


def support_features(images, labels, num_classes):
    """Flattened support pixels concatenated with one-hot labels.

    Args:
        images: `(batch, k, s, s, 1)`.
        labels: `(batch, k)` int.
        num_classes: int.

    Returns:
        `(batch, k, s * s + num_classes)`.

    Example:

    ```python
    support_features(np.zeros((2, 5, 16, 16, 1)), np.zeros((2, 5)), 10)
    ```
    """
    shape = images.shape
    flat = ops.reshape(images, (-1, shape[1], shape[2] * shape[3]))
    onehot = ops.one_hot(ops.cast(labels, "int32"), num_classes,
                         dtype=flat.dtype)
    return ops.concatenate([flat, onehot], axis=-1)
