"""Tests of the SVH-PSL family: GP posterior, SVGD, the optimisation loop.

The layer and the tiny `ParetoSetModel` also go through the shared
harness (`tests/cases.py`, `zoo/svh_psl/svh_psl_family.py`).
"""

import numpy as np
import pytest
from keras import ops

import layers
from layers.svh_psl import svgd_direction
from layers.svh_psl import tchebycheff
from layers.svh_psl import tchebycheff_gradient
from zoo.svh_psl.svh_psl_gp import fit_gp
from zoo.svh_psl.svh_psl_gp import gp_layer


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), "float64")


def _data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.stack([np.sin(2 * x[:, 0]) + x[:, 1],
                  2.0 * (x[:, 2] - 0.5) ** 2 + x[:, 0]], axis=1)
    return x, y


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_posterior_and_gradient_match_sklearn(kernel):
    x, y = _data()
    state, gps = fit_gp(x, y, kernel=kernel)
    gp = gp_layer(16, 3, 2, kernel=kernel, beta=0.3, state=state)
    xt = np.random.default_rng(1).random((4, 3))
    x32 = xt.astype("float32")
    mean, std = gp.posterior(x32)
    lcb = _np(gp(x32))
    for j, model in enumerate(gps):
        m, s = model.predict(xt, return_std=True)
        np.testing.assert_allclose(_np(mean)[:, j], m, atol=2e-3)
        np.testing.assert_allclose(_np(std)[:, j], s, atol=2e-3)
        np.testing.assert_allclose(lcb[:, j], m - 0.3 * s, atol=3e-3)
    # Zero padding up to the capacity is exact in exact arithmetic (the
    # float32 sums run in another order: the RBF Gram is ill-conditioned).
    unpadded = _np(gp_layer(12, 3, 2, kernel=kernel, beta=0.3,
                            state=state)(x32))
    np.testing.assert_allclose(unpadded, lcb, atol=3e-4)
    # The closed-form gradient: central differences of scikit-learn's
    # float64 predictions.
    value, grad = gp.lcb_and_gradient(x32)
    np.testing.assert_allclose(_np(value), lcb, atol=1e-5)

    def reference(points):
        out = [g.predict(points, return_std=True) for g in gps]
        return np.stack([m - 0.3 * s for m, s in out], axis=1)

    eps = 1e-5
    fd = np.zeros((4, 2, 3))
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        fd[:, :, i] = (reference(xt + step) - reference(xt - step)) / (
            2 * eps)
    np.testing.assert_allclose(_np(grad), fd,
                               atol=2e-2 * max(np.abs(fd).max(), 1e-3))


def test_layer_argument_errors():
    x, y = _data(n=5)
    state, _ = fit_gp(x, y)
    with pytest.raises(ValueError, match="At most num_train=4"):
        gp_layer(4, 3, 2, state=state)
    with pytest.raises(ValueError, match="kernel"):
        layers.GaussianProcessPosterior(4, 3, 2, kernel="linear")
    with pytest.raises(ValueError, match="beta"):
        layers.GaussianProcessPosterior(4, 3, 2, beta=-1.0)


def test_tchebycheff_and_its_gradient():
    values = np.array([[0.5, 2.0], [1.0, 0.1]], "float32")
    prefs = np.array([[0.5, 0.5], [0.9, 0.1]], "float32")
    ideal = np.array([0.0, 0.0], "float32")
    scale = np.array([1.0, 2.0], "float32")
    g = _np(tchebycheff(values, prefs, ideal, scale))
    np.testing.assert_allclose(g, [0.5, 0.9], rtol=1e-6)
    grads = np.arange(12, dtype="float32").reshape(2, 2, 3)
    out = _np(tchebycheff_gradient(values, grads, prefs, ideal, scale))
    np.testing.assert_allclose(out[0], 0.25 * grads[0, 1], rtol=1e-6)
    np.testing.assert_allclose(out[1], 0.9 * grads[1, 0], rtol=1e-6)


