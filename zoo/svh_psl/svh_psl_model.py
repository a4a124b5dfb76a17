"""SVH-PSL task: the preference hypernetwork `r -> x` (Pareto set)."""

import keras
import numpy as np
from keras import ops

from layers._checks import check_positive_int
from zoo.svh_psl.svh_psl_backbone import SVHPSLBackbone
from zoo.task import ZooTask


@keras.saving.register_keras_serializable(package="hyperzoo")
class ParetoSetModel(ZooTask):
    """A Pareto-set hypernetwork: preference `r` -> solution `x = h(r)`.

    `SVHPSLBackbone` features go through a sigmoid `Dense(num_var)` head
    (float32 under mixed precision), so solutions lie in the unit box
    `[0, 1]^num_var` (the box of ZDT1-3 and DTLZ2; rescale for other
    boxes). Trained by `zoo.svh_psl.svh_psl_training` against GP
    surrogates (PSL or SVH-PSL); `compile()` defaults to Adam(1e-3) and
    the mean squared error, for fitting given solutions.

    Args:
        backbone: `zoo.SVHPSLBackbone`.
        num_var: int. Number of decision variables.
        head_dtype: dtype of the head. Defaults to float32 under mixed
            precision, else the backbone's policy.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.SVHPSLBackbone(num_objectives=2)
    model = zoo.ParetoSetModel(backbone, num_var=6)
    x = model.solutions(np.array([[0.5, 0.5]], "float32"))  # (1, 6)
    ```

    Reference:
    - [Nguyen et al., 2025](https://arxiv.org/abs/2412.17312), SVH-PSL,
      AAAI 2025.
    - [Lin et al., 2022](https://arxiv.org/abs/2210.08495), PSL,
      NeurIPS 2022.
    """

    backbone_cls = SVHPSLBackbone
    preprocessor_cls = None

    def __init__(self, backbone, num_var, head_dtype=None,
                 preprocessor=None, **kwargs):
        num_var = check_positive_int("num_var", num_var)
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.solution_head = keras.layers.Dense(
            num_var, activation="sigmoid", dtype=head_dtype,
            kernel_initializer=keras.initializers.GlorotUniform(
                None if backbone.seed is None else backbone.seed + 100),
            name="solution")
        outputs = self.solution_head(backbone.output)
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)

        # === Config ===
        self.num_var = num_var
        self.set_head_dtype(head_dtype)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3) and the mean squared error by default.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` (none) or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.MeanSquaredError()
        if metrics == "auto":
            metrics = None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        **kwargs)

    def solutions(self, preferences):
        """Solutions `h(r)` for preference vectors, as numpy.

        Args:
            preferences: array `(batch, num_objectives)`, each row on the
                simplex (non-negative, summing to 1).

        Returns:
            numpy float32 `(batch, num_var)` in `[0, 1]`.
        """
        out = self(np.asarray(preferences, "float32"), training=False)
        return np.asarray(ops.convert_to_numpy(out), "float32")

    def get_config(self):
        config = super().get_config()
        config.update({"num_var": self.num_var,
                       "head_dtype": self.head_dtype})
        return config
