"""PQ Index, the retained-parameter bound and SAP (Diao et al., 2023)."""

import keras
import numpy as np
import pytest

import zoo
from zoo.pruning.pqi import pqi
from zoo.pruning.pqi import retained_bound
from zoo.pruning.pruning_optimizer import PruningOptimizer
from zoo.pruning.sap import imp_masks
from zoo.pruning.sap import imp_prune
from zoo.pruning.sap import sap_masks
from zoo.pruning.sap import sap_prune

PQ = [(0.5, 1.0), (1.0, 2.0), (0.2, 1.0), (1.0, 1.4), (0.3, 0.7)]


@pytest.mark.parametrize("p, q", PQ)
def test_pqi_closed_forms(p, q):
    for d in (1, 7, 64):
        signs = np.where(np.arange(d) % 2, -1.0, 1.0)
        assert pqi(2.5 * signs, p=p, q=q) == pytest.approx(0.0, abs=1e-12)
    d = 37
    for k in range(1, d + 1):
        w = np.zeros(d)
        w[:k] = -1.7
        expected = 1.0 - (k / d) ** (1.0 / p - 1.0 / q)
        assert pqi(w, p=p, q=q) == pytest.approx(expected, abs=1e-12)
        assert retained_bound(w, p=p, q=q) == k
    # d counts mask entries, exact zeros included.
    w, mask = np.zeros(10), np.zeros(10)
    w[:2], mask[:5] = 3.0, 1.0
    assert pqi(w, mask, p, q) == pytest.approx(
        1.0 - (2 / 5) ** (1.0 / p - 1.0 / q), abs=1e-12)
    assert retained_bound(w, mask, p, q) == 2


def test_retained_bound_eta_and_scopes():
    w = np.zeros(32)
    w[:8] = 1.0
    # (1 + eta)^(-q / (q - p)) = 2^-2 at p = 0.5, q = 1.
    assert retained_bound(w, eta=1.0) == 2
    assert retained_bound(w, p=1.0, q=2.0, eta=3.0) == 1  # 8 * 4^-2 = 0.5
    kernels = [np.ones((2, 3)), np.eye(3)]
    np.testing.assert_array_equal(
        retained_bound(kernels, scope="layer"), [6, 3])
    bounds = retained_bound(kernels, scope="neuron")
    np.testing.assert_array_equal(bounds[0], [2, 2, 2])
    np.testing.assert_array_equal(bounds[1], [1, 1, 1])
    np.testing.assert_allclose(pqi(kernels, scope="layer"), [0.0, 2 / 3],
                               atol=1e-12)
    assert pqi(kernels) == pytest.approx(1 - (9 / 15) ** 1, abs=1e-12)


def test_sap_prune_ratio_and_beta_clamp():
    # m = ceil((1000 + sum sqrt(i))^2 / (1e6 + 45)) = 2 of d = 10.
    w = np.array([1e6, 9, 8, 7, 6, 5, 4, 3, 2, 1], dtype=np.float64)
    assert retained_bound(w) == 2
    # ratio 1 - 2/10 = 0.8 -> 8 pruned; clamped at beta = 0.5 -> 5.
    np.testing.assert_array_equal(sap_masks(w), [1, 1] + [0] * 8)
    np.testing.assert_array_equal(sap_masks(w, beta=0.5),
                                  [1] * 5 + [0] * 5)
    np.testing.assert_array_equal(sap_masks(w, gamma=0.5),
                                  [1] * 6 + [0] * 4)
    np.testing.assert_array_equal(sap_masks(w, beta=0.0), [1] * 10)
    # The next round only looks at the remaining weights.
    mask = sap_masks(w, beta=0.5)
    again = sap_masks(w, mask, beta=0.5)
    assert again.dtype == np.float32
    np.testing.assert_array_equal(again, [1, 1, 1] + [0] * 7)
    # Equal magnitudes: m = d, nothing to prune.
    np.testing.assert_array_equal(sap_masks(np.ones(6)), np.ones(6))


def test_neuron_scope_on_conv2d_kernel():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(2, 2, 3, 4))          # (kh, kw, in, out)
    kernel[..., 0] = -0.5                           # dense: I = 0
    kernel[..., 1] = 0.0
    kernel[0, 0, :2, 1] = 2.0                       # 2-sparse of 12
    kernel[..., 2] = np.arange(1, 13).reshape(2, 2, 3) * 1e-3
    kernel[1, 1, 2, 2] = 1e6
    index = pqi(kernel, scope="neuron")
    assert index.shape == (4,)
    assert index[0] == 0.0
    assert index[1] == pytest.approx(1 - (2 / 12) ** 1, abs=1e-12)
    np.testing.assert_array_equal(
        retained_bound(kernel, scope="neuron")[:3], [12, 2, 2])
    masks = sap_masks(kernel, scope="neuron")
    assert masks.shape == kernel.shape
    np.testing.assert_array_equal(masks.sum(axis=(0, 1, 2))[:3], [12, 2, 2])
    assert masks[1, 1, 2, 2] == 1 and masks[1, 1, 1, 2] == 1
    for out in range(4):  # the same as one group per output channel
        np.testing.assert_array_equal(
            masks[..., out], sap_masks(kernel[..., out], scope="layer"))


