"""UNEM few-shot classifiers (Gaussian and Dirichlet heads) and loss."""

import keras
from keras import ops

from layers._checks import check_choice
from layers.unem import UNEMDirichletHead
from layers.unem import UNEMGaussianHead
from zoo.task import ZooTask
from zoo.unem.unem_backbone import UNEMBackbone

HEADS = ("gaussian", "dirichlet")
LOSS_MODES = ("nll", "reference")


@keras.saving.register_keras_serializable(package="hyperzoo")
class UNEMLoss(keras.losses.Loss):
    """Loss on the `log U` output of a UNEM head.

    - `"nll"` (default): `-log U[y]`, the clean negative log-likelihood
      of the soft assignments (cross-entropy on logits of `log U`).
    - `"reference"`: what the reference code trains with, a
      cross-entropy on logits applied to `U = exp(log U)` itself (a
      "double softmax": `-U[y] + log sum_k exp(U[k])`).

    Args:
        mode: str. `"nll"` or `"reference"`.
        name: str. Loss name.
        **kwargs: passed to `keras.losses.Loss`.

    Example:

    ```python
    model.compile(optimizer="adam", loss=zoo.unem.UNEMLoss("nll"))
    ```
    """

    def __init__(self, mode="nll", name="unem_loss", **kwargs):
        check_choice("mode", mode, LOSS_MODES)
        super().__init__(name=name, **kwargs)
        self.mode = mode

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        if self.mode == "reference":
            y_pred = ops.exp(y_pred)
        return keras.losses.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=True
        )

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class EpisodeSplit(keras.layers.Layer):
    """Splits `(B, Ns + Nq, d)` episode embeddings into support, query.

    `Ns` is read from the support labels `(B, Ns)`, so the split follows
    the episode size of each call.

    Args:
        **kwargs: base layer keyword arguments.

    Example:

    ```python
    support, query = zoo.unem.EpisodeSplit()(embeddings, support_labels)
    ```

    Reference:
    - [Zhou et al., 2025](https://arxiv.org/abs/2412.16739), "UNEM:
      UNrolled generalized EM for transductive few-shot learning".
    """

    def call(self, embeddings, support_labels):
        ns = ops.shape(support_labels)[1]
        return embeddings[:, :ns], embeddings[:, ns:]

    def compute_output_shape(self, embeddings_shape, support_labels_shape):
        ns = support_labels_shape[1]
        total = embeddings_shape[1]
        nq = None if ns is None or total is None else total - ns
        return (
            (embeddings_shape[0], ns, embeddings_shape[2]),
            (embeddings_shape[0], nq, embeddings_shape[2]),
        )


