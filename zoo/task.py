"""Base Task of the zoo: keras-hub's Task without forced tf.data."""

import keras
from keras_hub.models import Task

from zoo import validation


def is_mixed(policy):
    """Whether a dtype policy computes in a lower precision than it stores.

    Args:
        policy: a `keras.DTypePolicy`.

    Returns:
        bool.

    Example:

    ```python
    zoo.task.is_mixed(keras.DTypePolicy("mixed_bfloat16"))  # True
    ```
    """
    return policy.compute_dtype != policy.variable_dtype


def head_dtype_policy(policy=None):
    """`"float32"` under a mixed policy, else `None` (the policy's own).

    The output head of every zoo model runs in float32 under mixed
    precision, so logits, losses and softmaxes keep their range.

    Args:
        policy: a `keras.DTypePolicy`, or `None` for the global policy.

    Returns:
        `"float32"` or `None`.

    Example:

    ```python
    keras.layers.Dense(10, dtype=zoo.task.head_dtype_policy())
    ```
    """
    policy = keras.config.dtype_policy() if policy is None else policy
    return "float32" if is_mixed(policy) else None


def check_num_classes(num_classes, minimum=2):
    """Checks a class count: an int (not a bool) of at least `minimum`.

    Args:
        num_classes: the value given.
        minimum: int.

    Returns:
        The value.

    Raises:
        ValueError: naming `num_classes` and what was expected.

    Example:

    ```python
    zoo.task.check_num_classes(10)
    ```
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) \
            or num_classes < minimum:
        raise ValueError(
            f"`num_classes` must be an integer >= {minimum}. "
            f"Received: num_classes={num_classes!r}"
        )
    return num_classes


def check_activation(activation):
    """Checks a classifier output activation: `None` or `"softmax"`.

    Args:
        activation: the value given.

    Returns:
        The value.

    Raises:
        ValueError: naming `activation` and what was expected.

    Example:

    ```python
    zoo.task.check_activation("softmax")
    ```
    """
    if activation not in (None, "softmax"):
        raise ValueError(
            "`activation` must be None or 'softmax'. "
            f"Received: activation={activation!r}"
        )
    return activation


class ZooTask(Task):
    """A `keras_hub.models.Task` that feeds arrays straight to Keras.

    keras-hub's `Task.fit/evaluate/predict` wrap every input in a
    `tf.data` (or Grain) pipeline so that a preprocessor can run on it.
    Zoo tasks without a preprocessor skip that wrapper: numpy arrays go
    to `keras.Model.fit` directly, so `shuffle=True` is honoured and
    training on JAX or PyTorch never goes through TensorFlow. With a
    preprocessor attached, keras-hub's pipeline is used unchanged.

    Input validation: `predict`, `predict_on_batch`, `evaluate`, `fit`
    and `__call__` check concrete inputs (numpy arrays, lists, eager
    tensors) against `input_specs()` before Keras sees them (see
    `zoo.validation`): rank and fixed sizes, dtype kind, a non-empty
    batch, finite values, integer ids in range and the value ranges in
    `input_value_ranges` (set by `zoo.load` from the preset's metadata).
    A bad input raises a `ValueError`/`TypeError` naming the input and
    what was expected, and the model stays usable. Symbolic and traced
    inputs are not checked. On JAX, `predict`/`evaluate`/`fit` also
    restore the model's variables if Keras fails midway (Keras 3.15
    leaves them detached otherwise).

    Args:
        *args: forwarded to `keras_hub.models.Task`.
        **kwargs: forwarded to `keras_hub.models.Task`.

    Example:

    ```python
    class MyClassifier(zoo.task.ZooTask):
        backbone_cls = MyBackbone
    ```
    """

    # ------------------------------------------------------------------
    # Output head precision
    # ------------------------------------------------------------------

    @staticmethod
    def resolve_head_dtype(head_dtype, backbone):
        """The dtype policy of the task's output head.

        Under a mixed backbone policy the head defaults to float32; a
        given `head_dtype` wins; otherwise the backbone's policy.

        Args:
            head_dtype: `None`, a policy name or a `keras.DTypePolicy`.
            backbone: the task's backbone.

        Returns:
            A policy name or `keras.DTypePolicy` for the head layers.

        Example:

        ```python
        head = ZooTask.resolve_head_dtype(None, backbone)
        ```
        """
        policy = backbone.dtype_policy
        if head_dtype is None and is_mixed(policy):
            return "float32"
        return head_dtype or policy

    def set_head_dtype(self, head_dtype):
        """Stores `head_dtype` as a serialised policy, for `get_config`.

        Args:
            head_dtype: what `resolve_head_dtype` returned.

        Example:

        ```python
        self.set_head_dtype(head_dtype)
        ```
        """
        self.head_dtype = keras.dtype_policies.serialize(
            keras.dtype_policies.get(head_dtype)
        )

    def build_classifier_head(self, backbone, num_classes, head_dtype,
                              activation=None, dropout=None,
                              features=None):
        """Creates the dense class head and returns the model's outputs.

        Sets `self.output_dense` (a `Dense(num_classes)` named
        `"predictions"` under `head_dtype`, see `resolve_head_dtype`)
        and, when `dropout` is not `None`, `self.output_dropout` before
        it; then applies them to `features` (by default
        `backbone(backbone.input)`).

        Args:
            backbone: the task's backbone.
            num_classes: int. Number of classes.
            head_dtype: what `resolve_head_dtype` returned.
            activation: `None` (logits) or `"softmax"`.
            dropout: float or `None` (no dropout layer).
            features: symbolic tensor fed to the head, or `None`.

        Returns:
            The symbolic outputs of the head.

        Example:

        ```python
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)
        outputs = self.build_classifier_head(backbone, 10, head_dtype)
        super().__init__(inputs=backbone.input, outputs=outputs)
        ```
        """
        if features is None:
            features = backbone(backbone.input)
        if dropout is not None:
            self.output_dropout = keras.layers.Dropout(
                dropout, dtype=head_dtype, name="output_dropout"
            )
            features = self.output_dropout(features)
        self.output_dense = keras.layers.Dense(
            num_classes, activation=activation, dtype=head_dtype,
            name="predictions",
        )
        return self.output_dense(features)

    def compile_classifier(self, optimizer="auto", loss="auto",
                           metrics="auto", from_logits=True,
                           label_smoothing=None, **kwargs):
        """`compile` with the classifier defaults of the zoo.

        `"auto"` means Adam(1e-3), sparse categorical cross-entropy
        (`from_logits`, `label_smoothing`; one-hot labels are not
        needed) and sparse categorical accuracy named `"accuracy"`.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            from_logits: bool. Whether the model outputs logits.
            label_smoothing: float or `None`. With `loss="auto"`, a float
                selects `zoo.losses.SparseLabelSmoothingCrossentropy`.
            **kwargs: passed to `keras.Model.compile`.

        Example:

        ```python
        def compile(self, optimizer="auto", loss="auto", *,
                    metrics="auto", **kwargs):
            self.compile_classifier(optimizer, loss, metrics, **kwargs)
        ```
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            if label_smoothing is not None:
                from zoo.losses import SparseLabelSmoothingCrossentropy

                loss = SparseLabelSmoothingCrossentropy(
                    label_smoothing, from_logits=from_logits
                )
            else:
                loss = keras.losses.SparseCategoricalCrossentropy(
                    from_logits=from_logits
                )
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy("accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        **kwargs)

    # ------------------------------------------------------------------
    # Input validation
    # ------------------------------------------------------------------
    def input_specs(self):
        """What this task's inputs accept, one `InputSpec` per input.

        Derived from the functional inputs (rank, fixed sizes, dtype
        kind), narrowed by `input_value_ranges`. Families override it to
        add integer ranges (token ids, task ids, labels).

        Returns:
            A `zoo.validation.InputSpec`, or a dict name -> spec for
            dict inputs.

        Example:

        ```python
        model.input_specs()
        ```
        """
        specs = validation.specs_from_inputs(self)
        ranges = self.input_value_ranges
        if not ranges or specs is None:
            return specs
        if isinstance(specs, dict):
            return {
                k: s.with_range(*ranges[k]) if k in ranges else s
                for k, s in specs.items()
            }
        if specs.name in ranges:
            return specs.with_range(*ranges[specs.name])
        return specs

    def check_input_arrays(self, arrays):
        """Cross-input checks on validated numpy inputs; none by default.

        Args:
            arrays: dict name -> numpy array, each already checked
                against its `InputSpec`.

        Raises:
            ValueError: when the inputs do not fit together.
        """

    @property
    def input_value_ranges(self):
        """Allowed value ranges by input name, `{name: (min, max)}`.

        Empty for a model built in code; `zoo.load` fills it from the
        preset's metadata (e.g. pixels in `[0, 1]` for the digits
        presets). Set it with `set_input_value_ranges`.
        """
        return dict(self.__dict__.get("_zoo_value_ranges", {}))

    def set_input_value_ranges(self, ranges, source=None):
        """Sets the value ranges checked on every concrete input.

        Args:
            ranges: dict `{input name: (min, max)}`; `None` bounds are
                open. `{}` removes the checks.
            source: str or `None`. Named in error messages (e.g. the
                preset's name).

        Example:

        ```python
        model.set_input_value_ranges({"features": (0.0, 1.0)})
        ```
        """
        clean = {}
        for name, bounds in dict(ranges).items():
            lo, hi = bounds
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(
                    f"Range of {name!r} must have min <= max. "
                    f"Received: {bounds!r}"
                )
            clean[str(name)] = (lo, hi)
        # Plain attributes (not tracked by Keras, not serialised).
        object.__setattr__(self, "_zoo_value_ranges", clean)
        object.__setattr__(self, "_zoo_source", source)

    def validate_inputs(self, x):
        """Checks a concrete input; symbolic or traced input passes.

        Args:
            x: an input as given to `predict` or `__call__`.

        Returns:
            `True` if `x` was checked, `False` if it was left to Keras
            (symbolic, traced, a dataset, a preprocessor attached).

        Raises:
            ValueError: wrong shape, empty batch, NaN/inf, values or ids
                out of range.
            TypeError: wrong structure or a non-numeric input.

        Example:

        ```python
        model.validate_inputs(np.zeros((2, 64), "float32"))
        ```
        """
        if self.preprocessor is not None or validation.validation_skipped():
            return False
        source = self.__dict__.get("_zoo_source")
        where = f" (preset {source})" if source else ""
        return validation.check_inputs(
            x, self.input_specs(), self.check_input_arrays, where
        )

    def __call__(self, *args, **kwargs):
        if args:
            self.validate_inputs(args[0])
        elif "inputs" in kwargs:
            self.validate_inputs(kwargs["inputs"])
        return super().__call__(*args, **kwargs)

    # ------------------------------------------------------------------
    # Keras loops
    # ------------------------------------------------------------------
    def _guarded_loop(self, name, x, args, kwargs):
        # Validate once, then run the Keras loop without re-validating
        # every batch, restoring the JAX state if Keras fails midway.
        self.validate_inputs(x)
        with validation.skip_validation(), validation.jax_state_guard(self):
            if self.preprocessor is None:
                return getattr(keras.Model, name)(self, x, *args, **kwargs)
            return getattr(super(), name)(x, *args, **kwargs)

    def fit(self, x=None, *args, **kwargs):
        return self._guarded_loop("fit", x, args, kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        return self._guarded_loop("evaluate", x, args, kwargs)

    def predict(self, x=None, *args, **kwargs):
        return self._guarded_loop("predict", x, args, kwargs)

    def predict_on_batch(self, x):
        self.validate_inputs(x)
        with validation.skip_validation(), validation.jax_state_guard(self):
            return super().predict_on_batch(x)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds the task from a bundled preset name or any preset.

        A name from `zoo.list_presets()` loads its bundled directory
        offline, as `zoo.load(name)` does: the sha256 table is checked
        first and the preset's input value ranges are set. Anything else
        (a directory, a `kaggle://` or `hf://` handle) goes to keras-hub
        unchanged.

        Args:
            preset: str. A bundled preset name, or what keras-hub's
                `Task.from_preset` accepts.
            load_weights: bool. Load the trained weights.
            **kwargs: forwarded to `keras_hub.models.Task.from_preset`.

        Returns:
            An instance of this class (or of the subclass that fits the
            preset's backbone, as keras-hub picks it).

        Raises:
            PresetError: a plain name that is neither bundled, a
                keras-hub preset nor a directory (the message lists the
                bundled names), or a checksum mismatch.

        Example:

        ```python
        model = TerminatorClassifier.from_preset("terminator_2d_digits")
        ```
        """
        from zoo import preset_utils

        preset_dir = preset_utils.bundled_preset_dir(preset)
        if preset_dir is None:
            return super().from_preset(
                preset, load_weights=load_weights, **kwargs
            )
        import zoo

        zoo.register_all()
        if load_weights:
            preset_utils.verify_preset(preset_dir)
        model = super().from_preset(
            preset_dir, load_weights=load_weights, **kwargs
        )
        return preset_utils.apply_value_ranges(model, preset_dir)

    @classmethod
    def from_config(cls, config):
        # keras-hub's `from_config` replaces the backbone entry in place;
        # work on a copy so the caller's config stays serialisable. A
        # task's `head_dtype` (float32 head under mixed precision) is
        # stored as a serialised policy.
        config = dict(config)
        if isinstance(config.get("head_dtype"), dict):
            config["head_dtype"] = keras.dtype_policies.deserialize(
                config["head_dtype"]
            )
        return super().from_config(config)

    def compile_from_config(self, config):
        """Restores the compile state saved in a `.keras` file.

        Keras skips (with a warning) models that override `compile()`;
        zoo tasks accept every standard compile argument, so the saved
        optimizer, loss and metrics are restored as Keras would.

        Args:
            config: dict from `get_compile_config()`.
        """
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)


class DenseClassifier(ZooTask):
    """Base of tasks that are a backbone and one dense head (logits).

    The head is `ZooTask.build_classifier_head` on the backbone's output
    (float32 under a mixed policy); `compile()` defaults to Adam(1e-3),
    sparse categorical cross-entropy on logits and accuracy. A subclass
    sets `backbone_cls` (for `from_preset`) and its docstring.

    Args:
        backbone: the backbone; its output is the feature vector.
        num_classes: int. Number of classes (at least 2).
        head_dtype: dtype of the head; float32 under mixed precision.
        preprocessor: must be `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    @keras.saving.register_keras_serializable(package="hyperzoo")
    class MyClassifier(zoo.task.DenseClassifier):
        backbone_cls = MyBackbone

    model = MyClassifier(MyBackbone(), num_classes=10)
    ```
    """

    preprocessor_cls = None

    def __init__(self, backbone, num_classes, head_dtype=None,
                 preprocessor=None, **kwargs):
        check_num_classes(num_classes)
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)

        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        outputs = self.build_classifier_head(backbone, num_classes,
                                             head_dtype)
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.set_head_dtype(head_dtype)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3), sparse CE on logits and accuracy.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        self.compile_classifier(optimizer, loss, metrics, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes,
                       "head_dtype": self.head_dtype})
        return config
