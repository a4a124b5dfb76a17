"""The shared test harness every hyperzoo layer and model goes through.

`run_layer_test` and `run_model_test` bundle the checks of the
Foundation issue: config round trip with equal `dir()`, build from shape
with exact weight counts, symbolic call against `compute_output_shape`,
golden outputs stored as `.npz` (identical on every backend), a gradient
for every trainable weight and one training step that moves it, `.keras`
save and safe-mode load, mixed precision policies, jit-compiled training
and batch independence (a sample's output does not depend on the other
samples of its batch).

Gradient check ("every weight is trained"), free of float noise:

- The exact gradient of the training loss (the one `train_step`
  differentiates) is computed on the current backend
  (`tests/grad_audit.py:weight_gradients`). For each trainable weight,
  `r = max|g_w| / max|g_v|` where `v` runs over the weights of the same
  layer (same path minus the last component; a weight alone in its layer
  is compared with the nearest enclosing layer holding two or more, at
  the top with the whole model; `grad_audit.local_relative_gradients`).
- Every weight must have `r >= GRAD_REL_TOL = 1e-5`, except weights
  declared structurally zero (`zero_grad_weights={path regex: reason}` in
  a layer case or `ModelSpec`), which must have `r < GRAD_REL_TOL`.
- Why 1e-5, measured with `python -m tests.grad_audit` on jax,
  tensorflow and torch (AMD EPYC, keras 3.15.1): gradients that vanish
  in exact arithmetic (a key bias before the softmax, a projection bias
  before a shift-invariant head) came out at r <= 1.8e-7 (rounding
  noise, 57x below the tolerance); real gradients at r >= 1.8e-4 (18x
  above; the smallest are Terminator kernel-net weights, outside it
  4e-4). Relative to the model's largest gradient instead, real
  gradients of deep Terminator kernels went down to 4.6e-7 while noise
  reached 3e-8, too close for one tolerance: noise scales with the
  gradient entering the layer, which its sibling weights share.
- Then one Adam(1e-3) step (`fit`, eagerly and jit-compiled as below)
  must keep every weight finite and move each weight with a real
  gradient: Adam's first step moves an element by
  `lr * g / (|g| + eps / sqrt(1 - beta_2))`, `eps / sqrt(1 - beta_2) =
  3.2e-6`, so a weight whose audited `max|g| >= MOVE_MIN_GRAD = 1e-4`
  must have `max|w_after - w_before| >= 0.1 * lr` (its largest-gradient
  element moves by at least 0.97 lr). Smaller gradients are covered by
  the gradient check only.

Batch independence: for registry models, `predict(x)[i]` equals
`predict(x[i:i+1])` for every sample of the example batch of 8 and
`predict(x[perm])` equals `predict(x)[perm]`, within `BATCH_ATOL = 1e-4`
(float32; every output of a tuple or dict output). Layer cases check the
per-sample part with eager calls: inputs whose first axis has the first
input's batch size are sliced, the others passed whole; a case whose
first axis is not a batch opts out with `not_batched="reason"`.

Goldens: `tests/golden/<name>.npz` holds the inputs, every weight (in
`model.weights` order) and the expected outputs, produced once by
`scripts/make_goldens.py`. The weights are drawn with numpy, not with the
layer's initialisers (those differ across backends), and loaded with
`set_weights`, so the comparison isolates the forward computation.
"""

import json
import os
import re

import keras
import numpy as np
from keras import ops

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "golden")
BACKEND = keras.backend.backend()
# Policies checked on every backend. float16 matmuls run on CPU on all
# three backends (checked in conventions.md section 2), so none is skipped.
MIXED_POLICIES = ("mixed_bfloat16", "mixed_float16")
JIT_BACKENDS = ("tensorflow", "jax")
# Eager (non-jit) training is checked where it is a real code path; on JAX
# "eager" compiles every op separately, which costs minutes and tests
# nothing that the jit run does not.
EAGER_JIT = BACKEND == "jax"
GOLDEN_ATOL = 1e-5
GOLDEN_RTOL = 1e-5
# See the module docstring for how these were chosen.
GRAD_REL_TOL = 1e-5
LEARNING_RATE = 1e-3
MOVE_MIN_GRAD = 1e-4
MOVE_MIN_STEP = 0.1 * LEARNING_RATE
# Global seed set before a layer case's model is built for the training
# step. Cases without a `seed` argument otherwise start from whatever
# Keras's unseeded global generator gives, and some gradients exist only
# for some initial weights: in `hyper_network_input_chunked_mip` the
# hidden bias acts only through ReLU units that change sign across the
# chunks of a sample (the features are then centred over the chunks), so
# an unlucky draw makes it structurally zero (1 draw in 100 on jax, global
# seeds 0-99: r = 2.6e-8; seed 0: r = 2.5e-2) and a CI run failed on it.
LAYER_SEED = 0
BATCH_ATOL = 1e-4


