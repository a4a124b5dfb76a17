"""HyperCRL: environment physics, task conditioning, the output
regulariser on a tiny two-task run, EWC's Fisher and CEM planning."""

import numpy as np
import pytest

from zoo.hyper_crl import envs
from zoo.hyper_crl.baselines import DynamicsMLP
from zoo.hyper_crl.continual import forgetting
from zoo.hyper_crl.hyper_crl_family import _build_tiny
from zoo.hyper_crl.planning import run_mpc


def test_pendulum_conserves_energy_without_torque():
    env = envs.Pendulum(mass=1.3, length=0.7, gravity=9.0, dt=1e-3,
                        max_speed=1e9)
    th, thdot = np.array([0.3, 2.0, -1.0]), np.array([0.0, 1.0, -3.0])
    e0 = env.energy(th, thdot)
    for _ in range(2000):
        th, thdot = env.step_angles(th, thdot, np.zeros(3))
    np.testing.assert_allclose(env.energy(th, thdot), e0, rtol=5e-3)
    # The energy does change with torque.
    th2, thdot2 = env.step_angles(np.array([0.3]), np.array([1.0]),
                                  np.array([2.0]))
    assert abs(env.energy(th2, thdot2)[0] - env.energy(0.3, 1.0)) > 1e-3


def test_pendulum_analytic_step_and_observation():
    env = envs.Pendulum(mass=2.0, length=0.5, gravity=10.0)
    obs = env.to_obs(np.array([np.pi / 2]), np.array([0.0]))
    nxt = env.batch_step(obs, np.array([[1.0]]))
    # thdot = (3 g / (2 l) sin(pi/2) + 3 u / (m l^2)) dt = (30 + 6) * 0.05
    thdot = (3 * 10.0 / (2 * 0.5) + 3.0 / (2.0 * 0.25)) * 0.05
    np.testing.assert_allclose(nxt[0, 2], thdot, rtol=1e-12)
    np.testing.assert_allclose(
        np.arctan2(nxt[0, 1], nxt[0, 0]), np.pi / 2 + thdot * 0.05,
        rtol=1e-12)
    # Torque and speed are clipped.
    big = env.batch_step(env.to_obs(np.array([0.0]), np.array([7.9])),
                         np.array([[50.0]]))
    assert big[0, 2] == env.max_speed
    assert env.reward(env.to_obs(np.array([0.0]), np.array([0.0])),
                      np.zeros((1, 1)))[0] == 0.0


def test_cartpole_conserves_energy_without_force():
    env = envs.CartPole(pole_mass=0.3, length=0.6, dt=5e-4)
    s = np.array([[0.0, 0.5, 0.3, 0.0], [0.0, -1.0, 2.0, 1.0]])
    e0 = env.energy(s)
    for _ in range(2000):
        s = env.batch_step(s, np.zeros((2, 1)))
    np.testing.assert_allclose(env.energy(s), e0, rtol=1e-2)


def test_task_variants_and_data_are_seeded():
    assert len(envs.PENDULUM_TASKS) == len(envs.CARTPOLE_TASKS) == 5
    a = envs.task_data("pendulum", 2, "train", 50)
    b = envs.task_data("pendulum", 2, "train", 50)
    c = envs.task_data("pendulum", 3, "train", 50)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])
    s, act = envs.random_trajectories(envs.make_env("cartpole", 1), 4, 6,
                                      seed=0)
    assert s.shape == (4, 7, 4) and act.shape == (4, 6, 1)
    with pytest.raises(ValueError, match="task_id"):
        envs.make_env("pendulum", 5)


def _batch(n, task, seed=0):
    rng = np.random.default_rng(seed)
    return {"state": rng.normal(0, 1, (n, 3)).astype("float32"),
            "action": rng.uniform(-2, 2, (n, 1)).astype("float32"),
            "task_id": np.full(n, task, "int32")}


def test_task_conditioning_and_numpy_dynamics():
    model = _build_tiny(0)
    x0, x1 = _batch(6, 0), _batch(6, 1)
    x1["state"], x1["action"] = x0["state"], x0["action"]
    y0 = model.predict(x0, verbose=0)
    y0_again = model.predict(x0, verbose=0)
    y1 = model.predict(x1, verbose=0)
    np.testing.assert_array_equal(y0, y0_again)
    assert np.max(np.abs(y0 - y1)) > 1e-3
    # The numpy dynamics of a task is the model's prediction, denormalised.
    nxt = model.dynamics(1)(x1["state"], x1["action"])
    np.testing.assert_allclose(
        nxt, model.backbone.next_state(x1["state"], y1), atol=1e-4)
    # Normalisation round trip.
    b = model.backbone
    s2 = x0["state"] + 0.1
    np.testing.assert_allclose(
        b.next_state(x0["state"], b.normalize_delta(x0["state"], s2)), s2,
        atol=1e-5)
    assert b.num_target_params == 43


def _drift(beta):
    import keras

    keras.utils.set_random_seed(0)
    model = _build_tiny(0)
    from zoo.hyper_crl.hyper_crl_dynamics import HyperCRLDynamics

    model = HyperCRLDynamics(model.backbone, beta=beta)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.start_task(1)  # task 0 as it is now
    before = model.generated_weights(0)
    np.testing.assert_allclose(model.stored_weights(0), before, atol=1e-6)
    x = _batch(64, 1)
    y = np.random.default_rng(1).normal(0, 1, (64, 3)).astype("float32")
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    return float(np.sum((model.generated_weights(0) - before) ** 2))


def test_output_regularizer_reduces_drift_of_old_task():
    free, anchored = _drift(0.0), _drift(5.0)
    assert free > 0
    assert anchored < 0.2 * free, (anchored, free)


def test_ewc_fisher_matches_finite_differences():
    model = DynamicsMLP(3, (4,), 2, seed=0)
    x = np.random.default_rng(0).normal(0, 1, (5, 3))
    fisher = model.fisher_diagonal(x)
    pairs = model.numpy_weights()

    def outputs(kernel0):
        h = np.tanh(x @ kernel0 + pairs[0][1])
        return h @ pairs[1][0] + pairs[1][1]

    eps, k0 = 1e-6, pairs[0][0]
    expected = np.zeros_like(k0)
    for i in range(k0.shape[0]):
        for j in range(k0.shape[1]):
            k = k0.copy()
            k[i, j] += eps
            grad = (outputs(k) - outputs(k0)) / eps  # (n, outputs)
            expected[i, j] = np.mean(np.sum(grad ** 2, 1))
    np.testing.assert_allclose(fisher[0], expected, rtol=1e-3, atol=1e-8)


def test_forgetting_metric():
    e = np.array([[0.1, 9.0, 9.0], [0.3, 0.2, 9.0], [0.5, 0.4, 0.1]])
    assert forgetting(e) == pytest.approx(((0.5 - 0.1) + (0.4 - 0.2)) / 2)
    assert forgetting(np.array([[0.3]])) == 0.0


def test_cem_beats_random_actions_with_true_model():
    env = envs.make_env("cartpole", 0)
    settings = dict(steps=100, horizon=8, population=60, elites=8,
                    iterations=2)
    planned = run_mpc(env, None, seed=0, **settings)
    random = run_mpc(env, None, seed=0, random_actions=True, **settings)
    # Balancing: MPC keeps the pole up (about 100), random lets it fall.
    assert planned > random + 30.0, (planned, random)
