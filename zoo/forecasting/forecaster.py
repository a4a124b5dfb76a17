"""Next-state forecaster with teacher forcing and autoregressive rollout."""

import keras
import numpy as np

from layers._checks import check_positive_int
from zoo import validation
from zoo.forecasting.forecaster_backbone import ForecasterBackbone
from zoo.task import ZooTask


@keras.saving.register_keras_serializable(package="hyperzoo")
class Forecaster(ZooTask):
    """Predicts the next (z-scored) state of a dynamical system.

    `y_t = x_t + Dense(h_t)` (the head predicts the increment; with
    `residual=False`, `y_t = Dense(h_t)`), where `h_t` is the backbone's
    causal feature at step `t`. Training is teacher forcing: inputs are
    true states `x_1..x_T`, targets `x_2..x_{T+1}`, mean squared error
    over every step. `rollout` forecasts autoregressively after a
    warm-up. The head (and the residual sum) run in float32 under mixed
    precision.

    Args:
        backbone: `zoo.forecasting.ForecasterBackbone`.
        context_length: int. Steps the model sees during `rollout` (a
            sliding window of the most recent states; the training
            sequence length of the presets).
        residual: bool. Predict the increment `y_t - x_t`.
        head_dtype: dtype of the head (float32 under mixed precision).
        preprocessor: unused, `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.forecasting.ForecasterBackbone(input_dim=8, units=16)
    model = zoo.forecasting.Forecaster(backbone, context_length=12)
    model.compile()
    warmup = np.zeros((3, 12, 8), "float32")
    model.rollout(warmup, steps=5).shape  # (3, 5, 8)
    ```

    Reference:
    - [Heidenreich et al., 2024](https://arxiv.org/abs/2410.02654),
      "Deconstructing Recurrence, Attention, and Gating".
    - [Vlachas et al., 2020](https://arxiv.org/abs/1910.05266),
      "Backpropagation algorithms and Reservoir Computing in Recurrent
      Neural Networks for the forecasting of complex spatiotemporal
      dynamics".
    """

    backbone_cls = ForecasterBackbone
    preprocessor_cls = None

    def __init__(self, backbone, context_length=16, residual=True,
                 head_dtype=None, preprocessor=None, **kwargs):
        context_length = check_positive_int("context_length",
                                            context_length)
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.output_dense = keras.layers.Dense(
            backbone.input_dim,
            kernel_initializer=keras.initializers.VarianceScaling(
                0.01, seed=backbone.seed
            ),
            dtype=head_dtype, name="increment",
        )
        self.residual_add = None
        if residual:
            self.residual_add = keras.layers.Add(dtype=head_dtype,
                                                 name="next_state")

        # === Functional Model ===
        inputs = backbone.input
        outputs = self.output_dense(backbone(inputs))
        if residual:
            outputs = self.residual_add([inputs, outputs])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.context_length = context_length
        self.residual = bool(residual)
        self.set_head_dtype(head_dtype)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3) and the mean squared error.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` (none) or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = "mse"
        if metrics == "auto":
            metrics = None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        **kwargs)

    def rollout(self, warmup, steps):
        """Autoregressive forecast after a warm-up on true states.

        The model reads the last `context_length` states of `warmup`,
        predicts the next one, appends it and slides the window, `steps`
        times (each prediction feeds the next).

        Args:
            warmup: array `(batch, T0, input_dim)` of (z-scored) true
                states, `T0 >= 1`; only the last `context_length` are
                used.
            steps: int. Number of predicted steps.

        Returns:
            float32 numpy array `(batch, steps, input_dim)`: the states
            after `warmup[:, -1]`.

        Raises:
            ValueError: bad `warmup` shape, NaN or infinite values in
                `warmup`, or a bad `steps`.
        """
        dim = self.backbone.input_dim
        shape = np.shape(warmup)
        if len(shape) != 3 or shape[-1] != dim or shape[1] < 1 or \
                shape[0] < 1:
            raise ValueError(
                "`warmup` must have shape (batch, time, input_dim) with "
                f"input_dim={dim} and time >= 1. Received: "
                f"warmup.shape={shape}"
            )
        # Finite values, numeric dtype (as `predict` checks its input).
        spec = validation.InputSpec("warmup", (None, None, dim))
        warmup = validation.check_array(warmup, spec).astype("float32")
        steps = check_positive_int("steps", steps)
        window = np.ascontiguousarray(warmup[:, -self.context_length:])
        out = np.empty((warmup.shape[0], int(steps), dim), "float32")
        for i in range(int(steps)):
            with validation.skip_validation():
                # The window holds the checked warm-up and predictions.
                pred = keras.ops.convert_to_numpy(
                    self.predict_on_batch(window)
                )[:, -1].astype("float32")
            out[:, i] = pred
            if window.shape[1] < self.context_length:
                window = np.concatenate([window, pred[:, None]], axis=1)
            else:
                window = np.concatenate([window[:, 1:], pred[:, None]],
                                        axis=1)
        return out

    def get_config(self):
        config = super().get_config()
        config.update({
            "context_length": self.context_length,
            "residual": self.residual,
            "head_dtype": self.head_dtype,
        })
        return config
