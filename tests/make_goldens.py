"""Writes the golden `.npz` files of the harness (run once, any backend).

    KERAS_BACKEND=jax python tests/make_goldens.py [NAME ...]

With names, only those goldens are (re)written; an existing golden is a
stored reference, so rewrite it only when its case changes on purpose.

Inputs and weights are drawn with numpy from fixed seeds (not with the
layers' initialisers, which differ between backends) and set with
`set_weights`; the outputs computed here are the reference every backend
must reproduce within 1e-5.
"""

import os
import sys
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import layers  # noqa: E402
import zoo  # noqa: E402
from tests.cases import LAYER_CASES  # noqa: E402
from tests.harness import call_layer  # noqa: E402
from tests.harness import make_inputs  # noqa: E402

GOLDEN_DIR = os.path.join(ROOT, "tests", "golden")
WEIGHT_STD = 0.3


def _weights(model, rng):
    # Moving variances (batch normalisation) must be positive: a negative
    # one gives NaN outputs, and a NaN golden would match anything.
    out = []
    for w in model.weights:
        v = rng.normal(0, WEIGHT_STD, tuple(w.shape)).astype("float32")
        if w.path.endswith("moving_variance"):
            v = np.abs(v) + np.float32(0.5)
        out.append(v)
    return out


def _save(name, arrays):
    path = os.path.join(GOLDEN_DIR, f"{name}.npz")
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    print("wrote", path)


def make_layer_golden(name, case, seed):
    rng = np.random.default_rng(seed)
    layer = getattr(layers, case["layer"])(**case["init_kwargs"])
    inputs = make_inputs(case["inputs"], rng)
    arrays = {f"input/{k}": v for k, v in inputs.items()}
    arrays["order"] = np.array(list(inputs))
    call_layer(layer, inputs)
    weights = _weights(layer, rng)
    layer.set_weights(weights)
    y = call_layer(layer, inputs)
    arrays["output"] = np.asarray(keras.ops.convert_to_numpy(y))
    for i, w in enumerate(weights):
        arrays[f"weight/{i:04d}"] = w
    _save(name, arrays)


def make_model_golden(name, seed):
    spec = zoo.get_model_spec(name)
    rng = np.random.default_rng(seed)
    model = spec.build_tiny(0)
    x, _ = spec.example_batch(4, seed + 1)
    weights = _weights(model, rng)
    model.set_weights(weights)
    out = np.asarray(keras.ops.convert_to_numpy(model.predict(x, verbose=0)))
    arrays = {"output": out}
    if isinstance(x, dict):
        for k, v in x.items():
            arrays[f"input/{k}"] = v
    else:
        arrays["input/x"] = x
    for i, w in enumerate(weights):
        arrays[f"weight/{i:04d}"] = w
    _save(name, arrays)


def _seed(name):
    # Stable per name, so adding a case never changes another's data.
    return zlib.crc32(name.encode())


def main(names=()):
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    models = zoo.list_models()
    known = set(LAYER_CASES) | set(models)
    unknown = set(names) - known
    if unknown:
        raise SystemExit(f"Unknown golden names: {sorted(unknown)}")
    for name, case in sorted(LAYER_CASES.items()):
        if not names or name in names:
            make_layer_golden(name, case, seed=_seed(name))
    for name in models:
        if not names or name in names:
            make_model_golden(name, seed=_seed(name))


if __name__ == "__main__":
    main(sys.argv[1:])
