"""HyperCRL dynamics model: normalised Δs regression with the output
regulariser."""

import keras
import numpy as np
from keras import ops

from layers.hypernetwork import HyperOutputRegularizer
from zoo.hyper_crl.hyper_crl_backbone import HyperCRLBackbone
from zoo.hyper_crl.planning import NumpyDynamics
from zoo.task import ZooTask


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperCRLDynamics(ZooTask):
    """Continual dynamics model on a `HyperCRLBackbone` (HyperCRL).

    Trained task after task on `(state, action, task_id) ->` normalised
    state change (`backbone.normalize_delta`) with the mean squared
    error. Before task `t`, `start_task(t)` stores what the hypernetwork
    generates for the tasks before `t`; while training, the loss adds
    `beta / |S| * sum_{s in S} ||f_h(e_s) - target_s||^2`
    (`layers.HyperOutputRegularizer`; HyperCRL's beta is 0.05). The
    stored targets are non-trainable weights, so a saved model keeps the
    weights each task had right after it was learned (used to measure
    forgetting).

    For planning, `dynamics(task_id)` returns the task's generated MLP as
    a numpy callable `(states, actions) -> next_states`.

    Args:
        backbone: `zoo.HyperCRLBackbone`.
        beta: float >= 0. Output-regulariser strength. Defaults to `0.05`.
        preprocessor: must be `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.HyperCRLBackbone(state_dim=3, action_dim=1,
                                    hidden_dims=(32, 32), num_tasks=5)
    model = zoo.HyperCRLDynamics(backbone, beta=0.05)
    model.compile()
    model.start_task(1)  # stores task 0's generated weights
    next_states = model.dynamics(0)(states, actions)
    ```

    Reference:
    - [Huang et al., 2021](https://arxiv.org/abs/2009.11997),
      "Continual Model-Based Reinforcement Learning with Hypernetworks".
    """

    backbone_cls = HyperCRLBackbone
    preprocessor_cls = None

    def __init__(self, backbone, beta=0.05, preprocessor=None, **kwargs):
        if not beta >= 0:
            raise ValueError(f"`beta` must be >= 0. Received: beta={beta!r}")
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.output_cast = keras.layers.Activation(
            "linear", dtype="float32", name="delta")

        # === Functional Model ===
        inputs = backbone.input
        outputs = self.output_cast(backbone(inputs))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # Created after the functional init so every backend tracks it.
        self.regularizer = HyperOutputRegularizer(
            backbone.num_tasks, backbone.num_target_params, beta=beta,
            dtype="float32", name="output_regularizer",
        )

        # === Config ===
        self.beta = float(beta)

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
            loss = keras.losses.MeanSquaredError()
        if metrics == "auto":
            metrics = None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        loss = super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
            training=training,
        )
        if training and self.beta > 0:
            generated = self.backbone.hypernetwork.generate_all_tasks()
            loss = ops.add(loss, ops.cast(self.regularizer(generated),
                                          loss.dtype))
        return loss

    # ------------------------------------------------------------------
    # Continual learning
    # ------------------------------------------------------------------
    def _check_task(self, task_id):
        n = self.backbone.num_tasks
        if isinstance(task_id, bool) or not 0 <= int(task_id) < n:
            raise ValueError(
                f"`task_id` must be an int in [0, {n}). "
                f"Received: task_id={task_id!r}"
            )
        return int(task_id)

    def start_task(self, task_id):
        """Stores the generated weights of the tasks before `task_id`.

        Call it before training task `task_id` (a no-op for task 0).
        Tasks that already have stored targets keep them, so each task
        stays anchored to the weights it had right after it was learned.

        Args:
            task_id: int, the task about to be learned.

        Example:

        ```python
        model.start_task(2)
        ```
        """
        task_id = self._check_task(task_id)
        stored = set(self.regularizer.stored_tasks())
        todo = [t for t in range(task_id) if t not in stored]
        if not todo:
            return
        flat = ops.convert_to_numpy(ops.stop_gradient(
            self.backbone.hypernetwork.generate_all_tasks()))
        for t in todo:
            self.regularizer.store(t, flat[t])

    def stored_weights(self, task_id):
        """The flat weights stored for `task_id` (right after learning it).

        Args:
            task_id: int, a task with stored targets.

        Returns:
            float32 array `(num_target_params,)`.
        """
        task_id = self._check_task(task_id)
        if task_id not in self.regularizer.stored_tasks():
            raise ValueError(
                f"No weights are stored for task {task_id}; stored tasks: "
                f"{self.regularizer.stored_tasks()}"
            )
        return np.asarray(
            ops.convert_to_numpy(self.regularizer.targets)[task_id])

    def generated_weights(self, task_id):
        """The flat weights the hypernetwork generates now for a task.

        Args:
            task_id: int.

        Returns:
            float32 array `(num_target_params,)`.
        """
        task_id = self._check_task(task_id)
        flat = self.backbone.hypernetwork.generate(np.array(task_id))
        return np.asarray(ops.convert_to_numpy(flat), "float32")

    def normalization_stats(self):
        """The backbone's input and state-change normalisation.

        Returns:
            A dict of float64 arrays: `input_mean`, `input_std`,
            `delta_mean`, `delta_std`.
        """
        b = self.backbone
        return {k: np.asarray(getattr(b, k), "float64")
                for k in ("input_mean", "input_std", "delta_mean",
                          "delta_std")}

    def dynamics(self, task_id, weights=None):
        """A task's dynamics model as a numpy callable.

        Args:
            task_id: int.
            weights: `None` (generated now) or flat weights, e.g.
                `stored_weights(t)`.

        Returns:
            `zoo.hyper_crl.planning.NumpyDynamics`:
            `(states, actions) -> next_states`.
        """
        if weights is None:
            weights = self.generated_weights(task_id)
        else:
            self._check_task(task_id)
        return NumpyDynamics(self.backbone.weights_numpy(weights),
                             self.normalization_stats(),
                             self.backbone.activation)

    def input_specs(self):
        """Input specs; `task_id` in `[0, num_tasks)`.

        Returns:
            A dict name -> `zoo.validation.InputSpec`.
        """
        specs = super().input_specs()
        specs["task_id"] = specs["task_id"].with_range(
            0, self.backbone.num_tasks - 1)
        specs["task_id"].meaning = "task ids"
        return specs

    @property
    def compression_ratio(self):
        """Hypernetwork parameters / target parameters."""
        return self.backbone.compression_ratio

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta})
        return config