def to_numpy(x):
    """Converts a backend tensor (or a structure of them) to numpy."""
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_numpy(v) for v in x)
    return np.asarray(ops.convert_to_numpy(x))


# ----------------------------------------------------------------------
# Serialization
# ----------------------------------------------------------------------
def _strip(config):
    """Drops compile and build state (as keras-hub presets do)."""
    if isinstance(config, dict):
        return {
            k: _strip(v)
            for k, v in config.items()
            if k not in ("compile_config", "build_config")
        }
    if isinstance(config, list):
        return [_strip(v) for v in config]
    return config


def run_serialization_test(obj):
    """Config and serialize round trips give equal JSON and equal dir()."""
    config = obj.get_config()
    revived = type(obj).from_config(config)
    original_json = json.dumps(config, sort_keys=True, default=str)
    revived_json = json.dumps(
        revived.get_config(), sort_keys=True, default=str
    )
    assert original_json == revived_json
    serialized = _strip(keras.saving.serialize_keras_object(obj))
    assert serialized["registered_name"].startswith("hyperzoo>"), (
        f"{type(obj).__name__} is not registered under package 'hyperzoo': "
        f"{serialized['registered_name']}"
    )
    revived2 = keras.saving.deserialize_keras_object(serialized)
    assert json.dumps(
        _strip(keras.saving.serialize_keras_object(revived2)),
        sort_keys=True,
        default=str,
    ) == json.dumps(serialized, sort_keys=True, default=str)
    missing = set(dir(obj)) ^ set(dir(revived))
    assert not missing, f"Attributes differ after from_config: {missing}"
    return revived


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------
def make_inputs(spec, rng):
    """Draws the numpy inputs described by a layer case.

    Args:
        spec: dict `{name: (dtype, shape, low, high)}` in call order; ints
            are drawn from `[low, high)`, floats uniformly in `[low, high)`.
        rng: a `numpy.random.Generator`.

    Returns:
        A dict of arrays in the same order.
    """
    out = {}
    for name, (dtype, shape, low, high) in spec.items():
        if "int" in dtype:
            out[name] = rng.integers(low, high, shape).astype(dtype)
        else:
            out[name] = rng.uniform(low, high, shape).astype(dtype)
    return out


def call_layer(layer, inputs):
    """Calls `layer` with the first input positional, the rest by name."""
    names = list(inputs)
    return layer(inputs[names[0]], **{n: inputs[n] for n in names[1:]})


def _layer_model(layer_fn, inputs, seed=LAYER_SEED):
    # Fixed shapes (batch included): functional target layers take
    # unbatched kernels, which a `shape=` Input would give a batch axis.
    # Seeded: a case without a `seed` argument draws its initial weights
    # from Keras's global generator, and the gradient check must see the
    # same weights on every run and every machine (see LAYER_SEED).
    keras.utils.set_random_seed(seed)
    sym = {
        name: keras.Input(batch_shape=v.shape, dtype=str(v.dtype), name=name)
        for name, v in inputs.items()
    }
    layer = layer_fn()
    return keras.Model(list(sym.values()), call_layer(layer, sym)), layer


