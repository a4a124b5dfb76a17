"""`zoo.pruning` against tensorflow-model-optimization (tfmot 0.8.1).

tfmot switches its process to tf_keras on import, so it runs once per
module in a subprocess (`scripts/tfmot_oracle.py`) that writes what it
did to an `.npz`; every check here runs `zoo.pruning` on the current
backend and compares: the schedules' `(should_prune, sparsity)`, the
per-layer masks at every step given the same kernels, and a short SGD
run of the twin model (losses, masks, kernels).

Step correspondence (see the oracle's docstring): tfmot's mask of step
`t` is computed at the start of step `t` from the weights after `t - 1`
updates; `PruningOptimizer` computes the same mask at the end of its
update `t - 1` (its step 1 mask, before its first update). So after our
update `t`, our masks are tfmot's masks after its step `t + 1`.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo.pruning
from zoo.pruning import PruningOptimizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.path.join(ROOT, "scripts", "tfmot_oracle.py")
NO_TENSORFLOW = 3  # the oracle's exit status without TensorFlow


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """What tfmot does, from one oracle subprocess (a dict of arrays)."""
    out = str(tmp_path_factory.mktemp("tfmot") / "oracle.npz")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, ORACLE, "--out", out],
                            capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=300)
    if result.returncode == NO_TENSORFLOW:
        pytest.skip(f"no TensorFlow on this platform: {result.stderr}")
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as data:
        arrays = dict(data)
    assert str(arrays["tfmot_version"]) == "0.8.1"
    return arrays


def _schedule(name, kwargs):
    return getattr(zoo.pruning, name)(**kwargs)


def _twin(weights):
    """The oracle's tiny model in Keras 3, with the given weights."""
    model = keras.Sequential([
        keras.Input((5, 5, 2)),
        keras.layers.Conv2D(3, 2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4),
    ])
    model.set_weights(weights)
    return model


def _masks(optimizer):
    return [np.asarray(m) for m in optimizer.masks]


def test_schedules_match_tfmot(oracle):
    for i, (name, kwargs, last) in enumerate(
            json.loads(str(oracle["schedule_config"]))):
        schedule = _schedule(name, kwargs)
        steps = range(last + 1)
        flags = [bool(schedule.should_prune(t)) for t in steps]
        np.testing.assert_array_equal(flags, oracle[f"schedule_{i}_prune"],
                                      err_msg=f"{name}{kwargs}")
        values = [float(schedule.sparsity(t)) for t in steps]
        np.testing.assert_allclose(values, oracle[f"schedule_{i}_sparsity"],
                                   atol=1e-6, err_msg=f"{name}{kwargs}")


@pytest.mark.parametrize("run", [0, 1])
def test_layer_masks_match_tfmot_at_every_step(oracle, run):
    # tfmot assigned kernels[t - 1] before its step t (learning rate 0)
    # and recorded masks[t - 1] after it. Our SGD(1) step t is given the
    # gradient `w - kernels[t]`, so that the weights after our update t
    # (what the mask of step t + 1 is computed from) are tfmot's
    # kernels of step t + 1, pruned positions included.
    name, kwargs, steps = json.loads(str(oracle["masks_config"]))[run]
    np.testing.assert_array_equal(oracle[f"masks_{run}_step"],
                                  np.arange(1, steps + 1))
    kernels = [oracle[f"masks_{run}_kernels_{j}"] for j in range(2)]
    expected = [oracle[f"masks_{run}_masks_{j}"] for j in range(2)]
    model = _twin([np.zeros_like(w) for w in _init(oracle)])
    variables = [model.layers[0].kernel, model.layers[2].kernel]
    optimizer = PruningOptimizer(keras.optimizers.SGD(1.0),
                                 _schedule(name, kwargs), scope="layer")
    for v, k in zip(variables, kernels):
        v.assign(k[0])
    for t in range(1, steps):
        optimizer.apply([keras.ops.convert_to_tensor(np.asarray(v) - k[t])
                         for v, k in zip(variables, kernels)], variables)
        for j, mask in enumerate(_masks(optimizer)):
            np.testing.assert_array_equal(
                mask, expected[j][t], err_msg=f"step {t + 1}, kernel {j}")
            np.testing.assert_array_equal(
                np.asarray(variables[j]) == 0, mask == 0)


def _init(oracle):
    return [oracle[f"trajectory_init_{i}"] for i in range(4)]


def test_gradual_pruning_follows_tfmot_training(oracle):
    config = json.loads(str(oracle["trajectory_config"]))
    steps = config["steps"]
    model = _twin(_init(oracle))
    optimizer = PruningOptimizer(
        keras.optimizers.SGD(config["learning_rate"]),
        _schedule(*config["schedule"]), scope="layer")
    model.compile(optimizer=optimizer, loss="mse")
    x, y = oracle["trajectory_x"], oracle["trajectory_y"]
    losses = []
    for t in range(1, steps + 1):
        losses.append(float(model.train_on_batch(x, y)))
        for j, (mask, kernel) in enumerate(zip(
                _masks(optimizer), optimizer.pruned_variables)):
            np.testing.assert_array_equal(
                mask, oracle[f"trajectory_masks_{j}"][t],
                err_msg=f"after step {t}, kernel {j}")
            # tfmot keeps raw kernels and masks them in the next forward.
            np.testing.assert_allclose(
                np.asarray(kernel),
                oracle[f"trajectory_kernels_{j}"][t - 1] * mask,
                rtol=1e-4, atol=1e-5, err_msg=f"after step {t}")
    np.testing.assert_allclose(losses, oracle["trajectory_loss"][:steps],
                               rtol=1e-4)
