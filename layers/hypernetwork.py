"""Hypernetworks that generate every parameter of a target network.

The target network is described by a spec table, one row per parameter
tensor (name, shape, kind, fan-in, fan-out, in Keras layout); the
hypernetwork emits one flat vector per condition and splits it into
those tensors, which functional target layers (`layers.functional`)
take as call inputs.
"""

import math

import keras
import numpy as np
from keras import ops

from layers._checks import check_choice
from layers._checks import check_positive
from layers._checks import check_positive_int
from layers._hyper_mlp import _HyperMLPMixin
from layers.encodings import cos_sin_encoding
from layers.hyper_dense import TARGET_INITS
from layers.hyper_dense import target_variance

ARCHITECTURES = ("mlp", "chunked", "recurrent")
CONDITIONINGS = ("task", "input")
KINDS = ("kernel", "bias")
OUTPUT_FORMATS = ("flat", "dict")
_EPSILON = 1e-6


def dense_specs(name, input_dim, units, use_bias=True):
    """Spec rows of one dense layer (Keras layout, kernel `(in, out)`).

    Args:
        name: str. Prefix of the parameter names.
        input_dim: int. Input size.
        units: int. Output size.
        use_bias: bool. Whether the layer has a bias.

    Returns:
        A list of spec dicts (`name`, `shape`, `kind`, `fan_in`,
        `fan_out`).

    Example:

    ```python
    layers.dense_specs("fc1", 64, 100)
    # [{'name': 'fc1/kernel', 'shape': [64, 100], 'kind': 'kernel', ...},
    #  {'name': 'fc1/bias', 'shape': [100], 'kind': 'bias', ...}]
    ```
    """
    rows = [dict(name=f"{name}/kernel", shape=[input_dim, units],
                 kind="kernel", fan_in=input_dim, fan_out=units)]
    if use_bias:
        rows.append(dict(name=f"{name}/bias", shape=[units], kind="bias",
                         fan_in=input_dim, fan_out=units))
    return rows


def conv2d_specs(name, kernel_size, in_channels, filters, use_bias=True):
    """Spec rows of one 2D convolution (Keras layout `(kh, kw, in, out)`).

    Args:
        name: str. Prefix of the parameter names.
        kernel_size: int or tuple of 2 ints.
        in_channels: int. Input channels.
        filters: int. Output channels.
        use_bias: bool. Whether the layer has a bias.

    Returns:
        A list of spec dicts; fan-in is `kh * kw * in`, fan-out
        `kh * kw * out`.

    Example:

    ```python
    layers.conv2d_specs("conv1", 3, 1, 8)[0]["shape"]  # [3, 3, 1, 8]
    ```
    """
    kh, kw = ((kernel_size, kernel_size) if isinstance(kernel_size, int)
              else tuple(kernel_size))
    rows = [dict(name=f"{name}/kernel", shape=[kh, kw, in_channels, filters],
                 kind="kernel", fan_in=kh * kw * in_channels,
                 fan_out=kh * kw * filters)]
    if use_bias:
        rows.append(dict(name=f"{name}/bias", shape=[filters], kind="bias",
                         fan_in=kh * kw * in_channels,
                         fan_out=kh * kw * filters))
    return rows


def mlp_specs(input_dim, hidden_dims, output_dim):
    """Spec table of an MLP `input_dim -> hidden_dims... -> output_dim`.

    Args:
        input_dim: int. Input size.
        hidden_dims: sequence of int. Hidden layer sizes.
        output_dim: int. Output size.

    Returns:
        A list of spec dicts, layers named `dense_0`, `dense_1`, ...

    Example:

    ```python
    specs = layers.mlp_specs(64, (100, 100), 10)
    layers.num_spec_params(specs)  # 17610
    ```
    """
    sizes = [input_dim] + list(hidden_dims) + [output_dim]
    rows = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        rows += dense_specs(f"dense_{i}", a, b)
    return rows


