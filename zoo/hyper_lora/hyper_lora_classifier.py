"""HyperLoRA task: compile defaults, `personalize` and adapter tuning."""

import keras
import numpy as np
from keras import ops

from layers.hyper_lora import kernel_delta
from zoo.hyper_lora.hyper_lora_backbone import HyperLoRABackbone
from zoo.hyper_lora.hyper_lora_backbone import build_base_classifier
from zoo.task import ZooTask


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperLoRAClassifier(ZooTask):
    """Digit classifier personalised by generated LoRA adapters.

    Inputs: the backbone's dict (`images`, `support_images`,
    `support_labels`); output: the logits of the base ViT adapted to
    each sample's subject. Training it trains the set encoder and the
    hypernetwork end to end through the classification loss (the base
    stays frozen). `personalize(support_images, support_labels)` returns
    an ordinary Keras classifier with the subject's adapter merged into
    its kernels; `adapter_weights` returns the factors themselves.

    Args:
        backbone: `zoo.HyperLoRABackbone`.
        preprocessor: `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    model = zoo.HyperLoRAClassifier(zoo.HyperLoRABackbone())
    personal = model.personalize(support_images, support_labels)
    personal.predict(test_images)
    ```

    Reference:
    - [Ruiz et al., 2023](https://arxiv.org/abs/2307.06949),
      "HyperDreamBooth: HyperNetworks for Fast Personalization of
      Text-to-Image Models".
    """

    backbone_cls = HyperLoRABackbone
    preprocessor_cls = None

    def __init__(self, backbone, preprocessor=None, **kwargs):
        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        inputs = dict(backbone.input)
        self.logits = keras.layers.Activation(
            "linear", dtype=self.resolve_head_dtype(None, backbone),
            name="logits")
        super().__init__(inputs=inputs,
                         outputs=self.logits(backbone(inputs)), **kwargs)

    @property
    def base(self):
        """The frozen base classifier (`images -> logits`)."""
        return self.backbone.base

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3), sparse CE on logits and accuracy.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        self.compile_classifier(optimizer, loss, metrics, from_logits=True,
                                **kwargs)

    def adapter_weights(self, support_images, support_labels):
        """A subject's generated LoRA factors (one forward pass).

        Args:
            support_images: `(k, s, s, 1)` one subject's examples.
            support_labels: `(k,)` int labels.

        Returns:
            dict `{target path: (A (fan_in, rank), B (rank, fan_out))}`
            of float32 numpy arrays (the adapter adds `A @ B` times
            `alpha / rank` to each kernel).
        """
        factors = self._factor_fn()(
            np.asarray(support_images, "float32")[None],
            np.asarray(support_labels, "int32")[None])
        return {
            path: (np.asarray(ops.convert_to_numpy(a))[0],
                   np.asarray(ops.convert_to_numpy(b))[0])
            for path, (a, b) in factors.items()
        }

    def _factor_fn(self):
        # A functional model support set -> factors, compiled once by
        # `predict_on_batch` (the one forward pass of personalisation).
        cached = getattr(self, "_factor_cache", None)
        if cached is None:
            backbone = self.backbone
            k, s = backbone.support_size, backbone.image_size
            images = keras.Input((k, s, s, 1))
            labels = keras.Input((k,), dtype="int32")
            out = backbone.hyper_lora.generate(
                backbone.condition(images, labels))
            paths = list(out)
            flat = {f"a{i}": out[p][0] for i, p in enumerate(paths)}
            flat.update({f"b{i}": out[p][1] for i, p in enumerate(paths)})
            fn_model = keras.Model([images, labels], flat)

            def cached(images, labels):
                res = fn_model.predict_on_batch([images, labels])
                return {p: (res[f"a{i}"], res[f"b{i}"])
                        for i, p in enumerate(paths)}

            object.__setattr__(self, "_factor_cache", cached)
        return cached

    def personalize(self, support_images, support_labels):
        """An ordinary Keras classifier with the subject's adapter merged.

        Args:
            support_images: `(k, s, s, 1)` one subject's examples.
            support_labels: `(k,)` int labels.

        Returns:
            A new `keras.Model` `images -> logits`: a clone of the base
            with `W + (alpha / rank) A @ B` in each targeted kernel.
        """
        factors = self.adapter_weights(support_images, support_labels)
        return merged_model(self.backbone, factors)


