"""HyperCL classification task with the output regulariser."""

import keras
import numpy as np
from keras import ops

from layers.hypernetwork import HyperOutputRegularizer
from zoo.hyper_cl.hyper_cl_backbone import HyperCLBackbone
from zoo.optimizers import InplaceAdam
from zoo.task import ZooTask


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperCLClassifier(ZooTask):
    """Continual-learning classifier on a `HyperCLBackbone`.

    Training follows von Oswald et al.: before task `t` starts,
    `start_task(t)` stores what the hypernetwork generates for the task
    just learned (see `start_task` for the `refresh` option); while
    training task `t`, the model's loss adds the
    output regulariser `beta / t * sum_{s<t} ||f_h(e_s) - target_s||^2`
    (`layers.HyperOutputRegularizer`, added in `compute_loss` during
    training only). The stored targets are non-trainable weights, so a
    saved model still holds the weights each task had right after it was
    learned (used to measure forgetting).

    Inference:
    - task-incremental (CL1): `predict_task(x, task_id)` or `predict` with
      `{"features": x, "task_id": ids}`;
    - class-incremental (CL3): `infer_task(x)` runs every task's weights
      and picks, per sample, the task whose prediction has the lowest
      entropy (HNET+ENT); labels are mapped to global classes with
      `task_labels`.

    Args:
        backbone: `zoo.HyperCLBackbone`.
        beta: float >= 0. Output-regulariser strength. Defaults to `0.01`.
        task_labels: `None` (the local class is the label, e.g. permuted
            digits) or a list with, per task, the global label of each
            local class (e.g. split digits: `[[0, 1], [2, 3], ...]`).
        ood_weight: float >= 0. Weight of an optional replay-free
            outlier term for class-incremental inference (a decision, not
            in the paper): during training, the current batch with its
            pixels shuffled by a fresh random permutation is run under
            the same task's weights and its cross-entropy to the uniform
            distribution, times `ood_weight`, is added to the loss, so a
            task's network is uncertain on inputs unlike its own. Only
            the current batch is used (no data of other tasks is stored).
            Defaults to `0.0` (off).
        preprocessor: must be `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.HyperCLBackbone(input_dim=64, hidden_dims=(32,),
                                   num_classes=10, num_tasks=3,
                                   architecture="chunked", chunk_size=256)
    model = zoo.HyperCLClassifier(backbone, beta=0.01)
    model.compile()
    model.start_task(1)  # stores task 0's generated weights
    ```

    Reference:
    - [von Oswald et al., 2020](https://arxiv.org/abs/1906.00695),
      "Continual learning with hypernetworks".
    """

    backbone_cls = HyperCLBackbone
    preprocessor_cls = None

    def __init__(self, backbone, beta=0.01, task_labels=None,
                 ood_weight=0.0, preprocessor=None, **kwargs):
        if not beta >= 0:
            raise ValueError(f"`beta` must be >= 0. Received: beta={beta!r}")
        if not ood_weight >= 0:
            raise ValueError(
                f"`ood_weight` must be >= 0. Received: ood_weight="
                f"{ood_weight!r}"
            )
        if task_labels is not None:
            task_labels = [[int(c) for c in row] for row in task_labels]
            if len(task_labels) != backbone.num_tasks or any(
                len(row) != backbone.num_classes for row in task_labels
            ):
                raise ValueError(
                    "`task_labels` must hold one list of "
                    f"{backbone.num_classes} labels per task "
                    f"({backbone.num_tasks} tasks). "
                    f"Received: task_labels={task_labels!r}"
                )
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.logits_cast = keras.layers.Activation(
            "linear", dtype="float32", name="logits"
        )

        # === Functional Model ===
        inputs = backbone.input
        outputs = self.logits_cast(backbone(inputs))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # Not part of the graph: created after the functional init so that
        # every backend tracks its weights (torch re-lists graph layers).
        self.regularizer = HyperOutputRegularizer(
            backbone.num_tasks,
            backbone.num_target_params,
            beta=beta,
            dtype="float32",
            name="output_regularizer",
        )
        self.ood_weight = float(ood_weight)
        if self.ood_weight > 0:
            seed = backbone.hypernetwork.seed
            self.ood_seed_generator = keras.random.SeedGenerator(
                None if seed is None else seed + 31)

        # === Config ===
        self.beta = float(beta)
        self.task_labels = task_labels

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with InplaceAdam(1e-3), sparse CE on logits, accuracy.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = InplaceAdam(1e-3)
        self.compile_classifier(optimizer, loss, metrics, **kwargs)

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
        if training and self.ood_weight > 0:
            loss = ops.add(loss, ops.cast(self._ood_loss(x), loss.dtype))
        return loss

    def _ood_loss(self, x):
        # Cross-entropy to the uniform distribution of the current batch
        # with its features shuffled by one fresh random permutation.
        features = ops.convert_to_tensor(x["features"])
        noise = keras.random.uniform((self.backbone.input_dim,),
                                     seed=self.ood_seed_generator)
        shuffled = ops.take(features, ops.argsort(noise), axis=1)
        task_id = ops.convert_to_tensor(x["task_id"])
        logits = ops.cast(self.backbone({"features": shuffled,
                                         "task_id": task_id}), "float32")
        ce = ops.negative(ops.mean(ops.log_softmax(logits, axis=-1)))
        return ops.multiply(ce, self.ood_weight)

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

    def start_task(self, task_id, refresh=False):
        """Stores the targets of the tasks before `task_id`.

        Call it before training task `task_id` (a no-op for task 0). The
        targets are computed without gradients, in inference mode.

        Decision: by default only tasks without stored targets are
        written, so each task keeps the weights it had right after it
        was learned (the regulariser anchors every task to that point and
        drift cannot accumulate; the stored weights also measure
        forgetting). `refresh=True` recomputes the targets of all earlier
        tasks from the current hypernetwork, as hypnettorch does.

        Args:
            task_id: int, the task about to be learned.
            refresh: bool. Overwrite targets that are already stored.

        Example:

        ```python
        for t, (x, y) in enumerate(tasks):
            model.start_task(t)
            model.fit({"features": x, "task_id": np.full(len(x), t)}, y)
        ```
        """
        task_id = self._check_task(task_id)
        if task_id == 0:
            return
        stored = set(self.regularizer.stored_tasks())
        todo = [t for t in range(task_id) if refresh or t not in stored]
        if not todo:
            return
        flat = ops.convert_to_numpy(
            ops.stop_gradient(
                self.backbone.hypernetwork.generate_all_tasks()
            )
        )
        for t in todo:
            self.regularizer.store(t, flat[t])

    def stored_weights(self, task_id):
        """The flat target weights stored for `task_id` (numpy).

        With the default `start_task` these are the weights the task had
        when the next task began, i.e. right after it was learned.

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
            ops.convert_to_numpy(self.regularizer.targets)[task_id]
        )

    def predict_task(self, x, task_id, weights=None, batch_size=1024):
        """Logits of a batch under one task's weights.

        Args:
            x: array `(n, input_dim)`.
            task_id: int.
            weights: `None` (weights generated now) or flat weights, e.g.
                `stored_weights(t)`.
            batch_size: int.

        Returns:
            float32 numpy logits `(n, num_classes)`.
        """
        task_id = self._check_task(task_id)
        x = np.asarray(x, "float32")
        if x.ndim != 2 or x.shape[1] != self.backbone.input_dim:
            raise ValueError(
                f"`x` must have shape (n, {self.backbone.input_dim}). "
                f"Received: x.shape={x.shape}"
            )
        if weights is None:
            # One weight set for the whole batch (not one per sample).
            weights = self.backbone.hypernetwork.generate(np.array(task_id))
        out = []
        for i in range(0, len(x), batch_size):
            logits = self.backbone.target_forward(x[i:i + batch_size],
                                                  weights)
            out.append(np.asarray(ops.convert_to_numpy(
                ops.cast(logits, "float32"))))
        return np.concatenate(out) if out else np.zeros(
            (0, self.backbone.num_classes), "float32")

    def infer_task(self, x, num_tasks=None, score="entropy",
                   temperature=1.0):
        """Class-incremental inference by lowest predictive entropy.

        Args:
            x: array `(n, input_dim)`.
            num_tasks: int or `None`. Consider tasks `0..num_tasks-1`
                (the tasks learned so far); all tasks by default.
            score: how a task is chosen per sample: `"entropy"` (lowest
                entropy of the softmax, von Oswald et al.'s HNET+ENT, the
                default), `"max_softmax"` (highest top-class probability)
                or `"energy"` (highest logsumexp of the logits, Liu et
                al., 2020).
            temperature: float > 0. The logits are divided by it before
                the score (one temperature for every task). Defaults to
                `1.0`.

        Returns:
            A tuple `(task_ids, labels)` of int arrays `(n,)`: the chosen
            task and the global label (through `task_labels`).
        """
        n_tasks = self.backbone.num_tasks if num_tasks is None else int(
            num_tasks)
        if not 1 <= n_tasks <= self.backbone.num_tasks:
            raise ValueError(
                f"`num_tasks` must be in [1, {self.backbone.num_tasks}]. "
                f"Received: num_tasks={num_tasks!r}"
            )
        scores = ("entropy", "max_softmax", "energy")
        if score not in scores:
            raise ValueError(
                f"`score` must be one of {scores}. Received: score={score!r}"
            )
        if not temperature > 0:
            raise ValueError(
                f"`temperature` must be > 0. Received: temperature="
                f"{temperature!r}"
            )
        entropies, locals_ = [], []
        generated = self.backbone.hypernetwork.generate_all_tasks()
        for t in range(n_tasks):
            logits = self.predict_task(x, t, weights=generated[t])
            if temperature != 1.0:
                logits = logits / np.float32(temperature)
            top = logits.max(axis=1, keepdims=True)
            logits = logits - top
            p = np.exp(logits)
            total = p.sum(axis=1, keepdims=True)
            p /= total
            if score == "entropy":
                value = -(p * np.log(np.maximum(p, 1e-12))).sum(1)
            elif score == "max_softmax":
                value = -p.max(1)
            else:
                value = -(top[:, 0] + np.log(total[:, 0]))
            # Lower is more confident for every score.
            entropies.append(value)
            locals_.append(p.argmax(1))
        task_ids = np.argmin(np.stack(entropies, 1), axis=1)
        local = np.stack(locals_, 1)[np.arange(len(task_ids)), task_ids]
        if self.task_labels is None:
            labels = local
        else:
            table = np.asarray(self.task_labels)
            labels = table[task_ids, local]
        return task_ids.astype("int32"), labels.astype("int32")

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
        config.update({"beta": self.beta, "task_labels": self.task_labels})
        if self.ood_weight > 0:
            # Only when set: configs saved before the option stay as they were.
            config["ood_weight"] = self.ood_weight
        return config
