"""Input validation for zoo tasks, run before Keras sees the input.

Every `zoo.task.ZooTask` checks concrete inputs (numpy arrays, Python
lists, eager tensors) in `predict`, `predict_on_batch`, `evaluate` and
`__call__` against its *input spec*: the rank, the fixed feature sizes and
the dtype kind of each input (read from the task's functional inputs),
plus what the family declares (integer ids in range, value ranges, shapes
that must agree between inputs). A bad call raises a `ValueError` or
`TypeError` naming the argument and what was expected, and the model is
left untouched: on JAX, a wrong-shape `predict` that reached Keras 3.15
left the model's variables purged, so that every later `predict` raised
`TypeError: 'NoneType' object is not callable`.

Refused by design (documented behaviour, not an oversight):

- an empty batch or an empty axis (an empty support or query set, a
  sequence of length 0): a `ValueError`, on every backend;
- NaN or infinite values in a float input: a `ValueError` (a model must
  not silently turn one bad sample into a batch of NaN outputs);
- one sample without its batch axis, e.g. `(64,)` for `(batch, 64)`.

Symbolic inputs (`keras.KerasTensor`), JAX tracers, TensorFlow graph
tensors and tensors being compiled by `torch.compile` pass through
untouched, as do `tf.data` datasets, generators and `PyDataset`s.
"""

import contextlib
import contextvars
import numbers
import sys

import numpy as np

# Inside a validated `predict`/`evaluate`/`fit`, the task's own calls on
# each batch are not checked again.
_SKIP = contextvars.ContextVar("hyperzoo_skip_validation", default=False)

#: Value ranges of the inputs of bundled presets, by `input_kind` in the
#: preset's `metadata.json`; `zoo.load` sets them on the loaded task
#: (`ZooTask.input_value_ranges`). The digits presets take pixels scaled
#: to `[0, 1]` (`zoo.data.load_digits`, `digit_image_to_features`).
PRESET_VALUE_RANGES = {
    "digits_8x8": {"features": (0.0, 1.0)},
    "digits_8x8x1": {"features": (0.0, 1.0)},
    "digits_8x8_task": {"features": (0.0, 1.0)},
}
_RANGE_HINTS = {
    (0.0, 1.0): " (pixels scaled to [0, 1]: divide 0-16 values by 16 "
                "and 0-255 values by 255)",
}
# Slack on declared float ranges (values computed in float32).
_RANGE_TOLERANCE = 1e-5


@contextlib.contextmanager
def skip_validation():
    """Turns off input validation of zoo tasks inside a `with` block.

    Used by the tasks themselves around Keras' loops (whose per-batch
    calls would otherwise be checked again) and by code that has already
    validated its input (e.g. `Forecaster.rollout`).

    Example:

    ```python
    with zoo.validation.skip_validation():
        model(x)  # x already checked
    ```
    """
    token = _SKIP.set(True)
    try:
        yield
    finally:
        _SKIP.reset(token)


def validation_skipped():
    """Whether the current code runs inside `skip_validation()`.

    Returns:
        bool.

    Example:

    ```python
    zoo.validation.validation_skipped()  # False
    ```
    """
    return _SKIP.get()


