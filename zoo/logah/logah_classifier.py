"""LoGAH task: compile defaults and the predicted Keras MLPs."""

import keras
import numpy as np
from keras import ops

from zoo.logah.logah_backbone import LogahBackbone
from zoo.logah.logah_graph import arch_name
from zoo.logah.logah_graph import architecture_graph
from zoo.logah.logah_graph import check_architecture
from zoo.task import ZooTask


@keras.saving.register_keras_serializable(package="hyperzoo")
class LogahClassifier(ZooTask):
    """Classifier whose every weight a `LogahBackbone` predicts.

    Inputs: the backbone's dict `{"features": (batch, input_dim),
    "node_features", "adjacency", "node_mask"}` (the graph of the target
    MLP for each sample, `zoo.logah.logah_graph.batch_graph`); output:
    the logits of the predicted MLP. Training this task trains the
    hypernetwork by the task loss of the predicted networks.
    `predicted_model(widths)` returns an ordinary Keras MLP with the
    predicted weights, ready to fine-tune.

    Args:
        backbone: `zoo.LogahBackbone`.
        preprocessor: `None` (no preprocessing).
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.LogahBackbone(max_nodes=6, max_ck=64, input_dim=40,
                                 num_classes=10)
    model = zoo.LogahClassifier(backbone)
    mlp = model.predicted_model((48, 40))  # keras.Sequential
    ```

    Reference:
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH:
      Predicting 774-Million-Parameter Transformers using Graph
      HyperNetworks with 1/100 Parameters".
    """

    backbone_cls = LogahBackbone
    preprocessor_cls = None

    def __init__(self, backbone, preprocessor=None, **kwargs):
        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        inputs = dict(backbone.input)
        # Under mixed precision the logits leave in float32.
        self.logits = keras.layers.Activation(
            "linear", dtype=self.resolve_head_dtype(None, backbone),
            name="logits")
        super().__init__(inputs=inputs,
                         outputs=self.logits(backbone(inputs)), **kwargs)

    @property
    def input_dim(self):
        """Input size of the target MLPs (the backbone's)."""
        return self.backbone.input_dim

    @property
    def num_classes(self):
        """Number of classes of the target MLPs (the backbone's)."""
        return self.backbone.num_classes

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

    def graph_inputs(self, hidden_widths, batch_size=1):
        """The graph inputs of an architecture, repeated `batch_size` times.

        Args:
            hidden_widths: sequence of int.
            batch_size: int.

        Returns:
            dict of numpy arrays (`node_features`, `adjacency`,
            `node_mask`).
        """
        g = architecture_graph(hidden_widths, self.input_dim,
                               self.num_classes, self.backbone.max_ck,
                               self.backbone.max_nodes)
        return {k: np.repeat(v[None], batch_size, 0) for k, v in g.items()}

    def predict_parameters(self, hidden_widths):
        """Predicted kernels and biases of an architecture, sliced.

        Args:
            hidden_widths: sequence of int (each `<= max_ck`).

        Returns:
            list of `(kernel (in, out), bias (out,))` numpy pairs, one
            per dense layer.
        """
        widths = check_architecture(
            hidden_widths, self.backbone.max_ck, self.backbone.max_nodes,
            self.input_dim, self.num_classes)
        params = self.backbone.predict_parameters(self.graph_inputs(widths))
        kernels = ops.convert_to_numpy(
            ops.cast(params["kernels"], "float32"))[0]
        biases = ops.convert_to_numpy(
            ops.cast(params["biases"], "float32"))[0]
        sizes = (self.input_dim,) + widths + (self.num_classes,)
        return [
            (kernels[i + 1, :sizes[i], :sizes[i + 1]],
             biases[i + 1, :sizes[i + 1]])
            for i in range(len(sizes) - 1)
        ]

    def predicted_model(self, hidden_widths):
        """An ordinary Keras MLP of an architecture with predicted weights.

        Args:
            hidden_widths: sequence of int.

        Returns:
            A built, uncompiled `keras.Sequential` returning logits (the
            LoGAH initialisation, e.g. for fine-tuning).
        """
        params = self.predict_parameters(hidden_widths)
        widths = tuple(int(w) for w in hidden_widths)
        layers = [
            keras.layers.Dense(
                k.shape[1], activation=None if i == len(params) - 1
                else "relu", name=f"dense_{i}")
            for i, (k, _) in enumerate(params)
        ]
        model = keras.Sequential(
            [keras.Input((self.input_dim,))] + layers,
            name=arch_name(widths) + "-logah")
        for layer, (k, b) in zip(layers, params):
            layer.set_weights([k, b])
        return model