def _svgd_reference(x, grad, h):
    n = len(x)
    phi = np.zeros_like(x)
    for i in range(n):
        for j in range(n):
            k = np.exp(-np.sum((x[j] - x[i]) ** 2) / h)
            phi[i] += k * grad[j] + (-2.0 / h) * (x[j] - x[i]) * k
    return phi / n


def test_svgd_direction_matches_reference_and_repels():
    rng = np.random.default_rng(4)
    x = rng.random((5, 3)).astype("float32")
    grad = rng.normal(size=(5, 3)).astype("float32")
    out = _np(svgd_direction(x, grad, bandwidth=0.3))
    np.testing.assert_allclose(out, _svgd_reference(x, grad, 0.3),
                               rtol=1e-4, atol=1e-5)
    sq = np.sum((x[:, None] - x[None]) ** 2, -1)
    h = np.median(sq) / np.log(6.0)
    np.testing.assert_allclose(_np(svgd_direction(x, grad)),
                               _svgd_reference(x, grad, h), rtol=1e-4,
                               atol=1e-5)
    # One particle: plain gradient ascent on log p.
    np.testing.assert_allclose(_np(svgd_direction(x[:1], grad[:1])),
                               grad[:1], rtol=1e-6)
    # No driving force: two particles move apart.
    pair = np.array([[0.4, 0.5], [0.6, 0.5]], "float32")
    phi = _np(svgd_direction(pair, np.zeros_like(pair)))
    assert phi[0, 0] < 0 < phi[1, 0]


@pytest.mark.parametrize("method", ["psl", "svh_psl"])
def test_run_mobo_spends_the_budget(method):
    from zoo.svh_psl.svh_psl_training import run_mobo

    result = run_mobo("zdt1", method, seed=0, config=dict(
        num_initial=6, num_batches=1, batch_size=2, steps=4, particles=4,
        hidden_dim=8, candidates=6, steps_per_execution=1))
    assert result["x"].shape == (8, 6) and result["y"].shape == (8, 2)
    assert np.all((result["x"] >= 0) & (result["x"] <= 1))
    metrics = result["metrics"]
    assert set(metrics) == {"hypervolume", "igd", "evaluated_hypervolume",
                            "evaluated_igd"}
    assert all(np.isfinite(v) and v >= 0 for v in metrics.values())


def test_run_mobo_and_evaluator_errors():
    from zoo.svh_psl.svh_psl_eval import evaluate_svh_psl
    from zoo.svh_psl.svh_psl_training import ParetoSetTrainer
    from zoo.svh_psl.svh_psl_training import build_pareto_set_model
    from zoo.svh_psl.svh_psl_training import run_mobo

    with pytest.raises(ValueError, match="Unknown problem"):
        run_mobo("zdt9", "psl")
    model = build_pareto_set_model(2, num_var=3, hidden_dim=4)
    with pytest.raises(ValueError, match="Unknown method"):
        ParetoSetTrainer(model, gp_layer(4, 3, 2), "nsga")
    with pytest.raises(ValueError, match="num_var=6"):
        evaluate_svh_psl(model)


def test_problems_and_metrics():
    from zoo.svh_psl.svh_psl_problems import PROBLEMS
    from zoo.svh_psl.svh_psl_problems import front_metrics
    from zoo.svh_psl.svh_psl_problems import pareto_front
    from zoo.svh_psl.svh_psl_problems import preference_grid

    for name, m in PROBLEMS.items():
        front = pareto_front(name)
        assert front.shape[1] == m
        metrics = front_metrics(name, front)
        assert metrics["igd"] < 1e-9 and metrics["hypervolume"] > 0.1
        grid = preference_grid(m, 100)
        assert len(grid) >= 100
        np.testing.assert_allclose(grid.sum(1), 1.0, rtol=1e-6)