class InputSpec:
    """What one input of a zoo task accepts.

    Args:
        name: str. The input's name (its key in a dict input).
        shape: tuple. Expected shape including the batch axis; `None`
            for a free size (the batch axis is always free).
        dtype: str. `"float"` (any real numeric dtype, cast by Keras) or
            `"int"` (integer ids: integer dtypes, or floats holding whole
            numbers).
        min_value: number or `None`. Smallest allowed value (inclusive).
        max_value: number or `None`. Largest allowed value (inclusive).
        meaning: str. Short description used in error messages (e.g.
            `"token ids"`).

    Example:

    ```python
    spec = zoo.validation.InputSpec("token_ids", (None, 6), "int",
                                    min_value=0, max_value=19)
    ```
    """

    def __init__(self, name, shape, dtype="float", min_value=None,
                 max_value=None, meaning=""):
        if dtype not in ("float", "int"):
            raise ValueError(
                f"`dtype` must be 'float' or 'int'. Received: dtype={dtype!r}"
            )
        self.name = name
        self.shape = tuple(shape)
        self.dtype = dtype
        self.min_value = min_value
        self.max_value = max_value
        self.meaning = meaning

    def with_range(self, min_value=None, max_value=None):
        """A copy with a (narrower) value range.

        Args:
            min_value: number or `None` (keep the current bound).
            max_value: number or `None` (keep the current bound).

        Returns:
            A new `InputSpec`.

        Example:

        ```python
        spec = spec.with_range(0.0, 1.0)
        ```
        """
        return InputSpec(
            self.name, self.shape, self.dtype,
            self.min_value if min_value is None else min_value,
            self.max_value if max_value is None else max_value,
            self.meaning,
        )

    def describe_shape(self):
        """The expected shape as text, e.g. `(batch, 64)`."""
        dims = ["batch"] + [
            "any" if d is None else str(d) for d in self.shape[1:]
        ]
        if len(dims) == 1:
            return "(batch,)"
        return "(" + ", ".join(dims) + ")"

    def __repr__(self):
        return (f"InputSpec({self.name!r}, {self.describe_shape()}, "
                f"{self.dtype!r}, min_value={self.min_value!r}, "
                f"max_value={self.max_value!r})")