@keras.saving.register_keras_serializable(package="hyperzoo")
class UNEMFewShotClassifier(ZooTask):
    """Transductive few-shot classifier: a backbone and a UNEM head.

    Takes a batch of episodes (`{"support", "support_labels", "query"}`,
    see `UNEMBackbone`) and returns `log U`, the log soft assignments of
    the queries, `(B, Nq, num_classes)`: `argmax` gives the predicted
    class, and the default loss is the NLL `UNEMLoss("nll")` (see
    `layers.UNEMGaussianHead` for why; `loss_mode="reference"` trains
    with the reference's double softmax). Targets are the query labels
    `(B, Nq)`. The head runs in float32 (`head_dtype`) under mixed
    precision.

    Args:
        backbone: `zoo.UNEMBackbone`.
        num_classes: int. Classes per task `K` (all support classes).
        head: str. `"gaussian"` (`layers.UNEMGaussianHead`, features) or
            `"dirichlet"` (`layers.UNEMDirichletHead`, zero-shot logits
            over the `K` classes; needs `projection_dim=None` and
            `feature_dim == num_classes`).
        num_layers: int. Unrolled EM layers. Defaults to `10`.
        mm_steps: int. MM steps per layer (Dirichlet head only).
        loss_mode: str. `"nll"` (default) or `"reference"`.
        head_kwargs: dict or `None`. Extra arguments of the head (e.g.
            `initial_lambda`, `initial_feature_temperature`).
        head_dtype: dtype of the head; float32 under mixed precision.
        preprocessor: must be `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.UNEMBackbone(feature_dim=32)
    model = zoo.UNEMFewShotClassifier(backbone, num_classes=16)
    batch, yq = zoo.unem.GaussianClassWorld().episodes("test", 8, 5)
    model.predict(batch).argmax(-1).shape  # (8, 75)
    ```

    Reference:
    - [Zhou et al., 2025](https://arxiv.org/abs/2412.16739), "UNEM:
      UNrolled generalized EM for transductive few-shot learning".
    """

    backbone_cls = UNEMBackbone
    preprocessor_cls = None

    def __init__(
        self,
        backbone,
        num_classes,
        head="gaussian",
        num_layers=10,
        mm_steps=10,
        loss_mode="nll",
        head_kwargs=None,
        head_dtype=None,
        preprocessor=None,
        **kwargs,
    ):
        head_kwargs = dict(head_kwargs or {})
        reserved = {"num_classes", "num_layers", "mm_steps", "dtype",
                    "name"} & set(head_kwargs)
        if reserved:
            raise ValueError(
                "`head_kwargs` must not set arguments the classifier sets "
                f"itself. Received: {sorted(reserved)}"
            )
        check_choice("head", head, HEADS)
        check_choice("loss_mode", loss_mode, LOSS_MODES)
        if head == "dirichlet" and (
            backbone.projection_dim is not None
            or backbone.feature_dim != num_classes
        ):
            raise ValueError(
                "head='dirichlet' takes logits over the `num_classes` "
                "classes: the backbone needs projection_dim=None and "
                f"feature_dim={num_classes}. Received: projection_dim="
                f"{backbone.projection_dim!r}, feature_dim="
                f"{backbone.feature_dim!r}"
            )
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        # Read by compile(), which keras-hub's Task.__init__ calls.
        self.loss_mode = loss_mode
        self.episode_split = EpisodeSplit(dtype=head_dtype,
                                          name="episode_split")
        if head == "gaussian":
            self.unem_head = UNEMGaussianHead(
                num_classes, num_layers=num_layers, dtype=head_dtype,
                name="unem_head", **head_kwargs,
            )
        else:
            self.unem_head = UNEMDirichletHead(
                num_classes, num_layers=num_layers, mm_steps=mm_steps,
                dtype=head_dtype, name="unem_head", **head_kwargs,
            )

        # === Functional Model ===
        inputs = backbone.input
        embeddings = backbone(inputs)
        support, query = self.episode_split(
            embeddings, inputs["support_labels"]
        )
        outputs = self.unem_head(
            query, support=support, support_labels=inputs["support_labels"]
        )
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.head = head
        self.num_layers = num_layers
        self.mm_steps = mm_steps
        self.loss_mode = loss_mode
        self.head_kwargs = head_kwargs
        self.set_head_dtype(head_dtype)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(0.1), `UNEMLoss(loss_mode)` and accuracy.

        Args:
            optimizer: `"auto"` (Adam, learning rate 0.1 as in the
                reference) or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(0.1)
        if loss == "auto":
            loss = UNEMLoss(self.loss_mode)
        self.compile_classifier(optimizer, loss, metrics, **kwargs)

    def input_specs(self):
        """Input specs; support labels in `[0, num_classes)`.

        Returns:
            A dict name -> `zoo.validation.InputSpec`.
        """
        specs = super().input_specs()
        specs["support_labels"] = specs["support_labels"].with_range(
            0, self.num_classes - 1)
        specs["support_labels"].meaning = "support labels (class indices)"
        specs["support"].meaning = "the support set"
        specs["query"].meaning = "the query set"
        return specs

    def check_input_arrays(self, arrays):
        """The support set and its labels must have the same size.

        Args:
            arrays: dict of validated numpy inputs.
        """
        ns, nl = arrays["support"].shape[1], arrays["support_labels"].shape[1]
        if ns != nl:
            raise ValueError(
                "`support_labels` must have one label per support sample: "
                f"expected shape (batch, {ns}). Received shape="
                f"{arrays['support_labels'].shape}."
            )

    def layer_parameters(self):
        """The head's learned per-layer parameters, as numpy arrays.

        Returns:
            A dict (see `UNEMGaussianHead.layer_parameters`).
        """
        return {
            k: ops.convert_to_numpy(v)
            for k, v in self.unem_head.layer_parameters().items()
        }

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_classes": self.num_classes,
            "head": self.head,
            "num_layers": self.num_layers,
            "mm_steps": self.mm_steps,
            "loss_mode": self.loss_mode,
            "head_kwargs": dict(self.head_kwargs),
            "head_dtype": self.head_dtype,
        })
        return config
