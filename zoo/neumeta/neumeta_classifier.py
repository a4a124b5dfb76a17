"""NeuMeta classification task: CE + reconstruction + L2 training."""

import keras
import numpy as np
from keras import ops

from zoo.neumeta.neumeta_backbone import NeuMetaBackbone
from zoo.neumeta.neumeta_cnn import cnn_shapes
from zoo.task import ZooTask


def _check_weight(name, value):
    value = float(value)
    if not value >= 0 or not np.isfinite(value):
        raise ValueError(
            f"`{name}` must be a finite float >= 0. Received: {value!r}")
    return value


@keras.saving.register_keras_serializable(package="hyperzoo")
class NeuMetaClassifier(ZooTask):
    """Classifier whose CNN of any width is written by a weight field.

    The logits are those of the backbone's `NeuMetaCNN` (the dense head
    is generated too). Training (`fit`) draws a width per step and
    minimises, as the paper does,

    `CE(width-w net) + reconstruction_weight * weighted_MSE(W_max,
    W_target) + l2_weight * sum_t mean(W_max[t]**2)`,

    where `W_max` are the generated `max_width` weights (with training
    coordinate noise), `W_target` the channel-permuted weights of a
    trained `max_width` network (`set_reconstruction_target`, stored as
    non-trainable weights) and the MSE weights each entry by `|w_target|
    / max|w_target|` of its tensor. Unverified choices: each tensor's
    weighted MSE is divided by the target's mean square (scale-free
    terms, so one weight fits kernels and biases of every size), and the
    L2 term is a mean per tensor.

    Args:
        backbone: `zoo.NeuMetaBackbone`.
        reconstruction_weight: float. Weight of the reconstruction loss.
        l2_weight: float. Weight of the L2 penalty on generated weights.
        head_dtype: dtype of the logits. Defaults to float32 under mixed
            precision, else the backbone's policy.
        preprocessor: `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.NeuMetaBackbone(min_width=4, max_width=8)
    model = zoo.NeuMetaClassifier(backbone)
    model.predict(np.zeros((2, 64), "float32")).shape  # (2, 10)
    ```

    Reference:
    - [Yang & Wang, 2024](https://arxiv.org/abs/2410.11878), "Neural
      Metamorphosis" (ECCV 2024).
    """

    backbone_cls = NeuMetaBackbone
    preprocessor_cls = None

    def __init__(self, backbone, reconstruction_weight=0.0, l2_weight=0.0,
                 head_dtype=None, preprocessor=None, **kwargs):
        reconstruction_weight = _check_weight("reconstruction_weight",
                                              reconstruction_weight)
        l2_weight = _check_weight("l2_weight", l2_weight)
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.output_cast = keras.layers.Activation(
            "linear", dtype=head_dtype, name="predictions")
        outputs = self.output_cast(backbone(backbone.input))
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)

        # === Reconstruction targets (the permuted widest network) ===
        shapes = cnn_shapes(backbone.max_width, backbone.num_channels,
                            backbone.num_classes, backbone.kernel_size)
        self.target_weights = [
            self.add_weight(name=f"target_{i}", shape=shape,
                            initializer="zeros", trainable=False,
                            dtype="float32")
            for i, shape in enumerate(shapes)
        ]

        # === Config ===
        self.reconstruction_weight = reconstruction_weight
        self.l2_weight = l2_weight
        self.set_head_dtype(head_dtype)

    def set_reconstruction_target(self, weights):
        """Stores the (permuted) weights of a trained widest network.

        Args:
            weights: list of 6 arrays in `neumeta_cnn.cnn_shapes` order
                at `max_width`.

        Example:

        ```python
        model.set_reconstruction_target(widest.get_weights())
        ```
        """
        if len(weights) != len(self.target_weights):
            raise ValueError(
                f"Expected {len(self.target_weights)} arrays. Received: "
                f"{len(weights)}"
            )
        for var, w in zip(self.target_weights, weights):
            w = np.asarray(w, "float32")
            if tuple(w.shape) != tuple(var.shape):
                raise ValueError(
                    f"Target {var.path} has shape {tuple(var.shape)}. "
                    f"Received: {w.shape}"
                )
            var.assign(w)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3), sparse CE on logits and accuracy.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        self.compile_classifier(optimizer, loss, metrics, **kwargs)

    def weight_losses(self, training=True):
        """The reconstruction and L2 terms on the `max_width` weights.

        Args:
            training: bool. Use training coordinate noise.

        Returns:
            `(reconstruction, l2)` float32 scalars (unweighted).
        """
        cnn = self.backbone.cnn
        generated = cnn.generate_weights(cnn.max_width, training=training)
        recon, l2 = 0.0, 0.0
        for w, target in zip(generated, self.target_weights):
            w = ops.cast(w, "float32")
            t = ops.convert_to_tensor(target)
            scale = ops.divide(ops.abs(t),
                               ops.maximum(ops.max(ops.abs(t)), 1e-12))
            # Relative to the target's mean square: scale-free terms.
            norm = ops.maximum(ops.mean(ops.square(t)), 1e-12)
            recon = ops.add(recon, ops.divide(ops.mean(
                ops.multiply(scale, ops.square(ops.subtract(w, t)))), norm))
            l2 = ops.add(l2, ops.mean(ops.square(w)))
        return recon, l2

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        """CE, plus the weighted reconstruction and L2 terms in training.

        Args:
            x: inputs.
            y: labels.
            y_pred: logits.
            sample_weight: `None` or per-sample weights.
            training: bool. Adds the weight terms when true.

        Returns:
            The scalar loss.
        """
        loss = super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
            training=training,
        )
        if training and (self.reconstruction_weight > 0
                         or self.l2_weight > 0):
            recon, l2 = self.weight_losses(training=True)
            extra = ops.add(ops.multiply(self.reconstruction_weight, recon),
                            ops.multiply(self.l2_weight, l2))
            loss = ops.add(loss, ops.cast(extra, loss.dtype))
        return loss

    def get_config(self):
        config = super().get_config()
        config.update({
            "reconstruction_weight": self.reconstruction_weight,
            "l2_weight": self.l2_weight,
            "head_dtype": self.head_dtype,
        })
        return config