def check_gradients(model, x, y, zero_grad_weights=None, context=""):
    """Every weight gets a real gradient, or a declared structural zero.

    See the module docstring for the criterion and its tolerance.

    Args:
        model: a compiled `keras.Model`.
        x: numpy inputs of one training batch.
        y: numpy targets.
        zero_grad_weights: dict `{path regex: reason}` or `None`.
        context: str added to failure messages.

    Returns:
        The list of `(path, max|g|)` from `grad_audit.weight_gradients`.
    """
    from tests import grad_audit

    gradients = grad_audit.weight_gradients(model, x, y)
    dead, noisy, unused = [], [], set(zero_grad_weights or {})
    for path, g, _, local, ref in grad_audit.local_relative_gradients(
            gradients):
        reason = grad_audit.declared_zero(path, zero_grad_weights)
        if reason is None:
            if local < GRAD_REL_TOL:
                dead.append(f"{path} (max|g|={g:.2e}, {local:.2e} of "
                            f"{ref or 'the model'}'s largest)")
            continue
        unused -= {p for p in unused if re.search(p, path)}
        if local >= GRAD_REL_TOL:
            noisy.append(f"{path} (max|g|={g:.2e}, {local:.2e} of "
                         f"{ref or 'the model'}'s largest)")
    assert not dead, (
        f"No gradient reaches {context}: {dead} (below {GRAD_REL_TOL:g} "
        "of the largest gradient of the same layer; remove the parameter "
        "or declare it in zero_grad_weights with the reason)"
    )
    assert not noisy, (
        f"Declared structurally zero but trained {context}: {noisy}"
    )
    assert not unused, f"zero_grad_weights patterns match nothing: {unused}"
    return gradients


def _check_training_step(model, x, y, fit_fn, zero_grad_weights, context):
    """Gradient check, then one `fit` step moves the weights it should."""
    gradients = check_gradients(model, x, y, zero_grad_weights, context)
    before = [to_numpy(w).copy() for w in model.trainable_weights]
    fit_fn()
    still = []
    for w, b, (_, g) in zip(model.trainable_weights, before, gradients):
        after = to_numpy(w)
        assert np.all(np.isfinite(after)), f"{w.path} is not finite"
        step = float(np.max(np.abs(after.astype("float64") - b)))
        if g >= MOVE_MIN_GRAD and step < MOVE_MIN_STEP:
            still.append(f"{w.path} (max|g|={g:.2e}, max|dw|={step:.2e})")
    assert not still, (
        f"One Adam({LEARNING_RATE:g}) step moved these weights by less than "
        f"{MOVE_MIN_STEP:g} {context}: {still}"
    )