def test_empty_groups_stay_as_they_are():
    assert pqi(np.ones(4), np.zeros(4)) == 0.0
    assert pqi(np.zeros(4)) == 0.0                  # all weights zero
    assert retained_bound(np.ones(4), np.zeros(4)) == 0
    np.testing.assert_array_equal(sap_masks(np.ones(4), np.zeros(4)),
                                  np.zeros(4))
    kernel = np.array([[1e3, 1.0], [0.0, 2.0], [0.0, 3.0]])  # (in, out)
    mask = np.ones_like(kernel)
    mask[:, 1] = 0.0                                # neuron 1: d = 0
    np.testing.assert_allclose(pqi(kernel, mask, scope="neuron"),
                               [1 - (1 / 3) ** 1, 0.0], atol=1e-12)
    new = sap_masks(kernel, mask, scope="neuron", beta=1.0)
    np.testing.assert_array_equal(new, [[1, 0], [0, 0], [0, 0]])


@pytest.mark.parametrize("call, name", [
    (lambda: pqi(np.ones(3), p=0.0), "p"),
    (lambda: pqi(np.ones(3), p=1.0, q=1.0), "q"),
    (lambda: pqi(np.ones(3), scope="row"), "scope"),
    (lambda: pqi([]), "weights"),
    (lambda: pqi([np.ones(3)], [np.ones(3)] * 2), "masks"),
    (lambda: pqi(np.ones(3), np.ones(4)), "masks"),
    (lambda: pqi(np.ones(3), scope="neuron"), "weights"),
    (lambda: retained_bound(np.ones(3), eta=-0.1), "eta"),
    (lambda: sap_masks(np.ones(3), gamma=-1.0), "gamma"),
    (lambda: sap_masks(np.ones(3), beta=1.5), "beta"),
    (lambda: sap_masks(np.ones(3), beta=True), "beta"),
    (lambda: imp_masks(np.ones(3), None, 0.0), "density"),
    (lambda: imp_masks(np.ones(3), None, 1.5), "density"),
    (lambda: imp_masks(np.ones(3), None, 0.5, "neuron"), "scope"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def _mlp(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=optimizer, loss=keras.losses.
                  SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_sap_prune_on_digits():
    x, y = zoo.data.load_digits("train")
    with pytest.raises(ValueError, match="PruningOptimizer"):
        sap_prune(_mlp(keras.optimizers.Adam()), x, y, 1, 1)
    model = _mlp(PruningOptimizer(keras.optimizers.Adam(1e-2)))
    with pytest.raises(ValueError, match="iterations"):
        sap_prune(model, x, y, 0, 1)
    history = sap_prune(model, x, y, iterations=2, epochs_per_iteration=1,
                        batch_size=64, evaluation_data=
                        zoo.data.load_digits("val"))
    assert history["density"][0] == 1.0
    # Rewinding resets the inner optimizer: 17 steps of one round remain.
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 17
    assert history["density"][1] == history["pruned_density"][0]
    assert 0 < history["pruned_density"][1] < history["pruned_density"][0] \
        < 1.0
    first, second = history["masks"]
    for before, after in zip(first, second):
        assert not np.any(after & ~before)           # masks only shrink
    optimizer = model.optimizer
    for kernel, mask in zip(optimizer.pruned_variables, second):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(kernel)[~mask], 0.0)
    assert all(0.0 <= v < 1.0 for v in history["pqi"])
    assert history["accuracy"][0] > 0.5


def test_imp_masks_counts_and_scopes():
    small = np.arange(1.0, 11.0).reshape(2, 5)
    large = -np.arange(11.0, 21.0).reshape(5, 2)
    masks = imp_masks([small, large], None, 0.5)        # global: 10 of 20
    assert masks[0].dtype == np.float32
    np.testing.assert_array_equal(masks[0], np.zeros((2, 5)))
    np.testing.assert_array_equal(masks[1], np.ones((5, 2)))
    layer = imp_masks([small, large], None, 0.5, "layer")   # 5 of 10 each
    np.testing.assert_array_equal(layer[0].reshape(-1), [0] * 5 + [1] * 5)
    np.testing.assert_array_equal(layer[1].reshape(-1), [0] * 5 + [1] * 5)
    # The next round ranks the remaining weights only: a pruned weight
    # stays pruned whatever its magnitude.
    small[0, 0] = 1e6
    again = imp_masks([small, large], layer, 0.25, "layer")  # round(2.5)
    np.testing.assert_array_equal(again[0].reshape(-1), [0] * 8 + [1] * 2)
    np.testing.assert_array_equal(again[1].reshape(-1), [0] * 8 + [1] * 2)
    single = imp_masks(np.array([3.0, -1.0, 2.0, 0.5]), None, 0.5)
    np.testing.assert_array_equal(single, [1, 0, 1, 0])


def test_imp_prune_on_digits():
    x, y = zoo.data.load_digits("train")
    model = _mlp(PruningOptimizer(keras.optimizers.Adam(1e-2)))
    with pytest.raises(ValueError, match="rate"):
        imp_prune(model, x, y, 2, 1, rate=1.0)
    history = imp_prune(model, x, y, iterations=3, epochs_per_iteration=1,
                        rate=0.5, batch_size=64)
    # 2368 prunable weights: 1184, 592 and 296 kept after rounds 1-3.
    assert history["density"] == [1.0, 0.5, 0.25]
    assert history["pruned_density"] == [0.5, 0.25, 0.125]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 17
    for before, after in zip(history["masks"], history["masks"][1:]):
        for b, a in zip(before, after):
            assert not np.any(a & ~b)
    for kernel, mask in zip(model.optimizer.pruned_variables,
                            history["masks"][-1]):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(kernel)[~mask], 0.0)
    assert all(0.0 <= v < 1.0 for v in history["pqi"])
    assert history["accuracy"][0] > 0.5