def normalize_specs(specs):
    """Validates a spec table and returns it as plain dicts.

    Args:
        specs: sequence of dicts with keys `name` (str, unique), `shape`
            (sequence of positive ints), `kind` (`"kernel"` or `"bias"`),
            `fan_in` and `fan_out` (positive ints).

    Returns:
        A list of dicts with `shape` as a list (JSON-serialisable).

    Example:

    ```python
    layers.normalize_specs(layers.dense_specs("fc", 4, 2))
    ```
    """
    if not isinstance(specs, (list, tuple)) or not specs:
        raise ValueError(
            "`target_specs` must be a non-empty list of dicts with keys "
            "name, shape, kind, fan_in, fan_out. "
            f"Received: target_specs={specs!r}"
        )
    out = []
    names = set()
    for i, row in enumerate(specs):
        if not isinstance(row, dict):
            raise ValueError(
                f"`target_specs[{i}]` must be a dict. Received: {row!r}"
            )
        missing = {"name", "shape", "kind", "fan_in", "fan_out"} - set(row)
        if missing:
            raise ValueError(
                f"`target_specs[{i}]` lacks keys {sorted(missing)}. "
                f"Received: {row!r}"
            )
        name = row["name"]
        if not isinstance(name, str) or not name or name in names:
            raise ValueError(
                f"`target_specs[{i}]['name']` must be a new non-empty "
                f"string. Received: {name!r}"
            )
        names.add(name)
        shape = [int(s) for s in row["shape"]]
        if not shape or any(s <= 0 for s in shape):
            raise ValueError(
                f"`target_specs[{i}]['shape']` must be positive ints. "
                f"Received: {row['shape']!r}"
            )
        check_choice(f"target_specs[{i}]['kind']", row["kind"], KINDS)
        for key in ("fan_in", "fan_out"):
            check_positive_int(f"target_specs[{i}]['{key}']",
                               int(row[key]))
        out.append(dict(name=name, shape=shape, kind=row["kind"],
                        fan_in=int(row["fan_in"]),
                        fan_out=int(row["fan_out"])))
    return out


def num_spec_params(specs):
    """Number of scalars described by a spec table.

    Args:
        specs: a spec table (see `normalize_specs`).

    Returns:
        int.

    Example:

    ```python
    layers.num_spec_params(layers.dense_specs("fc", 4, 2))  # 10
    ```
    """
    return int(sum(np.prod(row["shape"]) for row in specs))


def spec_stddevs(specs, target_init="glorot"):
    """Per-scalar standard deviation of a conventional initialisation.

    Kernels get the variance of `target_init` (see `target_variance`).
    Biases get `1 / (3 * fan_in)`, the variance of PyTorch's default bias
    initialisation: a Keras-style zero bias would give the hypernetwork
    nothing to scale (decision; hypnettorch uses the same value for its
    chunked hypernetworks).

    Args:
        specs: a spec table.
        target_init: `"glorot"`, `"he"` or `"lecun"`.

    Returns:
        A float32 numpy vector with one entry per target scalar.

    Example:

    ```python
    layers.spec_stddevs(layers.dense_specs("fc", 4, 2)).shape  # (10,)
    ```
    """
    parts = []
    for row in specs:
        if row["kind"] == "kernel":
            var = target_variance(target_init, row["fan_in"], row["fan_out"])
        else:
            var = 1.0 / (3.0 * row["fan_in"])
        parts.append(np.full(int(np.prod(row["shape"])), math.sqrt(var)))
    return np.concatenate(parts).astype("float32")


def split_params(flat, specs):
    """Splits flat parameter vectors into named tensors.

    Args:
        flat: tensor `(N,)` or `(batch, N)`, `N = num_spec_params(specs)`.
        specs: the spec table the vector was generated for.

    Returns:
        A dict `{name: tensor}` with shapes `shape` or `(batch, *shape)`.

    Example:

    ```python
    specs = layers.dense_specs("fc", 4, 2)
    params = layers.split_params(np.zeros((3, 10), "float32"), specs)
    params["fc/kernel"].shape  # (3, 4, 2)
    ```
    """
    lead = tuple(ops.shape(flat)[:-1])
    out = {}
    start = 0
    for row in specs:
        size = int(np.prod(row["shape"]))
        out[row["name"]] = ops.reshape(
            flat[..., start:start + size], lead + tuple(row["shape"])
        )
        start += size
    return out


