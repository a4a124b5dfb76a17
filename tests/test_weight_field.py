"""Tests of `layers.CoordinateWeightField` (NeuMeta's weight field).

The harness cases `coordinate_weight_field*` cover serialization,
gradients, save/load, mixed precision and goldens; these tests pin the
layout and the decisions the docstring marks as unverified.
"""

import numpy as np
import pytest
from keras import ops

import layers
from tests.harness import to_numpy

TENSORS = [{"layer": 0, "kind": "kernel"}, {"layer": 0, "kind": "bias"},
           {"layer": 1, "kind": "kernel"}, {"layer": 1, "kind": "bias"}]
SHAPES = [(3, 3, 1, 4), (4,), (4, 3), (3,)]


def _field(**kwargs):
    args = dict(num_frequencies=2, hidden_units=8, num_blocks=1, seed=3,
                size_scale=8.0)
    args.update(kwargs)
    return layers.CoordinateWeightField(TENSORS, **args)


def _np(values):
    return [to_numpy(v) for v in values]


def test_generated_weights_run_in_functional_layers():
    field = _field()
    k0, b0, k1, b1 = field.generate(SHAPES)
    assert [tuple(w.shape) for w in (k0, b0, k1, b1)] == SHAPES
    x = np.random.default_rng(0).uniform(0, 1, (2, 5, 5, 1)).astype(
        "float32")
    h = layers.FunctionalConv2D(padding="same", activation="relu")(x, k0, b0)
    y = layers.FunctionalDense()(ops.mean(h, axis=(1, 2)), k1, b1)
    assert tuple(y.shape) == (2, 3)


def test_coordinates_are_normalised_indices_and_scaled_sizes():
    field = _field()
    c = to_numpy(field.tensor_coordinates(2, (4, 3), 1, 2))
    assert c.shape == (4, 3, 6)
    np.testing.assert_allclose(c[2, 1], [1 / 2, 2 / 4, 1 / 3, 2 / 8,
                                         4 / 8, 3 / 8], rtol=1e-6)
    # A bias: index on the `in` axis, out = 0, out_size = 1.
    b = to_numpy(field.tensor_coordinates(1, (4,), 0, 2))
    np.testing.assert_allclose(b[3, 0], [0, 3 / 4, 0, 2 / 8, 4 / 8, 1 / 8],
                               rtol=1e-6)


def test_kernel_crop_scaling_and_bias_entry():
    field = _field()
    k0, b0, k1, b1 = _np(field.generate(SHAPES))
    # Raw field values through `call` at the same coordinates.
    coords = to_numpy(field.tensor_coordinates(2, (4, 3), 1, 2))
    raw = to_numpy(field(coords.reshape(-1, 6), np.full(12, 2, "int32")))
    np.testing.assert_allclose(k1, raw[:, 0].reshape(4, 3) / 4, rtol=1e-5,
                               atol=1e-6)  # entry 0, divided by in = 4
    coords = to_numpy(field.tensor_coordinates(0, (3, 3, 1, 4), 0, 2))
    raw = to_numpy(field(coords.reshape(-1, 6), np.zeros(4, "int32")))
    np.testing.assert_allclose(
        k0, raw.reshape(1, 4, 3, 3).transpose(2, 3, 0, 1), rtol=1e-5,
        atol=1e-6)  # in size 1
    coords = to_numpy(field.tensor_coordinates(1, (4,), 0, 2))
    raw = to_numpy(field(coords.reshape(-1, 6), np.ones(4, "int32")))
    np.testing.assert_allclose(b0, raw[:, 0], rtol=1e-5, atol=1e-6)
    # A 1x1 kernel is the centre of the 3x3 output.
    centre = _np(field.generate([(1, 1, 1, 4), (4,), (4, 3), (3,)]))[0]
    np.testing.assert_allclose(centre[0, 0], k0[1, 1], rtol=1e-6)


def test_padded_generation_equals_the_small_network():
    field = _field()
    small = _np(field.generate(SHAPES))
    big_shapes = [(3, 3, 1, 7), (7,), (7, 3), (3,)]
    sizes = [(1, 4), (1, 4), (4, 3), (4, 3)]
    padded = _np(field.generate(big_shapes, active_sizes=sizes))
    np.testing.assert_allclose(padded[0][..., :4], small[0], rtol=1e-6)
    np.testing.assert_array_equal(padded[0][..., 4:], 0)
    np.testing.assert_allclose(padded[2][:4], small[2], rtol=1e-6)
    np.testing.assert_array_equal(padded[2][4:], 0)
    np.testing.assert_allclose(padded[1][:4], small[1], rtol=1e-6)


def test_noise_training_and_k_sample_average():
    clean_field = _field()
    noisy = _field(coordinate_noise=0.1)
    clean = _np(clean_field.generate(SHAPES))
    # Same seed, same initial weights: one clean sample outside training.
    np.testing.assert_allclose(_np(noisy.generate(SHAPES))[2], clean[2],
                               rtol=1e-6)
    a = _np(noisy.generate(SHAPES, num_samples=8, seed=1))
    b = _np(noisy.generate(SHAPES, num_samples=8, seed=1))
    c = _np(noisy.generate(SHAPES, num_samples=8, seed=2))
    np.testing.assert_array_equal(a[2], b[2])
    assert not np.allclose(a[2], c[2])
    assert not np.allclose(a[2], clean[2])
    t1 = _np(noisy.generate(SHAPES, training=True))
    t2 = _np(noisy.generate(SHAPES, training=True))
    assert not np.allclose(t1[2], t2[2])
    coords = np.full((3, 6), 0.5, "float32")
    ids = np.zeros(3, "int32")
    out = to_numpy(noisy(coords, ids, training=True))
    assert not np.allclose(out[0], out[1])
    np.testing.assert_array_equal(to_numpy(noisy(coords, ids))[0],
                                  to_numpy(noisy(coords, ids))[1])


def test_residual_scalars_start_at_a_tenth_and_config_round_trip():
    field = _field(num_blocks=2)
    field.build()
    np.testing.assert_allclose(to_numpy(field.residual_scales), 0.1)
    assert to_numpy(field.input_kernel).shape == (4, 30, 8)
    clone = layers.CoordinateWeightField.from_config(field.get_config())
    assert clone.get_config() == field.get_config()


@pytest.mark.parametrize("kwargs, match", [
    (dict(tensors=[]), "non-empty"),
    (dict(tensors=[{"layer": 0, "kind": "weights"}]), "kind"),
    (dict(tensors=[{"layer": -1, "kind": "bias"}]), "int >= 0"),
    (dict(tensors=TENSORS, coordinate_noise=-1.0), "coordinate_noise"),
    (dict(tensors=TENSORS, num_blocks=-1), "num_blocks"),
    (dict(tensors=TENSORS, size_scale=0), "size_scale"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.CoordinateWeightField(**kwargs)


def test_bad_generate_calls():
    field = _field()
    with pytest.raises(ValueError, match="one shape per tensor"):
        field.generate(SHAPES[:2])
    with pytest.raises(ValueError, match="kernel_size >= 5"):
        field.generate([(5, 5, 1, 4), (4,), (4, 3), (3,)])
