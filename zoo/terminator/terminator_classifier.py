"""Terminator classification task with the slow loss."""

import keras
from keras import ops

from zoo.task import ZooTask
from zoo.task import check_activation
from zoo.task import check_num_classes
from zoo.terminator.terminator_backbone import TerminatorBackbone

_POOLINGS = ("average", "flatten")


@keras.saving.register_keras_serializable(package="hyperzoo")
class TerminatorClassifier(ZooTask):
    """Classifier on a `TerminatorBackbone`: global pooling and a head.

    During training the backbone's slow loss (MSE between the channel-
    summed hyper-kernels of every pair of blocks), weighted by
    `slow_loss_weight`, is added to the compiled loss in `compute_loss`
    (not at evaluation, as in the reference). The head runs in float32
    under mixed precision.

    With the backbone's default `statistics="running"`, a prediction
    depends on its own sample only (`predict(x)[i] == predict(x[i:i+1])`);
    a backbone built with the reference's `statistics="batch"` is
    batch-dependent.

    Args:
        backbone: `zoo.TerminatorBackbone`.
        num_classes: int. Number of classes.
        dropout: float. Dropout before the head.
        pooling: str. `"average"` (default: global average pooling over
            the grid) or `"flatten"` (the feature map flattened into the
            head: a dense read-out over positions, which carries no
            locality or translation prior; an option for inputs whose
            positions are permuted, such as shuffled MNIST-1D).
        slow_loss_weight: float >= 0. Weight of the slow loss (0 turns it
            off: an ablation).
        label_smoothing: float. `ε` of the default loss
            (`zoo.losses.SparseLabelSmoothingCrossentropy`).
        activation: `None` (logits) or `"softmax"`.
        head_dtype: dtype of the head (float32 under mixed precision).
        preprocessor: unused, `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.TerminatorBackbone(spatial_shape=(40,),
                                      hidden_dims=(8, 8))
    model = zoo.TerminatorClassifier(backbone, num_classes=10)
    model.compile()
    model.predict(np.zeros((4, 40, 1), "float32")).shape  # (4, 10)
    ```

    Reference:
    - [Zhang, 2024](https://arxiv.org/abs/2401.17948), "HyperZ·Z·W
      Operator Connects Slow-Fast Networks for Full Context Interaction".
    """

    backbone_cls = TerminatorBackbone
    preprocessor_cls = None

    def __init__(
        self,
        backbone,
        num_classes,
        dropout=0.0,
        pooling="average",
        slow_loss_weight=1.0,
        label_smoothing=0.09,
        activation=None,
        head_dtype=None,
        preprocessor=None,
        **kwargs,
    ):
        check_num_classes(num_classes)
        check_activation(activation)
        if pooling not in _POOLINGS:
            raise ValueError(
                "`pooling` must be 'average' or 'flatten'. Received: "
                f"pooling={pooling!r}"
            )
        if not slow_loss_weight >= 0:
            raise ValueError(
                "`slow_loss_weight` must be >= 0. Received: "
                f"slow_loss_weight={slow_loss_weight!r}"
            )
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # Read by `compile()`, which keras-hub's Task calls in __init__.
        self.label_smoothing = float(label_smoothing)
        self.activation = activation

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        if pooling == "flatten":
            pool_cls = keras.layers.Flatten
        else:
            pool_cls = (keras.layers.GlobalAveragePooling1D
                        if backbone.rank == 1
                        else keras.layers.GlobalAveragePooling2D)
        self.pooling = pool_cls(dtype=backbone.dtype_policy, name="pooling")

        # === Functional Model ===
        outputs = self.build_classifier_head(
            backbone, num_classes, head_dtype, activation, dropout,
            features=self.pooling(backbone(backbone.input)),
        )
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout
        self.pooling_mode = pooling
        self.slow_loss_weight = float(slow_loss_weight)
        self.set_head_dtype(head_dtype)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3), label-smoothing CE and accuracy.

        Args:
            optimizer: `"auto"` or a Keras optimizer (the presets use
                `zoo.optimizers.Kar3` with a warm-up cosine schedule).
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        self.compile_classifier(
            optimizer, loss, metrics,
            from_logits=self.activation is None,
            label_smoothing=self.label_smoothing, **kwargs,
        )

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        """Compiled loss plus, in training, the weighted slow loss.

        Args:
            x: inputs.
            y: targets.
            y_pred: predictions.
            sample_weight: optional sample weights.
            training: bool. Whether this is a training step.

        Returns:
            A scalar loss.
        """
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred,
                                    sample_weight=sample_weight,
                                    training=training)
        if training and self.slow_loss_weight > 0:
            slow = self.backbone.slow_loss() * self.slow_loss_weight
            loss = loss + ops.cast(slow, loss.dtype)
        return loss

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "dropout": self.dropout,
            "slow_loss_weight": self.slow_loss_weight,
            "label_smoothing": self.label_smoothing,
            "activation": self.activation,
            "head_dtype": self.head_dtype,
        })
        if self.pooling_mode != "average":
            # Only when set: configs saved before the option stay as
            # they were.
            config["pooling"] = self.pooling_mode
        return config
