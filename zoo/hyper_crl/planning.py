"""Numpy dynamics models, prediction errors and CEM model-predictive control.

Every dynamics model of the benchmark (the hypernetwork's generated MLP
for a task, a baseline MLP, the true simulator) is reduced to a numpy
callable `(states, actions) -> next_states` on batches, so planning
costs no framework call per step.
"""

import numpy as np


def _activation(name):
    if name == "tanh":
        return np.tanh
    if name == "relu":
        return lambda z: np.maximum(z, 0.0)
    raise ValueError(
        f"`activation` must be 'tanh' or 'relu'. Received: {name!r}"
    )


class NumpyDynamics:
    """An MLP dynamics model `s' = s + f(s, a)` evaluated in numpy.

    Args:
        weights: list of `(kernel, bias)` arrays (Keras layout).
        stats: dict with `input_mean`, `input_std`, `delta_mean`,
            `delta_std` (the normalisation of inputs and state change).
        activation: `"tanh"` or `"relu"` (hidden layers).

    Example:

    ```python
    dyn = model.dynamics(task_id=2)
    next_states = dyn(states, actions)
    ```
    """

    def __init__(self, weights, stats, activation="tanh"):
        self.weights = [(np.asarray(k, "float64"), np.asarray(b, "float64"))
                        for k, b in weights]
        self.stats = {k: np.asarray(stats[k], "float64")
                      for k in ("input_mean", "input_std", "delta_mean",
                                "delta_std")}
        self.activation = activation
        self._act = _activation(activation)

    def normalized_delta(self, states, actions):
        """The MLP's output (normalised state change) on a batch.

        Args:
            states: array `(n, state_dim)`.
            actions: array `(n, action_dim)`.

        Returns:
            Array `(n, state_dim)`.
        """
        s = self.stats
        h = (np.concatenate([states, actions], -1) - s["input_mean"]) \
            / s["input_std"]
        last = len(self.weights) - 1
        for i, (k, b) in enumerate(self.weights):
            h = h @ k + b
            if i < last:
                h = self._act(h)
        return h

    def __call__(self, states, actions):
        s = self.stats
        return (np.asarray(states, "float64")
                + self.normalized_delta(states, actions) * s["delta_std"]
                + s["delta_mean"])


def one_step_mse(dynamics, states, actions, next_states, delta_std):
    """One-step prediction MSE in normalised units.

    `mean(((s_pred - s_true) / delta_std)^2)`: the error of the state
    change in units of its spread (the training loss's units).

    Args:
        dynamics: callable `(states, actions) -> next_states`.
        states: array `(n, state_dim)`.
        actions: array `(n, action_dim)`.
        next_states: array `(n, state_dim)`.
        delta_std: array `(state_dim,)`.

    Returns:
        float.

    Example:

    ```python
    one_step_mse(dyn, s, a, s2, model.backbone.delta_std)
    ```
    """
    err = (dynamics(states, actions) - next_states) / np.asarray(delta_std)
    return float(np.mean(err ** 2))


def open_loop_error(dynamics, states, actions):
    """Multi-step open-loop prediction error (raw state units).

    The model is rolled out from the true first state under the recorded
    actions, without seeing the true states again; the error is the mean
    squared state error over all steps, trajectories and dimensions.

    Args:
        dynamics: callable `(states, actions) -> next_states`.
        states: array `(n, steps + 1, state_dim)` true trajectories.
        actions: array `(n, steps, action_dim)`.

    Returns:
        float.

    Example:

    ```python
    s, a = envs.random_trajectories(env, 50, 20, seed=0)
    open_loop_error(dyn, s, a)
    ```
    """
    s = np.asarray(states[:, 0], "float64")
    errors = []
    for k in range(actions.shape[1]):
        s = dynamics(s, actions[:, k])
        errors.append(np.mean((s - states[:, k + 1]) ** 2))
    return float(np.mean(errors))


def cem_plan(dynamics, reward, state, action_low, action_high, horizon=15,
             population=200, elites=20, iterations=4, init_mean=None,
             rng=None):
    """Cross-entropy method over open-loop action sequences (vectorised).

    Samples `population` Gaussian action sequences (clipped to the
    bounds), scores each by the summed predicted reward over `horizon`
    steps of `dynamics`, refits mean and std to the `elites` best, and
    repeats `iterations` times.

    Args:
        dynamics: callable `(states, actions) -> next_states` on batches.
        reward: callable `(states, actions) -> rewards` on batches.
        state: array `(state_dim,)`, the current state.
        action_low: array `(action_dim,)`.
        action_high: array `(action_dim,)`.
        horizon: int.
        population: int.
        elites: int.
        iterations: int.
        init_mean: array `(horizon, action_dim)` or `None` (zeros): a
            warm start, e.g. the previous plan shifted by one step.
        rng: `np.random.Generator` or `None`.

    Returns:
        The planned mean sequence `(horizon, action_dim)`.

    Example:

    ```python
    plan = cem_plan(env.batch_step, env.reward, s, env.action_low,
                    env.action_high)
    ```

    Reference:
    - [Chua et al., 2018](https://arxiv.org/abs/1805.12114), "Deep
      Reinforcement Learning in a Handful of Trials using Probabilistic
      Dynamics Models" (CEM MPC with learned models).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    low, high = np.asarray(action_low), np.asarray(action_high)
    dim = low.shape[0]
    mean = np.zeros((horizon, dim)) if init_mean is None else np.array(
        init_mean, "float64")
    std = np.broadcast_to((high - low) / 2.0, (horizon, dim)).copy()
    for _ in range(iterations):
        seqs = np.clip(mean + std * rng.standard_normal(
            (population, horizon, dim)), low, high)
        s = np.repeat(np.asarray(state, "float64")[None], population, 0)
        total = np.zeros(population)
        for k in range(horizon):
            s = dynamics(s, seqs[:, k])
            total += reward(s, seqs[:, k])
        total = np.where(np.isfinite(total), total, -np.inf)
        best = seqs[np.argsort(-total)[:elites]]
        mean, std = best.mean(0), best.std(0) + 1e-3
    return mean


def run_mpc(env, dynamics, steps=100, seed=0, horizon=15, population=200,
            elites=20, iterations=4, random_actions=False):
    """Return of one episode under CEM MPC with a dynamics model.

    At every step CEM plans with `dynamics` (warm-started with the
    previous plan shifted), the first action is applied to the true
    environment, and its reward is summed.

    Args:
        env: a `zoo.hyper_crl.envs` environment (the truth).
        dynamics: callable model, or `None` for the true `env.batch_step`.
        steps: int. Episode length.
        seed: int. Start state and CEM sampling.
        horizon: int.
        population: int.
        elites: int.
        iterations: int.
        random_actions: bool. Uniform random actions instead of MPC.

    Returns:
        float, the episode return.

    Example:

    ```python
    run_mpc(make_env("pendulum", 0), model.dynamics(0))
    ```
    """
    rng = np.random.default_rng(seed)
    dynamics = env.batch_step if dynamics is None else dynamics
    s = env.reset(1, seed=seed)
    plan = None
    total = 0.0
    for _ in range(steps):
        if random_actions:
            a = rng.uniform(env.action_low, env.action_high,
                            (1, env.action_dim))
        else:
            plan = cem_plan(dynamics, env.reward, s[0], env.action_low,
                            env.action_high, horizon, population, elites,
                            iterations, init_mean=plan, rng=rng)
            a = plan[:1]
            plan = np.concatenate([plan[1:], plan[-1:]], 0)
        s_next = env.batch_step(s, a)
        total += float(env.reward(s_next, a)[0])
        s = s_next
    return total