def build_under_policy(policy, build):
    """`build()` under the global dtype policy `policy`, then restored.

    Args:
        policy: str. A dtype policy name, e.g. `"mixed_bfloat16"`.
        build: callable with no arguments returning a model.

    Returns:
        What `build()` returns.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        return build()
    finally:
        keras.config.set_dtype_policy(previous)


def build_tiny(spec):
    """`spec.build_tiny(0)` after seeding Keras's global generator.

    Weights a tiny model does not seed itself (a Keras default
    initialiser, say) are then the same on every run (see `LAYER_SEED`).
    """
    keras.utils.set_random_seed(LAYER_SEED)
    return spec.build_tiny(0)


def _flat_outputs(out):
    return [np.asarray(v) for v in keras.tree.flatten(to_numpy(out))]


def _assert_outputs_close(actual, expected, message):
    actual, expected = _flat_outputs(actual), _flat_outputs(expected)
    assert len(actual) == len(expected), message
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=0, atol=BATCH_ATOL,
                                   err_msg=message)


def check_batch_independence(model, x):
    """`predict` per sample and on a shuffled batch match the full batch.

    Args:
        model: a `keras.Model`.
        x: numpy inputs (array or dict of arrays, all batched).
    """
    full = model.predict(x, verbose=0)
    n = len(keras.tree.flatten(x)[0])
    for i in range(n):
        single = model.predict(
            keras.tree.map_structure(lambda v: v[i:i + 1], x), verbose=0
        )
        _assert_outputs_close(
            single,
            keras.tree.map_structure(lambda v: v[i:i + 1], full),
            f"predict(x[{i}:{i + 1}]) differs from predict(x)[{i}]: the "
            "output depends on the other samples of the batch",
        )
    perm = np.random.default_rng(0).permutation(n)
    shuffled = model.predict(
        keras.tree.map_structure(lambda v: v[perm], x), verbose=0
    )
    _assert_outputs_close(
        shuffled, keras.tree.map_structure(lambda v: v[perm], full),
        "predict(x[perm]) differs from predict(x)[perm]",
    )


def check_layer_batch_independence(layer, inputs):
    """A layer's output for sample `i` does not depend on the others.

    Inputs whose first axis has the first input's size are sliced to
    `[i:i+1]`; the others (unbatched or broadcast) are passed whole.

    Args:
        layer: a built layer.
        inputs: dict of numpy inputs in call order.
    """
    values = list(inputs.values())
    n = values[0].shape[0]
    full = to_numpy(call_layer(layer, inputs))
    for i in range(n):
        part = {
            k: v[i:i + 1] if v.ndim and v.shape[0] == n else v
            for k, v in inputs.items()
        }
        _assert_outputs_close(
            call_layer(layer, part), full[i:i + 1],
            f"sample {i} alone differs from sample {i} in the batch",
        )


def _regression_target(output, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=output.shape).astype("float32")


def load_golden(name):
    """Loads `tests/golden/<name>.npz` as a dict of arrays."""
    path = os.path.join(GOLDEN_DIR, f"{name}.npz")
    assert os.path.isfile(path), (
        f"Golden file {path} is missing; run scripts/make_goldens.py"
    )
    with np.load(path, allow_pickle=False) as data:
        golden = {k: data[k] for k in data.files}
    # A NaN golden would compare equal to NaN outputs and check nothing.
    for out in keras.tree.flatten(golden["output"]):
        assert np.all(np.isfinite(out)), f"Golden {name} is not finite"
    return golden


def golden_inputs(golden):
    """Inputs stored in a golden file, as the model expects them."""
    keys = sorted(k for k in golden if k.startswith("input/"))
    names = [k.split("/", 1)[1] for k in keys]
    if names == ["x"]:
        return golden["input/x"]
    return {n: golden[f"input/{n}"] for n in names}


def golden_weights(golden):
    """Weights stored in a golden file, in `model.weights` order."""
    count = len([k for k in golden if k.startswith("weight/")])
    return [golden[f"weight/{i:04d}"] for i in range(count)]


# ----------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------
def run_layer_test(
    layer_cls,
    init_kwargs,
    inputs,
    expected_output_shape,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights=0,
    expected_trainable_params=None,
    golden=None,
    tmp_path=None,
    zero_grad_weights=None,
    not_batched=None,
):
    """Runs every harness check on a layer.

    Args:
        layer_cls: the layer class.
        init_kwargs: dict of constructor arguments.
        inputs: dict `{argument name: numpy array}` in call order. The
            first is passed positionally, the others by name; `build` and
            `compute_output_shape` get the shapes positionally in the
            same order (the Keras convention).
        expected_output_shape: tuple, output shape for these inputs.
        expected_num_trainable_weights: int, exact count of trainable
            variables after `build`.
        expected_num_non_trainable_weights: int, same for the others.
        expected_trainable_params: int or None, total trainable scalars.
        golden: str or None, name of the golden file to compare with.
        tmp_path: a `pathlib.Path` for the `.keras` file.
        zero_grad_weights: dict `{path regex: reason}` of trainable
            weights whose gradient is zero by construction (module
            docstring), or `None`.
        not_batched: str or `None`. Why the first input axis is not a
            batch of independent samples (skips the per-sample check).
    """
    shapes = [tuple(v.shape) for v in inputs.values()]

    # 1. Serialization.
    layer = layer_cls(**init_kwargs)
    run_serialization_test(layer)

    # 2. Build from shape: exact weight counts.
    layer = layer_cls(**init_kwargs)
    layer.build(*shapes)
    assert layer.built
    assert len(layer.trainable_weights) == expected_num_trainable_weights, (
        [w.path for w in layer.trainable_weights]
    )
    assert (
        len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    ), [w.path for w in layer.non_trainable_weights]
    if expected_trainable_params is not None:
        n = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        assert n == expected_trainable_params, n

    # 3. Symbolic call matches compute_output_shape.
    layer = layer_cls(**init_kwargs)
    symbolic = {
        n: keras.KerasTensor(v.shape, dtype=str(v.dtype))
        for n, v in inputs.items()
    }
    ky = call_layer(layer, symbolic)
    assert tuple(ky.shape) == tuple(expected_output_shape)
    assert tuple(layer.compute_output_shape(*shapes)) == tuple(ky.shape)
    assert ky.dtype == layer.compute_dtype

    # 4. Eager call.
    layer = layer_cls(**init_kwargs)
    y = to_numpy(call_layer(layer, inputs))
    assert y.shape == tuple(expected_output_shape)
    assert np.all(np.isfinite(y))

    # 4b. Batch independence of the eager call.
    if not_batched is None:
        check_layer_batch_independence(layer, inputs)

    # 5. Golden outputs.
    if golden is not None:
        run_layer_golden_test(layer_cls, init_kwargs, golden)

    # 6-7. Every trainable weight gets a gradient (or is declared
    # structurally zero) and one training step moves it, eagerly
    # (tensorflow, torch) and jit-compiled (tensorflow, jax). Layers
    # without weights (functional target layers) skip this step.
    data = list(inputs.values())
    target = _regression_target(y)
    modes = [EAGER_JIT]
    if BACKEND in JIT_BACKENDS and not EAGER_JIT:
        modes.append(True)
    for jit in modes if expected_num_trainable_weights else ():
        model, _ = _layer_model(lambda: layer_cls(**init_kwargs), inputs)
        # Adam, not SGD: its first step moves an element by about lr
        # whatever the gradient's size (module docstring); an SGD step on
        # a small gradient can fall below float32 resolution.
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                      loss="mse", jit_compile=jit)
        _check_training_step(
            model, data, target,
            lambda: model.fit(data, target, batch_size=len(y), epochs=1,
                              verbose=0, shuffle=False),
            zero_grad_weights, f"(jit={jit})",
        )

    # 8. .keras save and safe-mode load give identical outputs.
    if tmp_path is not None:
        model, _ = _layer_model(lambda: layer_cls(**init_kwargs), inputs)
        expected = to_numpy(model(data))
        path = os.path.join(str(tmp_path), "layer.keras")
        model.save(path)
        restored = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_array_equal(to_numpy(restored(data)), expected)

    # 9. Mixed precision.
    for policy in MIXED_POLICIES:
        run_layer_precision_test(layer_cls, init_kwargs, inputs, policy)


def run_case(name, case, tmp_path=None):
    """Runs `run_layer_test` on a case of `tests/cases.py:LAYER_CASES`."""
    import layers

    run_layer_test(
        getattr(layers, case["layer"]),
        case["init_kwargs"],
        make_inputs(case["inputs"], np.random.default_rng(0)),
        expected_output_shape=case["output_shape"],
        expected_num_trainable_weights=case["num_trainable"],
        expected_num_non_trainable_weights=case.get("num_non_trainable", 0),
        expected_trainable_params=case.get("trainable_params"),
        golden=name,
        tmp_path=tmp_path,
        zero_grad_weights=case.get("zero_grad_weights"),
        not_batched=case.get("not_batched"),
    )


def run_layer_precision_test(layer_cls, init_kwargs, inputs, policy):
    """Outputs in the compute dtype, variables in float32."""
    layer = layer_cls(**dict(init_kwargs, dtype=policy))
    y = call_layer(layer, inputs)
    compute = keras.dtype_policies.get(policy).compute_dtype
    assert keras.backend.standardize_dtype(y.dtype) == compute, (
        policy, y.dtype
    )
    for w in layer.weights:
        assert w.dtype == "float32", (policy, w.path, w.dtype)
    assert np.all(np.isfinite(to_numpy(ops.cast(y, "float32"))))
    symbolic = {
        n: keras.KerasTensor(v.shape, dtype=str(v.dtype))
        for n, v in inputs.items()
    }
    layer = layer_cls(**dict(init_kwargs, dtype=policy))
    assert call_layer(layer, symbolic).dtype == compute


def run_layer_golden_test(layer_cls, init_kwargs, name):
    """Stored weights and inputs give the stored outputs on this backend."""
    golden = load_golden(name)
    layer = layer_cls(**init_kwargs)
    inputs = golden_layer_inputs(golden)
    call_layer(layer, inputs)
    layer.set_weights(golden_weights(golden))
    np.testing.assert_allclose(
        to_numpy(call_layer(layer, inputs)), golden["output"],
        atol=GOLDEN_ATOL, rtol=GOLDEN_RTOL,
    )


def golden_layer_inputs(golden):
    """A layer golden's inputs, in call order (stored as `order`)."""
    return {str(n): golden[f"input/{n}"] for n in golden["order"]}


