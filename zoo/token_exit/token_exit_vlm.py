"""TokenExitVLM task: answer classification and DyVTE router training."""

import keras
import numpy as np
from keras import ops

from layers._checks import check_choice
from layers.token_exit import token_exit_labels
from zoo.task import ZooTask
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone

STAGES = ("vlm", "router")


@keras.saving.register_keras_serializable(package="hyperzoo")
class TokenExitVLM(ZooTask):
    """Visual question answering on a `TokenExitVLMBackbone`.

    Short answers are predicted as a classification over an answer
    vocabulary from the final state of the last prompt token (the token
    that predicts the first answer token), so "teacher forcing" has one
    answer position. The head runs in float32 under mixed precision.

    Two training stages, chosen by `stage` (which also sets what is
    trainable):

    - `"vlm"`: the whole model but the routers is trained with sparse
      cross-entropy on the answers (routers frozen).
    - `"router"`: the model is frozen; only the routers train, exactly as
      DyVTE: each batch carries one exit layer `k` (`x["exit_layers"]`,
      constant over the batch, drawn by the caller); the batch is run
      twice, with every image key visible and with the image keys masked
      after layer `k`; the label is "exit" iff the two models' argmax
      agree (> 0.99) and the exited loss is < 1.03 x the full loss
      (`layers.token_exit_labels`); the loss is the cross-entropy of
      router `k` (its input under stop-gradient). Per-example exit layers
      also work (each example trains its own router).

    Inputs are the backbone's dict; `predict` gives answer logits with the
    given `exit_layers`. `predict_with_exit` runs the routers with a
    threshold.

    Args:
        backbone: `zoo.TokenExitVLMBackbone`.
        num_answers: int >= 2. Size of the answer vocabulary.
        stage: `"vlm"` or `"router"`.
        exit_threshold: float in `[0, 1]`. Default threshold of
            `predict_with_exit` (`p(exit) > threshold`).
        head_dtype: dtype of the head (float32 under mixed precision).
        preprocessor: unused, `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.TokenExitVLMBackbone(
        vocabulary_size=20, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, image_size=8, patch_size=2)
    model = zoo.TokenExitVLM(backbone, num_answers=12)
    model.compile()
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """

    backbone_cls = TokenExitVLMBackbone
    preprocessor_cls = None

    def __init__(self, backbone, num_answers, stage="vlm",
                 exit_threshold=0.5, head_dtype=None, preprocessor=None,
                 **kwargs):
        if not isinstance(num_answers, int) or num_answers < 2:
            raise ValueError(
                "`num_answers` must be an integer >= 2. "
                f"Received: num_answers={num_answers!r}"
            )
        check_choice("stage", stage, STAGES)
        if not 0.0 <= float(exit_threshold) <= 1.0:
            raise ValueError(
                "`exit_threshold` must be in [0, 1]. Received: "
                f"exit_threshold={exit_threshold!r}"
            )
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)
        self.stage = stage

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.answer_head = keras.layers.Dense(
            num_answers, dtype=head_dtype, name="answer_head"
        )

        # === Functional Model ===
        inputs = backbone.input
        hidden = backbone(inputs)
        outputs = self.answer_head(hidden[:, -1, :])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_answers = num_answers
        self.exit_threshold = float(exit_threshold)
        self.set_head_dtype(head_dtype)
        self.set_stage(stage)

    def set_stage(self, stage):
        """Sets what is trainable: `"vlm"` (all but routers) or `"router"`.

        Recompile after changing the stage.

        Args:
            stage: `"vlm"` or `"router"`.
        """
        check_choice("stage", stage, STAGES)
        self.stage = stage
        b = self.backbone
        model_layers = ([b.token_embedding, b.patch_embedding,
                         b.image_position_embedding, b.final_norm,
                         self.answer_head] + list(b.transformer_layers)
                        + list(b.vision_stem))
        for layer in model_layers:
            layer.trainable = stage == "vlm"
        for router in b.routers:
            router.trainable = stage == "router"

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3), sparse CE and accuracy.

        In the router stage the loss is the routers' cross-entropy
        (`compute_loss`) whatever `loss` says, and `"auto"` metrics are
        none.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss (vlm stage).
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if metrics == "auto" and self.stage != "vlm":
            metrics = None
        self.compile_classifier(optimizer, loss, metrics, **kwargs)

    def input_specs(self):
        """Input specs; token ids and exit layers in range.

        `token_ids` in `[0, vocabulary_size)`; `exit_layers` in
        `[-1, num_layers - 1]` (`-1`: no image, `num_layers - 1`: the
        full model).

        Returns:
            A dict name -> `zoo.validation.InputSpec`.
        """
        b = self.backbone
        specs = super().input_specs()
        specs["token_ids"] = specs["token_ids"].with_range(
            0, b.vocabulary_size - 1)
        specs["token_ids"].meaning = "token ids"
        specs["exit_layers"] = specs["exit_layers"].with_range(
            -1, b.num_layers - 1)
        specs["exit_layers"].meaning = (
            "exit layers (-1 = no image, num_layers - 1 = full model)")
        return specs

    def answer_logits(self, inputs, exit_layers=None, return_gates=False):
        """Answer logits (float32) of the masked path.

        Args:
            inputs: the backbone's input dict.
            exit_layers: int `(batch,)` or `None` (from `inputs`, or the
                full model).
            return_gates: bool. Also return the routers' logits.

        Returns:
            `(batch, num_answers)` logits, or `(logits, gates)`.
        """
        out = self.backbone.masked_forward(inputs, exit_layers,
                                    return_gates=return_gates)
        hidden, gates = out if return_gates else (out, None)
        logits = ops.cast(self.answer_head(hidden[:, -1, :]), "float32")
        return (logits, gates) if return_gates else logits

    def router_loss(self, x, y):
        """DyVTE's router loss and labels for one (duplicated) batch.

        Args:
            x: input dict with `exit_layers` (the sampled exit layer).
            y: int answers `(batch,)`.

        Returns:
            `(loss, labels, gate_logits)`: the mean router cross-entropy,
            the exit labels `(batch,)` and router `k`'s logits.
        """
        if "exit_layers" not in x:
            raise ValueError("Router training needs x['exit_layers'].")
        exit_layers = ops.reshape(ops.cast(x["exit_layers"], "int32"), (-1,))
        full = ops.stop_gradient(self.answer_logits(
            x, ops.full(ops.shape(exit_layers), self.backbone.num_layers - 1,
                        "int32")))
        exited, gates = self.answer_logits(x, exit_layers, return_gates=True)
        labels = ops.stop_gradient(
            token_exit_labels(full, ops.stop_gradient(exited), y)
        )
        pick = ops.one_hot(exit_layers, self.backbone.num_layers,
                           dtype="float32")
        gate = ops.sum(gates * ops.expand_dims(pick, -1), axis=1)
        loss = ops.mean(ops.sparse_categorical_crossentropy(
            labels, gate, from_logits=True))
        return loss, labels, gate

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        """Answer CE (vlm stage) or the routers' CE (router stage).

        Args:
            x: inputs.
            y: answers.
            y_pred: predictions.
            sample_weight: optional sample weights (vlm stage).
            training: bool.

        Returns:
            A scalar loss.
        """
        if self.stage == "router":
            return self.router_loss(x, y)[0]
        return super().compute_loss(x=x, y=y, y_pred=y_pred,
                                    sample_weight=sample_weight,
                                    training=training)

    def predict_with_exit(self, inputs, threshold=None, batch_size=256):
        """Batched dynamic exit: routers on the full states, then exit.

        Up to layer `k` the exited model equals the full one, so the first
        layer whose router gives `p(exit) > threshold` is found on one full
        pass; a second, masked pass gives the answers.

        Args:
            inputs: the backbone's input dict (`exit_layers` ignored).
            threshold: float or `None` (`exit_threshold`).
            batch_size: int.

        Returns:
            A dict of numpy arrays: `logits` (exited), `full_logits`,
            `exit_layers` and `exit_probs` `(batch, num_layers)`.
        """
        threshold = self.exit_threshold if threshold is None else threshold
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(
                f"`threshold` must be in [0, 1]. Received: {threshold!r}"
            )
        if not isinstance(inputs, dict) or not {"images", "token_ids"} <= set(
                inputs):
            raise TypeError(
                "`inputs` must be a dict with 'images' and 'token_ids'. "
                f"Received: {type(inputs).__name__}"
            )
        n = len(inputs["images"])
        last = self.backbone.num_layers - 1
        # Checked before the gate model (a plain Keras model) runs.
        self.validate_inputs({"images": inputs["images"],
                              "token_ids": inputs["token_ids"],
                              "exit_layers": np.full((n,), last, "int32")})
        x = {"images": np.asarray(inputs["images"], "float32"),
             "token_ids": np.asarray(inputs["token_ids"], "int32"),
             "exit_layers": np.full((n,), last, "int32")}
        full, gates = self.gate_model().predict(x, batch_size=batch_size,
                                                verbose=0)
        gates = np.asarray(gates, "float64")
        probs = 1.0 / (1.0 + np.exp(gates[..., 0] - gates[..., 1]))
        fire = probs > threshold
        fire[:, last] = True
        k = np.argmax(fire, axis=1).astype("int32")
        logits = self.predict(dict(x, exit_layers=k), batch_size=batch_size,
                              verbose=0)
        return {"logits": np.asarray(logits), "full_logits": np.asarray(full),
                "exit_layers": k, "exit_probs": probs}

    def gate_model(self):
        """A functional view: inputs -> `[answer logits, gate logits]`.

        Shares every layer with this task (built once, not tracked, so it
        adds no weights); its `predict` is compiled like the task's.
        Gate logits are `(batch, num_layers, 2)`: router `i` on the
        states after layer `i` of the graph (so with the given
        `exit_layers` masking).

        Returns:
            A `keras.Model`.
        """
        cached = self.__dict__.get("_gate_model_cache")
        if cached is None:
            b = self.backbone
            states = [layer.output for layer in b.transformer_layers]
            # One layer node with a fixed name: ops created here would take
            # global auto-names, which clash with the task graph's after a
            # `keras.backend.clear_session()`.
            gates = _GateStack(b.routers, name="token_exit_gate_stack")(
                states)
            inner = keras.Model(b.input, gates)
            cached = keras.Model(self.input, [self.output, inner(self.input)])
            object.__setattr__(self, "_gate_model_cache", cached)
        return cached

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_answers": self.num_answers,
            "stage": self.stage,
            "exit_threshold": self.exit_threshold,
            "head_dtype": self.head_dtype,
        })
        return config


class _GateStack(keras.layers.Layer):
    """Routers on a list of states -> float32 `(batch, L, 2)` (internal).

    Holds the routers without tracking them (they belong to the
    backbone): `gate_model` only.

    Args:
        routers: list of `layers.TokenExitRouter`.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, routers, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_routers", list(routers))

    def call(self, states):
        return ops.stack([ops.cast(r(h), "float32")
                          for r, h in zip(self._routers, states)], axis=1)

    def compute_output_shape(self, states_shape):
        return (states_shape[0][0], len(self._routers), 2)
