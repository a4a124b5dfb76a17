"""Writes the golden `.npz` files of the harness (run once, any backend).

    KERAS_BACKEND=jax python tests/make_goldens.py

Inputs and weights are drawn with numpy from fixed seeds (not with the
layers' initialisers, which differ between backends) and set with
`set_weights`; the outputs computed here are the reference every backend
must reproduce within 1e-5.
"""

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import layers  # noqa: E402
import zoo  # noqa: E402
from tests.cases import LAYER_CASES  # noqa: E402
from tests.cases import MODEL_GOLDENS  # noqa: E402

GOLDEN_DIR = os.path.join(ROOT, "tests", "golden")
WEIGHT_STD = 0.3


def _weights(model, rng):
    return [
        rng.normal(0, WEIGHT_STD, tuple(w.shape)).astype("float32")
        for w in model.weights
    ]


def _save(name, arrays):
    path = os.path.join(GOLDEN_DIR, f"{name}.npz")
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    print("wrote", path)


def make_layer_golden(name, case, seed):
    rng = np.random.default_rng(seed)
    layer = layers.HyperDense(**case["init_kwargs"])
    x = rng.uniform(-1, 1, case["input_shape"]).astype("float32")
    arrays = {"input/x": x}
    cond = None
    if case["condition_shape"] is not None:
        if "int" in case["condition_dtype"]:
            cond = rng.integers(
                0, case["init_kwargs"]["num_tasks"], case["condition_shape"]
            ).astype(case["condition_dtype"])
        else:
            cond = rng.uniform(0, 1, case["condition_shape"]).astype(
                "float32"
            )
        arrays["input/condition"] = cond
    layer(x) if cond is None else layer(x, condition=cond)
    weights = _weights(layer, rng)
    layer.set_weights(weights)
    y = layer(x) if cond is None else layer(x, condition=cond)
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


def main():
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    for i, (name, case) in enumerate(sorted(LAYER_CASES.items())):
        make_layer_golden(name, case, seed=100 + i)
    for i, name in enumerate(MODEL_GOLDENS):
        make_model_golden(name, seed=200 + i)


if __name__ == "__main__":
    main()
