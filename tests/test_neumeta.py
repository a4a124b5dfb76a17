"""Tests of the NeuMeta family: permutation, sampling, pruning, losses.

Tiny configurations; the harness (`tests/test_all_models.py -k
neumeta`) covers the tiny model's serialization, training step,
precision and golden.
"""

import keras
import numpy as np
import pytest

from tests.harness import to_numpy
from zoo.neumeta import NeuMetaBackbone
from zoo.neumeta import NeuMetaClassifier
from zoo.neumeta.neumeta_cnn import build_plain_cnn
from zoo.neumeta.neumeta_cnn import num_cnn_params
from zoo.neumeta.neumeta_cnn import prune_cnn
from zoo.neumeta.neumeta_permutation import channel_order
from zoo.neumeta.neumeta_permutation import path_variation
from zoo.neumeta.neumeta_permutation import permute_chain
from zoo.neumeta.neumeta_presets import width_at
from zoo.neumeta.neumeta_training import permuted_weights

SMALL = dict(image_size=4, num_classes=3, min_width=2, max_width=6,
             width_step=2, num_frequencies=1, hidden_units=4, num_blocks=1,
             seed=0)


def _x(n=5, features=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, features)).astype("float32")


def _logits(model, x):
    return np.asarray(to_numpy(model(x, training=False)))


def test_channel_order_finds_the_line():
    values = np.array([5.0, 1.0, 3.0, 2.0, 4.0, 0.0])
    order = channel_order(values[:, None])
    assert sorted(order.tolist()) == list(range(6))
    path = values[order]
    assert np.all(np.diff(path) > 0) or np.all(np.diff(path) < 0)
    assert path_variation(values[:, None], order) == 5.0
    assert path_variation(values[:, None]) > 5.0


def test_permutation_keeps_the_function_and_smooths():
    model = build_plain_cnn(7, image_size=4, num_classes=3, seed=1)
    x = _x()
    before = _logits(model, x)
    weights = model.get_weights()
    permuted, orders = permuted_weights(weights)
    assert [sorted(o.tolist()) for o in orders] == [list(range(7))] * 2
    model.set_weights(permuted)
    np.testing.assert_allclose(_logits(model, x), before, rtol=1e-5,
                               atol=1e-5)
    # The smoothed order is no rougher than the original one.
    vec = np.moveaxis(weights[0], -1, 0).reshape(7, -1)
    assert path_variation(vec, orders[0]) <= path_variation(vec) + 1e-9
    k, b, _ = permute_chain([weights[0]], [weights[1]])  # no hidden layer
    np.testing.assert_array_equal(k[0], weights[0])


def test_sampled_network_matches_the_field_and_the_padded_path():
    backbone = NeuMetaBackbone(**SMALL)
    x = _x()
    full = backbone.sample_network(6)
    np.testing.assert_allclose(_logits(full, x), _logits(backbone, x),
                               rtol=1e-4, atol=1e-5)
    cnn = backbone.cnn
    for width in (5,):  # an unseen width
        small = backbone.sample_network(width)
        assert small.count_params() == num_cnn_params(width, 1, 3)
        padded = cnn.run(x, cnn.generate_weights(width, padded=True))
        np.testing.assert_allclose(to_numpy(padded), _logits(small, x),
                                   rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="max_width"):
        backbone.sample_network(7)


def test_training_draws_widths_from_the_grid():
    backbone = NeuMetaBackbone(**SMALL)
    cnn = backbone.cnn
    x = _x(3)
    outs = {w: to_numpy(cnn.run(x, cnn.generate_weights(w, padded=True)))
            for w in (2, 4, 6)}
    for _ in range(3):
        y = to_numpy(cnn(x, training=True))
        assert any(np.allclose(y, o, rtol=1e-4, atol=1e-5)
                   for o in outs.values())


def test_pruning_keeps_the_largest_filters():
    rng = np.random.default_rng(0)
    weights = [w.astype("float32") for w in (
        rng.normal(size=(3, 3, 1, 6)), rng.normal(size=6),
        rng.normal(size=(3, 3, 6, 6)), rng.normal(size=6),
        rng.normal(size=(6, 3)), rng.normal(size=3))]
    weights[0][..., 4] *= 100
    pruned = prune_cnn(weights, 2)
    assert [p.shape for p in pruned] == [(3, 3, 1, 2), (2,), (3, 3, 2, 2),
                                         (2,), (2, 3), (3,)]
    assert np.any(np.all(pruned[0] == weights[0][..., 4:5], axis=(0, 1, 2)))
    assert width_at(75, 16) == 4 and width_at(0, 16) == 16


def test_reconstruction_and_l2_terms_enter_the_training_loss():
    backbone = NeuMetaBackbone(**SMALL)
    model = NeuMetaClassifier(backbone, reconstruction_weight=2.0,
                              l2_weight=0.5)
    model.compile()
    target = [np.ones(tuple(w.shape), "float32")
              for w in model.target_weights]
    model.set_reconstruction_target(target)
    recon, l2 = (float(to_numpy(v)) for v in
                 model.weight_losses(training=False))
    generated = backbone.sample_weights(6)
    expected_l2 = sum(float(np.mean(w ** 2)) for w in generated)
    expected_recon = sum(float(np.mean((w - 1) ** 2)) for w in generated)
    assert l2 == pytest.approx(expected_l2, rel=1e-4)
    assert recon == pytest.approx(expected_recon, rel=1e-4)
    x, y = _x(4), np.array([0, 1, 2, 0])
    y_pred = model(x)
    ce = float(to_numpy(model.compute_loss(x, y, y_pred, training=False)))
    with_terms = float(to_numpy(model.compute_loss(x, y, y_pred,
                                                   training=True)))
    assert with_terms == pytest.approx(ce + 2.0 * recon + 0.5 * l2,
                                       rel=1e-4)
    with pytest.raises(ValueError, match="shape"):
        model.set_reconstruction_target([np.ones(2)] * 6)
    with pytest.raises(ValueError, match="reconstruction_weight"):
        NeuMetaClassifier(backbone, reconstruction_weight=-1)


def test_backbone_argument_checks():
    with pytest.raises(ValueError, match="min_width"):
        NeuMetaBackbone(min_width=8, max_width=4)
    with pytest.raises(ValueError, match="multiple"):
        NeuMetaBackbone(min_width=2, max_width=7, width_step=2)


def test_classifier_save_load(tmp_path):
    backbone = NeuMetaBackbone(**SMALL)
    model = NeuMetaClassifier(backbone, reconstruction_weight=1.0)
    model.set_reconstruction_target(
        [np.full(tuple(w.shape), 0.5, "float32")
         for w in model.target_weights])
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    x = _x()
    np.testing.assert_allclose(_logits(restored, x), _logits(model, x),
                               rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(restored.target_weights[0]),
                                  0.5)
