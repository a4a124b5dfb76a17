"""The shared test harness every hyperzoo layer and model goes through.

`run_layer_test` and `run_model_test` bundle the checks of the
Foundation issue: config round trip with equal `dir()`, build from shape
with exact weight counts, symbolic call against `compute_output_shape`,
golden outputs stored as `.npz` (identical on every backend), one training
step that changes every trainable weight, `.keras` save and safe-mode
load, mixed precision policies and jit-compiled training.

Goldens: `tests/golden/<name>.npz` holds the inputs, every weight (in
`model.weights` order) and the expected outputs, produced once by
`scripts/make_goldens.py`. The weights are drawn with numpy, not with the
layer's initialisers (those differ across backends), and loaded with
`set_weights`, so the comparison isolates the forward computation.
"""

import json
import os

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


def _layer_model(layer_fn, inputs):
    # Fixed shapes (batch included): functional target layers take
    # unbatched kernels, which a `shape=` Input would give a batch axis.
    sym = {
        name: keras.Input(batch_shape=v.shape, dtype=str(v.dtype), name=name)
        for name, v in inputs.items()
    }
    layer = layer_fn()
    return keras.Model(list(sym.values()), call_layer(layer, sym)), layer


def _changed_weights(model, fit_fn):
    before = [to_numpy(w).copy() for w in model.trainable_weights]
    fit_fn()
    unchanged = []
    for w, b in zip(model.trainable_weights, before):
        after = to_numpy(w)
        if np.array_equal(after, b):
            unchanged.append(w.path)
        assert np.all(np.isfinite(after)), f"{w.path} is not finite"
    return unchanged


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
        return {k: data[k] for k in data.files}


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

    # 5. Golden outputs.
    if golden is not None:
        run_layer_golden_test(layer_cls, init_kwargs, golden)

    # 6-7. One training step changes every trainable weight, eagerly
    # (tensorflow, torch) and jit-compiled (tensorflow, jax). Layers
    # without weights (functional target layers) skip this step.
    data = list(inputs.values())
    target = _regression_target(y)
    modes = [EAGER_JIT]
    if BACKEND in JIT_BACKENDS and not EAGER_JIT:
        modes.append(True)
    for jit in modes if expected_num_trainable_weights else ():
        model, _ = _layer_model(lambda: layer_cls(**init_kwargs), inputs)
        # Adam's normalised step moves every weight whose gradient is
        # above ~1e-8; an SGD step on a small gradient can fall below
        # float32 resolution and hide a working gradient path.
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse",
                      jit_compile=jit)
        unchanged = _changed_weights(
            model,
            lambda: model.fit(data, target, batch_size=len(y), epochs=1,
                              verbose=0, shuffle=False),
        )
        assert not unchanged, f"No gradient reached (jit={jit}): {unchanged}"

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
    model = spec.build_tiny(0)
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

    # One training step changes every trainable weight, eagerly
    # (tensorflow, torch) and jit-compiled (tensorflow, jax).
    modes = [EAGER_JIT]
    if BACKEND in JIT_BACKENDS and not EAGER_JIT:
        modes.append(True)
    for jit in modes:
        trained = spec.build_tiny(0)
        # Adam, not SGD: see the layer harness.
        trained.compile(optimizer=keras.optimizers.Adam(1e-3),
                        jit_compile=jit)
        unchanged = _changed_weights(
            trained,
            lambda: trained.fit(x, y, batch_size=8, epochs=1, verbose=0),
        )
        assert not unchanged, f"No gradient reached (jit={jit}): {unchanged}"
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
            mp = spec.build_tiny(0)
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
    model = spec.build_tiny(0)
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
