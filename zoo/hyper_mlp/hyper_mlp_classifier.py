"""HyperMLP classification task."""

import keras

from zoo.hyper_mlp.hyper_mlp_backbone import HyperMLPBackbone
from zoo.task import ZooTask
from zoo.task import check_activation
from zoo.task import check_num_classes


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperMLPClassifier(ZooTask):
    """Classifier on top of a `HyperMLPBackbone`.

    Adds an optional dropout and a dense head of `num_classes` outputs.
    Under a mixed precision policy the head runs in float32 (`head_dtype`)
    so logits and probabilities are float32.

    Args:
        backbone: `zoo.HyperMLPBackbone`.
        num_classes: int. Number of classes.
        activation: `None` (logits, the default) or `"softmax"`.
        dropout: float. Dropout rate before the head.
        head_dtype: dtype of the head. Defaults to float32 under mixed
            precision, else the backbone's policy.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.HyperMLPBackbone(input_dim=64, hidden_dims=(32,))
    model = zoo.HyperMLPClassifier(backbone, num_classes=10)
    model.predict(np.zeros((2, 64), "float32")).shape  # (2, 10)
    ```

    Reference:
    - [Ha et al., 2017](https://arxiv.org/abs/1609.09106), "HyperNetworks".
    """

    backbone_cls = HyperMLPBackbone
    preprocessor_cls = None

    def __init__(
        self,
        backbone,
        num_classes,
        activation=None,
        dropout=0.0,
        head_dtype=None,
        preprocessor=None,
        **kwargs,
    ):
        check_num_classes(num_classes)
        check_activation(activation)
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        outputs = self.build_classifier_head(
            backbone, num_classes, head_dtype, activation, dropout
        )
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.activation = activation
        self.dropout = dropout
        self.set_head_dtype(head_dtype)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics="auto",
        **kwargs,
    ):
        """Compiles with Adam(1e-3), sparse CE and accuracy by default.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        self.compile_classifier(
            optimizer, loss, metrics,
            from_logits=self.output_dense.activation
            is keras.activations.linear,
            **kwargs,
        )

    def input_specs(self):
        """Input specs; task ids in `[0, num_tasks)` with `"task"`.

        Returns:
            A `zoo.validation.InputSpec` or a dict of them.
        """
        specs = super().input_specs()
        if self.backbone.conditioning == "task":
            specs["condition"] = specs["condition"].with_range(
                0, self.backbone.num_tasks - 1)
            specs["condition"].meaning = "task ids"
        return specs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "activation": self.activation,
                "dropout": self.dropout,
                "head_dtype": self.head_dtype,
            }
        )
        return config
