"""Terminator classification task with the slow loss."""

import keras
from keras import ops

from zoo.task import ZooTask
from zoo.task import check_activation
from zoo.task import check_num_classes
from zoo.terminator.terminator_backbone import TerminatorBackbone

_POOLINGS = ("average", "flatten")


@keras.saving.register_keras_serializable(package="hyperzoo")
class InputMixup(keras.layers.Layer):
    """Mixup of a batch with a shuffled copy of itself, in training only.

    In training the layer draws one `λ ~ Beta(alpha, alpha)` per batch
    and a random permutation `p` of the batch, and returns
    `λ x + (1 - λ) x[p]`; it keeps `(p, λ)` in `self.last_mix` for the
    loss of the same step (`TerminatorClassifier.compute_loss`, which
    mixes the two labels' losses with the same `λ`). Outside training
    it returns its input (and clears `last_mix`). Mixing happens in
    input space, so it assumes no position prior (it suits shuffled
    MNIST-1D).

    Args:
        alpha: float > 0. Parameter of the Beta distribution.
        seed: int or `None`. Seed of the draws.
        **kwargs: passed to `keras.layers.Layer`.

    Example:

    ```python
    layer = InputMixup(0.2, seed=0)
    layer(np.ones((4, 40, 1), "float32"), training=True).shape
    ```

    Reference:
    - [Zhang et al., 2018](https://arxiv.org/abs/1710.09412), "mixup:
      Beyond Empirical Risk Minimization".
    """

    def __init__(self, alpha, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not alpha > 0:
            raise ValueError(
                f"`alpha` must be > 0. Received: alpha={alpha!r}")
        self.alpha = float(alpha)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.last_mix = None

    def call(self, inputs, training=None):
        self.last_mix = None
        if not training:
            return inputs
        batch = ops.shape(inputs)[0]
        perm = ops.argsort(keras.random.uniform(
            (batch,), seed=self.seed_generator))
        lam = keras.random.beta((), self.alpha, self.alpha,
                                seed=self.seed_generator)
        self.last_mix = (perm, lam)
        lam = ops.cast(lam, inputs.dtype)
        return lam * inputs + (1 - lam) * ops.take(inputs, perm, axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "seed": self.seed})
        return config


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
        mixup_alpha: float >= 0. Input mixup in training (`InputMixup`,
            `λ ~ Beta(mixup_alpha, mixup_alpha)`, the loss mixed with
            the same `λ`); 0 (default) turns it off.
        mixup_seed: int or `None`. Seed of the mixup draws.
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
        mixup_alpha=0.0,
        mixup_seed=None,
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
        if not mixup_alpha >= 0:
            raise ValueError(
                "`mixup_alpha` must be >= 0. Received: "
                f"mixup_alpha={mixup_alpha!r}"
            )
        self.input_mixup = None
        if mixup_alpha > 0:
            self.input_mixup = InputMixup(
                mixup_alpha, seed=mixup_seed, dtype=backbone.dtype_policy,
                name="input_mixup")

        # === Functional Model ===
        inputs = backbone.input
        if self.input_mixup is not None:
            inputs = self.input_mixup(inputs)
        outputs = self.build_classifier_head(
            backbone, num_classes, head_dtype, activation, dropout,
            features=self.pooling(backbone(inputs)),
        )
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.dropout = dropout
        self.pooling_mode = pooling
        self.slow_loss_weight = float(slow_loss_weight)
        self.mixup_alpha = float(mixup_alpha)
        self.mixup_seed = mixup_seed
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
        mix = self.input_mixup.last_mix if (
            training and self.input_mixup is not None) else None
        if mix is not None:
            # The inputs were mixed with the permuted batch: the loss
            # is mixed with the permuted labels and the same λ.
            perm, lam = mix
            # Used once: a later loss without a mixed forward pass (or
            # outside this traced step) must not see it.
            self.input_mixup.last_mix = None
            lam = ops.cast(lam, loss.dtype)
            other = super().compute_loss(
                x=x, y=ops.take(y, perm, axis=0), y_pred=y_pred,
                sample_weight=sample_weight, training=training)
            loss = lam * loss + (1 - lam) * other
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
        if self.mixup_alpha > 0:
            config["mixup_alpha"] = self.mixup_alpha
            config["mixup_seed"] = self.mixup_seed
        return config
