"""Behaviour of HyperNetwork, the functional target layers and the
output regulariser (the harness checks are in test_all_layers.py)."""

import numpy as np
import pytest

import layers
from tests.harness import to_numpy

SPECS = layers.mlp_specs(6, (5,), 3)  # 6*5 + 5 + 5*3 + 3 = 53


def test_spec_helpers():
    assert layers.num_spec_params(SPECS) == 53
    assert [r["name"] for r in SPECS] == [
        "dense_0/kernel", "dense_0/bias", "dense_1/kernel", "dense_1/bias"]
    conv = layers.conv2d_specs("c", (3, 2), 4, 8)
    assert conv[0]["shape"] == [3, 2, 4, 8]
    assert conv[0]["fan_in"] == 24 and conv[0]["fan_out"] == 48
    std = layers.spec_stddevs(SPECS)
    assert std.shape == (53,)
    np.testing.assert_allclose(std[0], np.sqrt(2 / 11), rtol=1e-6)
    np.testing.assert_allclose(std[30], np.sqrt(1 / 18), rtol=1e-6)


@pytest.mark.parametrize("specs, message", [
    ([], "non-empty"),
    ([dict(name="a", shape=[2], kind="bias", fan_in=1)], "fan_out"),
    ([dict(name="a", shape=[2], kind="bias", fan_in=1, fan_out=1)] * 2,
     "new non-empty"),
    ([dict(name="a", shape=[0], kind="bias", fan_in=1, fan_out=1)],
     "positive"),
    ([dict(name="a", shape=[2], kind="gain", fan_in=1, fan_out=1)],
     "kind"),
])
def test_bad_specs_are_named(specs, message):
    with pytest.raises(ValueError, match=message):
        layers.HyperNetwork(specs, num_tasks=2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(conditioning="task"), "num_tasks"),
    (dict(num_tasks=2, architecture="chunked"), "chunk_size"),
    (dict(num_tasks=2, chunk_size=4), "chunk_size"),
    (dict(num_tasks=2, input_encoding="cos_sin"), "input_encoding"),
    (dict(conditioning="input", num_tasks=2), "num_tasks"),
    (dict(num_tasks=2, architecture="transformer"), "architecture"),
    (dict(num_tasks=2, architecture="chunked", chunk_size=4,
          hidden_units=()), "hidden layer"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.HyperNetwork(SPECS, **kwargs)


@pytest.mark.once
@pytest.mark.parametrize("arch, kwargs", [
    ("mlp", dict(hidden_units=(32,))),
    ("chunked", dict(chunk_size=9, hidden_units=(32,))),
    ("recurrent", dict(chunk_size=9, hidden_units=(), recurrent_units=16,
                       chunk_embedding_dim=0)),
])
def test_generated_weights_start_at_the_target_variance(arch, kwargs):
    # Hyperfan by output scaling: every scalar's variance is that of a
    # conventionally initialised target, averaged over seeds and tasks.
    specs = layers.mlp_specs(40, (30,), 10)
    std = layers.spec_stddevs(specs)
    ratios = []
    for seed in range(4):
        hnet = layers.HyperNetwork(specs, num_tasks=8, architecture=arch,
                                   seed=seed, **kwargs)
        flat = to_numpy(hnet.generate(np.arange(8)))
        ratios.append(np.mean((flat / std) ** 2))
    assert 0.7 < np.mean(ratios) < 1.4, ratios


def test_residual_starts_near_theta0():
    hnet = layers.HyperNetwork(SPECS, num_tasks=3, residual=True,
                               delta_scale=0.1, hidden_units=(16,), seed=0)
    flat = to_numpy(hnet.generate(np.arange(3)))
    theta0 = to_numpy(hnet.theta0)
    delta = flat - theta0
    assert np.std(delta) < 0.3 * np.std(theta0[:30])
    # theta0 biases start at zero, kernels at the target scale.
    assert np.all(theta0[30:35] == 0)


def test_batched_ids_gather_single_generations():
    hnet = layers.HyperNetwork(SPECS, num_tasks=4, architecture="chunked",
                               chunk_size=10, hidden_units=(8,), seed=1)
    ids = np.array([3, 0, 3, 2])
    batched = to_numpy(hnet.generate(ids))
    assert batched.shape == (4, 53)
    for row, t in zip(batched, ids):
        np.testing.assert_allclose(row, to_numpy(hnet.generate(np.array(t))),
                                   atol=1e-6)


def test_dict_output_and_unbatched_condition():
    hnet = layers.HyperNetwork(SPECS, num_tasks=2, hidden_units=(8,))
    params = hnet(np.array(1))
    assert {k: tuple(v.shape) for k, v in params.items()} == {
        "dense_0/kernel": (6, 5), "dense_0/bias": (5,),
        "dense_1/kernel": (5, 3), "dense_1/bias": (3,)}
    batched = hnet(np.array([0, 1, 1]))
    assert tuple(batched["dense_0/kernel"].shape) == (3, 6, 5)
    assert hnet.compute_output_shape(())["dense_1/kernel"] == (5, 3)
    assert hnet.compute_output_shape((3,))["dense_1/kernel"] == (3, 5, 3)
    np.testing.assert_allclose(hnet.compression_ratio,
                               hnet.count_params() / 53)


def test_input_conditioning_gives_per_sample_weights():
    hnet = layers.HyperNetwork(SPECS, conditioning="input",
                               input_encoding="cos_sin", hidden_units=(8,),
                               output_format="flat", seed=0)
    c = np.array([[0.0, 1.0], [0.5, 0.2]], "float32")
    out = to_numpy(hnet(c))
    assert out.shape == (2, 53)
    assert not np.allclose(out[0], out[1])
    np.testing.assert_allclose(to_numpy(hnet(c[1])), out[1], atol=1e-6)


def test_split_params_round_trip():
    flat = np.arange(2 * 53, dtype="float32").reshape(2, 53)
    parts = layers.split_params(flat, SPECS)
    back = np.concatenate(
        [to_numpy(parts[r["name"]]).reshape(2, -1) for r in SPECS], axis=1)
    np.testing.assert_array_equal(back, flat)


def test_functional_dense_per_sample_matches_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4)).astype("float32")
    k = rng.normal(size=(3, 4, 2)).astype("float32")
    b = rng.normal(size=(3, 2)).astype("float32")
    dense = layers.FunctionalDense(activation="relu")
    y = to_numpy(dense(x, k, bias=b))
    ref = np.stack([np.maximum(x[i] @ k[i] + b[i], 0) for i in range(3)])
    np.testing.assert_allclose(y, ref, atol=1e-5)