# ----------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------
def _forward(model, x):
    """Inference outputs as numpy, from a direct call."""
    # Output comparisons (save/load, presets, goldens) call the model
    # directly: each `predict` of a fresh model traces a new `tf.function` or
    # compiles a new XLA program, which costs more than the check itself (on
    # JAX, direct calls run op by op, with primitives compiled once and
    # cached). The traced and XLA paths are covered by the two training steps
    # and the first `predict`. The mixed-precision steps run eagerly on
    # TensorFlow and PyTorch, jitted on JAX (op-by-op training is the slow
    # path there).
    return to_numpy(model(x, training=False))


def run_model_test(spec, tmp_path, golden=None):
    """Runs every harness check on a registered zoo model.

    Args:
        spec: a `zoo.registry.ModelSpec`.
        tmp_path: `pathlib.Path` for saved files.
        golden: str or None, golden file name.
    """
    import keras_hub

    import zoo

    x, y = spec.example_batch(8, 0)
    model = build_tiny(spec)
    assert isinstance(model, spec.task_cls)
    assert model.built
    assert spec.expected_num_params is not None, (
        f"{spec.name} declares no expected_num_params"
    )
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == spec.expected_num_params, trainable
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert frozen == spec.expected_num_non_trainable_params, frozen

    # Serialization of the task and of its backbone.
    run_serialization_test(model)
    if hasattr(model, "backbone"):
        run_serialization_test(model.backbone)

    # Forward pass and output spec.
    out = to_numpy(model.predict(x, verbose=0))
    assert np.all(np.isfinite(out))
    assert out.shape[0] == 8

    # Batch independence: per sample and shuffled.
    check_batch_independence(model, x)

    # Every trainable weight gets a gradient (or is declared structurally
    # zero) and one training step moves it, eagerly (tensorflow, torch)
    # and jit-compiled (tensorflow, jax).
    modes = [EAGER_JIT]
    if BACKEND in JIT_BACKENDS and not EAGER_JIT:
        modes.append(True)
    for jit in modes:
        trained = build_tiny(spec)
        # Adam, not SGD: see the layer harness.
        trained.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                        jit_compile=jit)
        _check_training_step(
            trained, x, y,
            lambda: trained.fit(x, y, batch_size=8, epochs=1, verbose=0),
            spec.zero_grad_weights, f"(jit={jit})",
        )
    model = trained

    # .keras save / safe-mode load.
    expected = _forward(model, x)
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    assert type(restored) is type(model)
    np.testing.assert_array_equal(_forward(restored, x), expected)

    # Preset round trip: zoo.load and keras-hub's own loaders.
    preset = os.path.join(str(tmp_path), "preset")
    zoo.save_preset(model, preset)
    assert {"config.json", "model.weights.h5", "metadata.json",
            "README.md"} <= set(os.listdir(preset))
    loaded = zoo.load(preset)
    assert type(loaded) is type(model)
    # A freshly loaded model compiles its own programs (TensorFlow may
    # fuse an LSTM differently): equal up to float32 rounding.
    np.testing.assert_allclose(
        _forward(loaded, x), expected, rtol=1e-5, atol=1e-6,
    )
    if hasattr(model, "backbone"):
        backbone = keras_hub.models.Backbone.from_preset(preset)
        assert type(backbone) is type(model.backbone)
        # Two separately compiled programs: equal up to float32 rounding.
        np.testing.assert_allclose(
            _forward(backbone, x),
            _forward(model.backbone, x),
            rtol=1e-6,
            atol=1e-7,
        )
    fresh = zoo.load(preset, load_weights=False)
    assert type(fresh) is type(model)

    # Mixed precision: float32 variables and head, compute-dtype backbone.
    for policy in MIXED_POLICIES:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:
            mp = build_tiny(spec)
        finally:
            keras.config.set_dtype_policy(previous)
        compute = keras.dtype_policies.get(policy).compute_dtype
        for w in mp.weights:
            assert w.dtype == "float32", (policy, w.path, w.dtype)
        logits = mp(x)
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
        if hasattr(mp, "backbone"):
            feats = mp.backbone(x)
            assert keras.backend.standardize_dtype(feats.dtype) == compute
        mp.compile(optimizer=keras.optimizers.Adam(1e-3),
                   jit_compile=EAGER_JIT, run_eagerly=BACKEND != "jax")
        if policy == "mixed_float16":
            assert isinstance(mp.optimizer,
                              keras.optimizers.LossScaleOptimizer)
        history = mp.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    if golden is not None:
        run_model_golden_test(spec, golden)


def run_model_golden_test(spec, name):
    """Stored weights and inputs give the stored outputs on this backend."""
    golden = load_golden(name)
    model = build_tiny(spec)
    weights = golden_weights(golden)
    assert len(weights) == len(model.weights), (
        "Golden file and model disagree on the number of weights; "
        "regenerate with scripts/make_goldens.py"
    )
    model.set_weights(weights)
    out = _forward(model, golden_inputs(golden))
    np.testing.assert_allclose(
        out, golden["output"], atol=GOLDEN_ATOL, rtol=GOLDEN_RTOL
    )