def _check_arguments(conditioning, architecture, input_encoding, target_init,
                     output_format, num_tasks, embedding_dim, hidden_units,
                     chunk_size, chunk_embedding_dim, recurrent_units,
                     delta_scale):
    """Validates `HyperNetwork`'s arguments; returns `hidden_units`."""
    check_choice("conditioning", conditioning, CONDITIONINGS)
    check_choice("architecture", architecture, ARCHITECTURES)
    check_choice("input_encoding", input_encoding, (None, "cos_sin"))
    check_choice("target_init", target_init, TARGET_INITS)
    check_choice("output_format", output_format, OUTPUT_FORMATS)
    if conditioning == "task":
        check_positive_int("num_tasks", num_tasks)
        if input_encoding is not None:
            raise ValueError(
                "`input_encoding` applies to conditioning='input' "
                "(task embeddings are learned). Received: "
                f"input_encoding={input_encoding!r}"
            )
    elif num_tasks is not None:
        raise ValueError(
            "`num_tasks` is only used with conditioning='task'. "
            f"Received: num_tasks={num_tasks!r}"
        )
    check_positive_int("embedding_dim", embedding_dim)
    hidden_units = tuple(int(u) for u in (hidden_units or ()))
    for i, u in enumerate(hidden_units):
        check_positive_int(f"hidden_units[{i}]", u)
    if architecture == "mlp":
        if chunk_size is not None:
            raise ValueError(
                "`chunk_size` is not used by architecture='mlp'. "
                f"Received: chunk_size={chunk_size!r}"
            )
    else:
        check_positive_int("chunk_size", chunk_size)
    if architecture == "chunked":
        check_positive_int("chunk_embedding_dim", chunk_embedding_dim)
        if not hidden_units:
            raise ValueError(
                "architecture='chunked' needs at least one hidden "
                "layer in `hidden_units`. Received: hidden_units=()"
            )
    if architecture == "recurrent":
        check_positive_int("recurrent_units", recurrent_units)
        if chunk_embedding_dim != 0:
            check_positive_int("chunk_embedding_dim", chunk_embedding_dim)
    check_positive("delta_scale", delta_scale)
    return hidden_units


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperNetwork(_HyperMLPMixin, keras.layers.Layer):
    """Generates the full parameter set of a target network.

    The target is given as a spec table (see `mlp_specs`, `dense_specs`,
    `conv2d_specs`); the layer maps a condition to one flat vector of
    `num_target_params` scalars, returned flat or split into the named
    tensors, which functional target layers (`FunctionalDense`,
    `FunctionalConv2D`) use as weights.

    Conditioning (`conditioning`):
    - `"task"`: a table of `num_tasks` learned task embeddings, drawn from
      N(0, 1). Call with integer task ids of shape `(batch,)` for one
      weight set per sample, or a scalar id (shape `()`) for one shared
      set without a batch axis (the usual continual-learning step). A
      batch of ids is served by generating the weights of every task once
      and gathering, so the cost grows with `num_tasks`, not the batch.
    - `"input"`: a per-sample float condition `(batch, condition_dim)`
      (or `(condition_dim,)` for one shared set), optionally encoded by
      MIP's constant-norm `input_encoding="cos_sin"` (values in [0, 1]).

    Architectures (`architecture`):
    - `"mlp"`: condition -> hidden layers -> one head emitting all `N`
      values at once (von Oswald et al.'s HMLP).
    - `"chunked"`: a learned chunk embedding per chunk is concatenated to
      the condition; a shared MLP and head emit `chunk_size` values per
      chunk; `ceil(N / chunk_size)` chunks, surplus dropped (ChunkedHMLP).
    - `"recurrent"`: an LSTM (`recurrent_units`) runs over the chunks in
      order with the condition (and, if `chunk_embedding_dim > 0`, a
      chunk embedding) as its input at every step; a shared head maps
      each hidden state to a chunk. The state carries dependencies from
      one chunk (and layer) to the next, with few parameters (Chandra et
      al.'s dependency-preserving hypernetwork; their code is not public,
      so the details here are our decisions).
    For `"chunked"` and `"recurrent"` the features entering the shared
    head are centred over the chunks of a condition and divided by their
    root mean square (over chunks and units). Decision: centring as in
    `HyperDense` (without it chunked generation collapsed in our digits
    runs); the RMS division because the spread of LSTM states across
    chunks is small and depends on the state dynamics (at initialisation
    it was 0.002-0.006 in mean square), so no fixed head scale fits it.

    Initialisation (hyperfan by output scaling, a decision): the output
    head is initialised so that its raw outputs have unit variance
    (hidden layers He-normal keep the features' mean square for the MLP;
    chunk features are normalised to mean square 1), and the raw vector is
    multiplied element-wise by the standard deviation each target scalar
    would have under a conventional initialisation (`spec_stddevs`:
    Glorot for kernels by default). This gives every tensor its
    hyperfan-in variance with one shared head, which is what chunked and
    recurrent heads need (one head serves tensors of different fan-in).

    MIP: `residual=True` adds independent parameters `theta0` (a flat
    vector initialised like the target itself: N(0, std^2) kernels, zero
    biases) and the generated part starts `delta_scale` times smaller:
    `theta = theta0 + delta_scale_init * std * raw`. `input_encoding`
    gives the constant-norm input encoding.

    Precision: the hypernetwork runs in float32 (its variables are not
    autocast); the output is cast to the compute dtype. `generate()`
    returns float32.

    Args:
        target_specs: list of spec dicts (`name`, `shape`, `kind` in
            `{"kernel", "bias"}`, `fan_in`, `fan_out`), Keras layout.
        conditioning: `"task"` or `"input"`. Defaults to `"task"`.
        num_tasks: int. Size of the task-embedding table (`"task"` only).
        embedding_dim: int. Task embedding size. Defaults to `8`.
        architecture: `"mlp"`, `"chunked"` or `"recurrent"`.
        hidden_units: tuple of int. Hidden sizes of the MLP (`"mlp"`,
            `"chunked"`; after the LSTM for `"recurrent"`). Defaults to
            `(100, 100)`.
        chunk_size: int. Values per chunk (`"chunked"`, `"recurrent"`).
        chunk_embedding_dim: int. Chunk embedding size; `0` is allowed
            for `"recurrent"` (no chunk embeddings). Defaults to `8`.
        recurrent_units: int. LSTM size (`"recurrent"`). Defaults to `64`.
        input_encoding: `None` or `"cos_sin"` (`"input"` only).
        residual: bool. MIP residual `theta0`. Defaults to `False`.
        delta_scale: float. Initial size of the generated part relative to
            the target std when `residual=True`. Defaults to `0.1`.
        target_init: `"glorot"`, `"he"` or `"lecun"` (kernel variance).
        hyper_activation: activation of the hidden layers. Defaults to
            `"relu"`.
        output_format: `"flat"` (one tensor `(batch, N)`) or `"dict"`
            (`{name: (batch, *shape)}`). Defaults to `"dict"`.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        condition: task ids `(batch,)` / scalar, or float conditions
            `(batch, condition_dim)` / `(condition_dim,)`.

    Example:

    ```python
    specs = layers.mlp_specs(64, (100, 100), 10)
    hnet = layers.HyperNetwork(specs, num_tasks=5, architecture="chunked",
                               chunk_size=1000)
    params = hnet(np.array(2))  # one weight set, no batch axis
    params["dense_0/kernel"].shape  # (64, 100)
    hnet.compression_ratio  # < 1: fewer hypernet than target parameters
    ```

    Reference:
    - [von Oswald et al., 2020](https://arxiv.org/abs/1906.00695),
      "Continual learning with hypernetworks".
    - [Chandra et al., 2023](https://arxiv.org/abs/2209.07712),
      "Continual Learning with Dependency Preserving Hypernetworks".
    - [Chang et al., 2020](https://openreview.net/forum?id=H1lma24tPB),
      "Principled Weight Initialization for Hypernetworks".
    - [Ortiz et al., 2024](https://arxiv.org/abs/2304.07645),
      "Magnitude Invariant Parametrizations Improve Hypernetwork Learning".
    """

    def __init__(
        self,
        target_specs,
        conditioning="task",
        num_tasks=None,
        embedding_dim=8,
        architecture="mlp",
        hidden_units=(100, 100),
        chunk_size=None,
        chunk_embedding_dim=8,
        recurrent_units=64,
        input_encoding=None,
        residual=False,
        delta_scale=0.1,
        target_init="glorot",
        hyper_activation="relu",
        output_format="dict",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.target_specs = normalize_specs(target_specs)
        hidden_units = _check_arguments(
            conditioning, architecture, input_encoding, target_init,
            output_format, num_tasks, embedding_dim, hidden_units,
            chunk_size, chunk_embedding_dim, recurrent_units, delta_scale,
        )
        self.conditioning = conditioning
        self.num_tasks = num_tasks
        self.embedding_dim = embedding_dim
        self.architecture = architecture
        self.hidden_units = hidden_units
        self.chunk_size = chunk_size
        self.chunk_embedding_dim = int(chunk_embedding_dim)
        self.recurrent_units = int(recurrent_units)
        self.input_encoding = input_encoding
        self.residual = bool(residual)
        self.delta_scale = float(delta_scale)
        self.target_init = target_init
        self.hyper_activation = keras.activations.get(hyper_activation)
        self.output_format = output_format
        self.seed = seed
        self.num_target_params = num_spec_params(self.target_specs)
        self._stddevs = spec_stddevs(self.target_specs, target_init)
        self.num_chunks = (
            None if architecture == "mlp"
            else math.ceil(self.num_target_params / chunk_size)
        )
        self.condition_dim = None
        self.lstm = None
        if architecture == "recurrent":
            self.lstm = keras.layers.LSTM(
                self.recurrent_units,
                return_sequences=True,
                kernel_initializer=keras.initializers.GlorotUniform(
                    None if seed is None else seed + 20),
                recurrent_initializer=keras.initializers.Orthogonal(
                    seed=None if seed is None else seed + 21),
                dtype="float32",
                name="lstm",
            )

    # ------------------------------------------------------------------
    def build(self, condition_shape):
        if self.conditioning == "task":
            self.task_embeddings = self._weight(
                "task_embeddings", (self.num_tasks, self.embedding_dim),
                self._initializer("normal", 0),
            )
        elif not condition_shape or condition_shape[-1] is None:
            raise ValueError(
                "conditioning='input' needs a condition with a known "
                f"last axis. Received: condition_shape={condition_shape}"
            )
        else:
            self.condition_dim = int(condition_shape[-1])
        z_dim, z_sq = self._condition_features()
        h_dim, h_sq = z_dim, z_sq
        if self.architecture != "mlp" and self.chunk_embedding_dim:
            h_dim, h_sq = self._build_chunk_embeddings(z_dim, z_sq)
        if self.architecture == "recurrent":
            self.lstm.build((None, self.num_chunks, h_dim))
            h_dim = self.recurrent_units
        self.hidden_kernels, self.hidden_biases, h_dim = self._build_mlp(
            "hidden", h_dim, self.hidden_units
        )
        if self.architecture != "mlp":
            h_sq = 1.0  # normalised chunk features (see the docstring)
        out = (self.num_target_params if self.architecture == "mlp"
               else self.chunk_size)
        raw_var = self.delta_scale**2 if self.residual else 1.0
        self.head_kernel = self._weight(
            "head_kernel", (h_dim, out),
            self._initializer("normal", 2,
                              math.sqrt(raw_var / (h_dim * h_sq))),
        )
        self.head_bias = self._weight("head_bias", (out,), "zeros")
        if self.residual:
            self._build_theta0()
        self.built = True

    def _build_theta0(self):
        """MIP's `theta0`: N(0, std²) kernels, zero biases (seeded)."""
        theta0 = self._stddevs * np.array(
            [row["kind"] == "kernel" for row in self.target_specs
             for _ in range(int(np.prod(row["shape"])))], "float32")
        seed = None if self.seed is None else self.seed + 3

        def theta0_init(shape, dtype=None):
            noise = keras.random.normal(shape, seed=seed)
            return ops.multiply(noise, theta0)

        self.theta0 = self._weight(
            "theta0", (self.num_target_params,), theta0_init
        )

    # ------------------------------------------------------------------
    def _embed(self, condition):
        """Condition -> (n, z_dim) float32 features and whether batched."""
        if self.conditioning == "task":
            ids = ops.cast(condition, "int32")
            batched = len(ids.shape) >= 1
            if batched:
                if len(ids.shape) != 1:
                    raise ValueError(
                        "Task ids must have shape (batch,) or () . "
                        f"Received: condition.shape={ids.shape}"
                    )
                return ops.convert_to_tensor(self.task_embeddings), True
            return ops.take(self.task_embeddings, ids[None], axis=0), False
        z = ops.cast(condition, "float32")
        batched = len(z.shape) >= 2
        if len(z.shape) not in (1, 2):
            raise ValueError(
                "An input condition must have shape (batch, condition_dim) "
                f"or (condition_dim,). Received: condition.shape={z.shape}"
            )
        if not batched:
            z = z[None]
        if self.input_encoding == "cos_sin":
            z = cos_sin_encoding(z)
        return z, batched

    def _hidden(self, h):
        return self._run_mlp(h, self.hidden_kernels, self.hidden_biases)

    def generate_from_features(self, z):
        """Flat float32 weights `(n, N)` for condition features `(n, d)`.

        Args:
            z: float tensor `(n, d)`: task embeddings, or the (encoded)
                input conditions.

        Returns:
            A float32 tensor `(n, num_target_params)`.
        """
        if self.architecture == "mlp":
            h = self._hidden(z)
            raw = ops.add(ops.matmul(h, self.head_kernel), self.head_bias)
        else:
            h = self._chunk_inputs(z)
            if self.architecture == "recurrent":
                h = self.lstm(h)
            h = self._hidden(h)
            h = ops.subtract(h, ops.mean(h, axis=1, keepdims=True))
            rms = ops.sqrt(ops.add(
                ops.mean(ops.square(h), axis=(1, 2), keepdims=True),
                _EPSILON,
            ))
            h = ops.divide(h, rms)
            raw = self._chunks_to_flat(h, self.head_kernel, self.head_bias,
                                       self.num_target_params)
        flat = ops.multiply(raw, ops.convert_to_tensor(self._stddevs))
        if self.residual:
            flat = ops.add(flat, self.theta0)
        return flat

    def generate(self, condition):
        """Generated parameters as one float32 flat tensor.

        Args:
            condition: as for `call`.

        Returns:
            `(batch, N)` for a batched condition, `(N,)` for a single one.

        Example:

        ```python
        flat = hnet.generate(np.arange(3))  # (3, hnet.num_target_params)
        ```
        """
        if not self.built:
            self.build(tuple(ops.shape(condition)))
        z, batched = self._embed(condition)
        flat = self.generate_from_features(z)
        if self.conditioning == "task" and batched:
            ids = ops.cast(condition, "int32")
            return ops.take(flat, ids, axis=0)
        return flat if batched else flat[0]

    def generate_all_tasks(self):
        """Flat float32 weights of every task, `(num_tasks, N)`.

        Example:

        ```python
        hnet.generate_all_tasks().shape  # (num_tasks, N)
        ```
        """
        if self.conditioning != "task":
            raise ValueError(
                "generate_all_tasks() needs conditioning='task'. "
                f"Received: conditioning={self.conditioning!r}"
            )
        if not self.built:
            self.build(())
        return self.generate_from_features(
            ops.convert_to_tensor(self.task_embeddings)
        )

    def split(self, flat):
        """Splits flat weights into `{name: tensor}` (see `split_params`)."""
        return split_params(flat, self.target_specs)

    @property
    def compression_ratio(self):
        """Hypernetwork parameters divided by target parameters."""
        if not self.built:
            raise ValueError(
                "compression_ratio needs a built HyperNetwork; call it or "
                "`build()` first."
            )
        return self.count_params() / self.num_target_params

    def call(self, condition):
        flat = ops.cast(self.generate(condition), self.compute_dtype)
        if self.output_format == "flat":
            return flat
        return self.split(flat)

    def compute_output_shape(self, condition_shape):
        task = self.conditioning == "task"
        batched = len(condition_shape) >= (1 if task else 2)
        lead = (condition_shape[0],) if batched else ()
        if self.output_format == "flat":
            return lead + (self.num_target_params,)
        return {row["name"]: lead + tuple(row["shape"])
                for row in self.target_specs}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "target_specs": [dict(row) for row in self.target_specs],
                "conditioning": self.conditioning,
                "num_tasks": self.num_tasks,
                "embedding_dim": self.embedding_dim,
                "architecture": self.architecture,
                "hidden_units": list(self.hidden_units),
                "chunk_size": self.chunk_size,
                "chunk_embedding_dim": self.chunk_embedding_dim,
                "recurrent_units": self.recurrent_units,
                "input_encoding": self.input_encoding,
                "residual": self.residual,
                "delta_scale": self.delta_scale,
                "target_init": self.target_init,
                "hyper_activation": keras.activations.serialize(
                    self.hyper_activation
                ),
                "output_format": self.output_format,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperOutputRegularizer(keras.layers.Layer):
    """Continual-learning output regulariser of a task-conditioned hypernet.

    Holds the weights the hypernetwork generated for earlier tasks
    (non-trainable `targets`, one row per task, and a 0/1 `stored` mask)
    and, called on the weights the hypernetwork generates now for every
    task, returns

        beta / |S| * sum_{t in S} || f_h(e_t) - target_t ||^2

    over the stored tasks S (von Oswald et al.; the look-ahead term of the
    paper is left out, as in hypnettorch). Targets are written with
    `store()` before a new task begins, from a snapshot computed without
    gradients. Task embeddings of old tasks stay trainable (hypnettorch's
    default); the penalty keeps their outputs in place.

    Args:
        num_tasks: int. Number of task rows.
        num_params: int. Size of one flat weight vector.
        beta: float >= 0. Strength. Defaults to `0.01`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        generated: float tensor `(num_tasks, num_params)`.

    Example:

    ```python
    reg = layers.HyperOutputRegularizer(num_tasks=3, num_params=10)
    reg.store(0, np.zeros(10, "float32"))
    penalty = reg(np.ones((3, 10), "float32"))  # 0.01 * 10
    ```

    Reference:
    - [von Oswald et al., 2020](https://arxiv.org/abs/1906.00695),
      "Continual learning with hypernetworks".
    """

    def __init__(self, num_tasks, num_params, beta=0.01, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("num_tasks", num_tasks)
        check_positive_int("num_params", num_params)
        if not beta >= 0:
            raise ValueError(f"`beta` must be >= 0. Received: beta={beta!r}")
        self.num_tasks = num_tasks
        self.num_params = num_params
        self.beta = float(beta)
        self.targets = self.add_weight(
            name="targets", shape=(num_tasks, num_params),
            initializer="zeros", trainable=False, autocast=False,
        )
        self.stored = self.add_weight(
            name="stored", shape=(num_tasks,), initializer="zeros",
            trainable=False, autocast=False,
        )
        self.built = True

    def build(self, generated_shape):
        self.built = True

    def store(self, task_id, values):
        """Stores the target weights of one task (eagerly).

        Args:
            task_id: int in `[0, num_tasks)`.
            values: array `(num_params,)`, the weights the hypernetwork
                generates for that task now.
        """
        if not 0 <= int(task_id) < self.num_tasks:
            raise ValueError(
                f"`task_id` must be in [0, {self.num_tasks}). "
                f"Received: task_id={task_id!r}"
            )
        values = np.asarray(ops.convert_to_numpy(values), "float32")
        if values.shape != (self.num_params,):
            raise ValueError(
                f"`values` must have shape ({self.num_params},). "
                f"Received: values.shape={values.shape}"
            )
        targets = np.array(ops.convert_to_numpy(self.targets))
        stored = np.array(ops.convert_to_numpy(self.stored))
        targets[int(task_id)] = values
        stored[int(task_id)] = 1.0
        self.targets.assign(targets)
        self.stored.assign(stored)

    def stored_tasks(self):
        """Sorted list of task ids with stored targets."""
        stored = ops.convert_to_numpy(self.stored)
        return [int(i) for i in np.flatnonzero(stored > 0.5)]

    def call(self, generated):
        g = ops.cast(generated, "float32")
        sq = ops.sum(ops.square(ops.subtract(g, self.targets)), axis=-1)
        count = ops.maximum(ops.sum(self.stored), 1.0)
        penalty = ops.divide(ops.sum(ops.multiply(sq, self.stored)), count)
        return ops.cast(ops.multiply(penalty, self.beta), self.compute_dtype)

    def compute_output_shape(self, generated_shape):
        return ()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_tasks": self.num_tasks,
                "num_params": self.num_params,
                "beta": self.beta,
            }
        )
        return config