def specs_from_inputs(model):
    """Derives `InputSpec`s from a functional model's `keras.Input`s.

    Args:
        model: a functional `keras.Model`.

    Returns:
        An `InputSpec` (single input) or a dict name -> `InputSpec`.

    Example:

    ```python
    zoo.validation.specs_from_inputs(model)
    ```
    """
    inputs = model.input

    def one(tensor, name=None):
        dtype = str(tensor.dtype)
        kind = "int" if ("int" in dtype or dtype == "bool") else "float"
        return InputSpec(name or tensor.name, tuple(tensor.shape), kind)

    if isinstance(inputs, dict):
        return {k: one(v, k) for k, v in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        if len(inputs) == 1:
            return one(inputs[0])
        return None  # positional multi-input: not validated
    return one(inputs)


# ----------------------------------------------------------------------
# Concrete or symbolic?
# ----------------------------------------------------------------------
def _module(x):
    return type(x).__module__ or ""


def is_concrete(x):
    """Whether `x` holds actual values that can be checked.

    numpy arrays, Python numbers and lists, eager TensorFlow tensors,
    JAX arrays (not tracers) and PyTorch tensors (outside
    `torch.compile`) are concrete; `keras.KerasTensor`s, tracers, graph
    tensors, datasets and generators are not.

    Args:
        x: anything.

    Returns:
        bool.

    Example:

    ```python
    zoo.validation.is_concrete(np.zeros(3))  # True
    ```
    """
    if isinstance(x, (np.ndarray, np.generic, numbers.Number, list)):
        return True
    # Told apart by type, without importing any backend (zoo stays
    # backend-agnostic; see tests/test_import_rules.py).
    mod = _module(x)
    names = {c.__name__ for c in type(x).__mro__}
    if mod.startswith("keras"):
        return False
    if mod.startswith(("jax", "jaxlib")):
        return "Tracer" not in names and hasattr(x, "__array__")
    if mod.startswith("tensorflow"):
        return "EagerTensor" in names
    if mod.startswith("torch"):
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(x, torch.Tensor):
            return False
        compiler = getattr(torch, "compiler", None)
        if compiler is not None and compiler.is_compiling():
            return False
        if names & {"FakeTensor", "FunctionalTensor"}:
            return False
        return x.device.type != "meta"
    return False


def _to_numpy(x):
    mod = _module(x)
    if mod.startswith("torch"):
        return x.detach().cpu().numpy()
    if mod.startswith("tensorflow"):
        return x.numpy()
    return np.asarray(x)


def _structure_concrete(x):
    if isinstance(x, dict):
        return bool(x) and all(is_concrete(v) for v in x.values())
    return is_concrete(x)


# ----------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------
def _fmt(value):
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


def _check_shape(arr, spec, name, expected, where):
    """Rank, fixed sizes and non-empty axes of `arr` (see `check_array`)."""
    rank = len(spec.shape)
    if arr.ndim != rank:
        hint = ""
        if arr.ndim == rank - 1 and tuple(arr.shape) == tuple(
            d for d in spec.shape[1:]
        ):
            hint = (" This looks like one sample without its batch axis: "
                    "pass x[None] (a batch of one).")
        raise ValueError(
            f"{name} must have shape {expected} (rank {rank}). "
            f"Received shape={tuple(arr.shape)} (rank {arr.ndim}).{hint}"
            f"{where}"
        )
    for axis, (want, got) in enumerate(zip(spec.shape, arr.shape)):
        if axis > 0 and want is not None and want != got:
            raise ValueError(
                f"{name} must have shape {expected}: axis {axis} must have "
                f"size {want}. Received shape={tuple(arr.shape)}.{where}"
            )
    if arr.shape and arr.shape[0] == 0:
        raise ValueError(
            f"{name} is an empty batch (shape={tuple(arr.shape)}): "
            f"expected at least one sample of shape {expected}.{where}"
        )
    if 0 in arr.shape:
        what = f" ({spec.meaning})" if spec.meaning else ""
        raise ValueError(
            f"{name}{what} has an empty axis (shape={tuple(arr.shape)}): every "
            f"axis of {expected} needs at least one entry.{where}"
        )


def _check_range(arr, spec, name, where):
    """`arr` within `spec`'s value range (see `check_array`)."""
    lo, hi = spec.min_value, spec.max_value
    if lo is not None or hi is not None:
        tol = _RANGE_TOLERANCE if spec.dtype == "float" else 0
        low_bad = lo is not None and arr.min() < lo - tol
        high_bad = hi is not None and arr.max() > hi + tol
        if low_bad or high_bad:
            if spec.dtype == "int":
                allowed = f"in [{_fmt(lo)}, {_fmt(hi)}]"
                what = spec.meaning or "ids"
                offender = arr.min() if low_bad else arr.max()
                raise ValueError(
                    f"{name} must hold {what} {allowed}. Received "
                    f"{_fmt(offender)}.{where}"
                )
            bounds = (lo, hi)
            hint = _RANGE_HINTS.get(bounds, "")
            raise ValueError(
                f"{name} values must be in [{_fmt(lo)}, {_fmt(hi)}]"
                f"{hint}. Received min={_fmt(arr.min())}, "
                f"max={_fmt(arr.max())}.{where}"
            )


def check_array(x, spec, where=""):
    """Checks one concrete input against its spec.

    Args:
        x: array-like (numpy, list, eager tensor).
        spec: `InputSpec`.
        where: str. Context appended to messages (e.g. the preset name).

    Returns:
        The input as a numpy array.

    Raises:
        TypeError: not numeric, or a float where integer ids are expected
            and a dtype that cannot hold them.
        ValueError: wrong rank or size, empty axis, NaN/inf, integer ids
            that are not whole numbers, values out of range.

    Example:

    ```python
    zoo.validation.check_array(x, zoo.validation.InputSpec("x", (None, 4)))
    ```
    """
    name = f"`{spec.name}`"
    expected = spec.describe_shape()
    try:
        arr = _to_numpy(x)
    except (ValueError, TypeError) as e:
        raise TypeError(
            f"{name} must be a numeric array of shape {expected}. "
            f"Could not convert {type(x).__name__}: {e}"
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(
            f"{name} must hold real numbers ({spec.dtype}) of shape "
            f"{expected}. Received dtype={arr.dtype}.{where}"
        )
    _check_shape(arr, spec, name, expected, where)
    is_float = np.issubdtype(arr.dtype, np.floating)
    if is_float and not np.all(np.isfinite(arr)):
        bad = np.unique(np.nonzero(~np.isfinite(
            arr.reshape(arr.shape[0], -1)))[0])
        raise ValueError(
            f"{name} contains NaN or infinite values (in sample(s) "
            f"{bad[:10].tolist()}{' ...' if len(bad) > 10 else ''}). "
            "Remove or repair those samples: the model refuses them "
            f"instead of returning NaN outputs.{where}"
        )
    if spec.dtype == "int" and is_float and not np.all(arr == np.round(arr)):
        bad = arr[arr != np.round(arr)].reshape(-1)[0]
        raise ValueError(
            f"{name} must hold integer {spec.meaning or 'ids'}. "
            f"Received the non-integer value {_fmt(bad)}.{where}"
        )
    _check_range(arr, spec, name, where)
    return arr


def check_inputs(x, specs, extra_check=None, where=""):
    """Checks a concrete (possibly dict) input against a task's specs.

    Args:
        x: the input given to `predict`/`evaluate`/`__call__`.
        specs: an `InputSpec` or a dict name -> `InputSpec`.
        extra_check: callable `(dict name -> numpy array) -> None` run
            after the per-input checks (cross-input rules), or `None`.
        where: str. Context appended to messages.

    Returns:
        `True` when `x` was checked, `False` when it was not concrete
        (symbolic, traced, a dataset, ...) and was left to Keras.

    Raises:
        TypeError: a dict expected and something else given, or the
            reverse; a non-numeric input.
        ValueError: see `check_array`; a missing key; batch sizes that
            differ between inputs.

    Example:

    ```python
    zoo.validation.check_inputs(x, model.input_specs())
    ```
    """
    if specs is None:
        return False
    if isinstance(specs, dict):
        if isinstance(x, (list, tuple)) and not isinstance(x, dict):
            return False  # positional inputs: left to Keras
        if not isinstance(x, dict):
            if not is_concrete(x):
                return False
            raise TypeError(
                "This model takes a dict of arrays with keys "
                f"{sorted(specs)}. Received: {type(x).__name__}.{where}"
            )
        missing = sorted(set(specs) - set(x))
        if missing:
            raise ValueError(
                f"Input dict is missing key(s) {missing}: expected keys "
                f"{sorted(specs)}. Received keys {sorted(x)}.{where}"
            )
        if not all(is_concrete(x[k]) for k in specs):
            return False
        arrays = {k: check_array(x[k], spec, where)
                  for k, spec in specs.items()}
        sizes = {k: a.shape[0] for k, a in arrays.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(
                "Every input must have the same batch size (axis 0). "
                f"Received: {sizes}.{where}"
            )
    else:
        if isinstance(x, dict):
            raise TypeError(
                f"This model takes one array `{specs.name}` of shape "
                f"{specs.describe_shape()}, not a dict. Received keys "
                f"{sorted(x)}.{where}"
            )
        if isinstance(x, tuple) or not is_concrete(x):
            return False
        arrays = {specs.name: check_array(x, specs, where)}
    if extra_check is not None:
        extra_check(arrays)
    return True


@contextlib.contextmanager
def jax_state_guard(model):
    """Restores a JAX model's variables if a Keras loop fails midway.

    Keras 3.15's JAX `predict`/`evaluate` detach the variable values
    ("purge") before running the compiled step and re-attach them only
    when the loop ends; an exception in between leaves every variable
    empty, so the next call fails with `'NoneType' object is not
    callable`. This guard re-attaches the values it saw on entry. A no-op
    on other backends.

    Args:
        model: a `keras.Model`.

    Example:

    ```python
    with zoo.validation.jax_state_guard(model):
        model.predict(x)
    ```
    """
    import keras

    if keras.backend.backend() != "jax":
        yield
        return
    saved = [(v, v._value) for v in _all_variables(model)]
    try:
        yield
    except BaseException:
        for v, value in saved:
            if v._value is None and value is not None:
                v._value = value
        if getattr(model, "_jax_state", None) is not None:
            model._jax_state = None
        raise


def _all_variables(model):
    seen, out = set(), []
    groups = [model.variables]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        groups.append(optimizer.variables)
    groups.append(getattr(model, "metrics_variables", []))
    for group in groups:
        for v in group:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    return out