def test_functional_conv2d_per_sample_matches_shared_conv():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 5, 2)).astype("float32")
    k = rng.normal(size=(2, 3, 3, 2, 4)).astype("float32")
    b = rng.normal(size=(2, 4)).astype("float32")
    for padding in ("valid", "same"):
        conv = layers.FunctionalConv2D(strides=(2, 1), padding=padding)
        y = to_numpy(conv(x, k, bias=b))
        ref = np.concatenate([to_numpy(conv(x[i:i + 1], k[i], bias=b[i]))
                              for i in range(2)])
        np.testing.assert_allclose(y, ref, atol=1e-4)


@pytest.mark.parametrize("layer, args, message", [
    (layers.FunctionalDense(), ((2, 4), (5, 3)), "last axis"),
    (layers.FunctionalDense(), ((2, 4), (4,)), "kernel"),
    (layers.FunctionalConv2D(), ((2, 4, 4), (3, 3, 1, 2)), "inputs"),
    (layers.FunctionalConv2D(), ((2, 4, 4, 3), (3, 3, 1, 2)), "channels"),
])
def test_functional_layers_name_bad_shapes(layer, args, message):
    x = np.zeros(args[0], "float32")
    k = np.zeros(args[1], "float32")
    with pytest.raises(ValueError, match=message):
        layer(x, k)


def test_output_regularizer_value_and_storage():
    reg = layers.HyperOutputRegularizer(num_tasks=3, num_params=4, beta=0.5)
    g = np.arange(12, dtype="float32").reshape(3, 4)
    assert float(to_numpy(reg(g))) == 0.0  # nothing stored yet
    reg.store(0, np.zeros(4, "float32"))
    reg.store(2, g[2] + 1.0)
    assert reg.stored_tasks() == [0, 2]
    expected = 0.5 * (np.sum(g[0] ** 2) + 4.0) / 2
    np.testing.assert_allclose(float(to_numpy(reg(g))), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="task_id"):
        reg.store(3, np.zeros(4, "float32"))
    with pytest.raises(ValueError, match="values"):
        reg.store(1, np.zeros(5, "float32"))
