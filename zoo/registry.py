"""Registry of zoo model families, with tiny configs for tests."""

_MODELS = {}


class ModelSpec:
    """How to build a registered model and feed it.

    Args:
        name: str. Registry name (snake_case).
        task_cls: the Task (or Backbone) class.
        build_tiny: callable `(seed) -> keras.Model`, a tiny, built,
            compiled instance for tests.
        example_batch: callable `(batch_size, seed) -> (x, y)` numpy data
            matching the tiny instance.
        description: str. One line.
        reference: str. The paper.
        expected_num_params: int or `None`. Exact parameter count of the
            tiny instance, worked out by hand (checked by the harness).
        expected_num_non_trainable_params: int. Same for the
            non-trainable weights (0 for most models).
        zero_grad_weights: dict `{path regex: reason}` or `None`.
            Trainable weights of the tiny instance whose training-loss
            gradient is zero in exact arithmetic and that are kept on
            purpose (for example for the weights of a bundled preset);
            the test harness asserts that their gradient is rounding
            noise.

    Example:

    ```python
    spec = zoo.get_model_spec("hyper_mlp_classifier")
    model = spec.build_tiny(0)
    ```
    """

    __slots__ = ("name", "task_cls", "build_tiny", "example_batch",
                 "description", "reference", "expected_num_params",
                 "expected_num_non_trainable_params", "zero_grad_weights")

    def __init__(self, name, task_cls, build_tiny, example_batch,
                 description="", reference="", expected_num_params=None,
                 expected_num_non_trainable_params=0,
                 zero_grad_weights=None):
        self.name = name
        self.task_cls = task_cls
        self.build_tiny = build_tiny
        self.example_batch = example_batch
        self.description = description
        self.reference = reference
        self.expected_num_params = expected_num_params
        self.expected_num_non_trainable_params = (
            expected_num_non_trainable_params
        )
        self.zero_grad_weights = dict(zero_grad_weights or {})

    def __repr__(self):
        return f"ModelSpec({self.name!r}, {self.task_cls.__name__})"


def register_model(spec):
    """Adds a `ModelSpec` to the registry.

    Args:
        spec: `ModelSpec`. Its name must be new.

    Returns:
        The spec.

    Example:

    ```python
    zoo.registry.register_model(zoo.registry.ModelSpec(...))
    ```
    """
    if spec.name in _MODELS:
        raise ValueError(f"Model {spec.name!r} is already registered.")
    _MODELS[spec.name] = spec
    return spec


def list_models():
    """Sorted names of every registered model.

    Returns:
        A list of str.

    Example:

    ```python
    zoo.list_models()  # ['hyper_mlp_classifier', ...]
    ```
    """
    return sorted(_MODELS)


def get_model_spec(name):
    """Returns the `ModelSpec` registered under `name`.

    Args:
        name: str. A name from `list_models()`.

    Returns:
        The `ModelSpec`.

    Example:

    ```python
    zoo.get_model_spec("hyper_mlp_classifier").task_cls
    ```
    """
    if name not in _MODELS:
        raise ValueError(
            f"Unknown model {name!r}. Known models: {', '.join(list_models())}"
        )
    return _MODELS[name]