def merged_model(backbone, factors):
    """A clone of the base with one subject's adapter merged in.

    Args:
        backbone: `zoo.HyperLoRABackbone`.
        factors: dict `{target path: (A (fan_in, r), B (r, fan_out))}`.

    Returns:
        A built `keras.Model` (`images -> logits`).

    Example:

    ```python
    model = merged_model(backbone, backbone_factors)
    ```
    """
    base = backbone.base
    # A fresh base of the same configuration (keras.models.clone_model
    # cannot clone keras-hub's ViT patch embedding).
    clone = build_base_classifier(
        backbone.image_size, backbone.patch_size, backbone.num_layers,
        backbone.num_heads, backbone.hidden_dim, backbone.mlp_dim,
        backbone.num_classes, backbone.attention_dropout)
    clone.set_weights(base.get_weights())
    hyper = backbone.hyper_lora
    scale = hyper.alpha / hyper.rank
    src = list(base._flatten_layers(include_self=False))
    dst = list(clone._flatten_layers(include_self=False))
    for layer, twin in zip(src, dst):
        if layer.path in factors:
            a, b = factors[layer.path]
            delta = ops.convert_to_numpy(kernel_delta(layer, a, b))
            twin.kernel.assign(
                ops.convert_to_numpy(layer.kernel) + scale * delta)
    return clone


@keras.saving.register_keras_serializable(package="hyperzoo")
class SubjectAdapter(keras.layers.Layer):
    """One subject's LoRA factors as variables, for direct fine-tuning.

    Runs the backbone's frozen base with these factors (shared by the
    whole batch) through `HyperLoRA.call_with_factors`. Only the
    factors are weights of this layer: the base and the hypernetwork
    are not tracked, so a model built on it trains the adapter alone.

    Args:
        backbone: `zoo.HyperLoRABackbone` (not serialized; this layer is
            a tool of the evaluator).
        **kwargs: base layer keyword arguments.

    Example:

    ```python
    adapter = SubjectAdapter(backbone)
    logits = adapter(images)
    adapter.reset()  # LoRA init: A random, B = 0
    ```

    Reference:
    - [Hu et al., 2021](https://arxiv.org/abs/2106.09685), "LoRA:
      Low-Rank Adaptation of Large Language Models".
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        hyper = backbone.hyper_lora
        self._get_hyper = lambda: hyper
        self.paths = hyper.target_paths
        self.factors = []
        for i, path in enumerate(self.paths):
            fan_in, fan_out, _, _ = hyper._sizes[i]
            a = self.add_weight(shape=(fan_in, hyper.rank), name=f"a_{i}",
                                initializer="zeros")
            b = self.add_weight(shape=(hyper.rank, fan_out),
                                name=f"b_{i}", initializer="zeros")
            self.factors.append((a, b))

    def reset(self, factors=None, seed=0):
        """Sets the factors: given ones, or LoRA init (A random, B 0).

        Args:
            factors: dict `{path: (A, B)}` or `None`.
            seed: int. Seed of the random `A`.
        """
        rng = np.random.default_rng(seed)
        for path, (a, b) in zip(self.paths, self.factors):
            if factors is not None:
                a.assign(np.asarray(factors[path][0], "float32"))
                b.assign(np.asarray(factors[path][1], "float32"))
            else:
                fan_in = a.shape[0]
                a.assign(rng.normal(0, fan_in ** -0.5, a.shape).astype(
                    "float32"))
                b.assign(np.zeros(b.shape, "float32"))

    def call(self, images):
        batch = ops.shape(images)[0]
        factors = {
            path: (ops.broadcast_to(a, (batch,) + tuple(a.shape)),
                   ops.broadcast_to(b, (batch,) + tuple(b.shape)))
            for path, (a, b) in zip(self.paths, self.factors)
        }
        return self._get_hyper().call_with_factors(images, factors)

    def compute_output_spec(self, images):
        """The logits' spec `(batch, num_classes)`.

        Args:
            images: symbolic `(batch, s, s, 1)`.

        Returns:
            A `KerasTensor`.
        """
        return keras.KerasTensor(
            (images.shape[0], self._get_hyper().model.output.shape[-1]),
            self.compute_dtype)
