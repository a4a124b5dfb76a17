"""Pendulum and cart-pole dynamics in numpy, with task variants.

Both environments step a batch of states at once (`batch_step`), have a
reward per transition and a fixed, seeded sequence of task variants
(mass, length, gravity). They are the continual model-based RL
benchmark of `zoo.hyper_crl` (HyperCRL's robosuite and MuJoCo tasks do
not run here; these are the CPU stand-ins of the issue).

- `Pendulum`: the torque-limited pendulum of OpenAI Gym
  (`Pendulum-v1` equations: a uniform rod of mass `m` and length `l`
  about its end, angle 0 upright, `thddot = 3 g / (2 l) sin(th) +
  3 u / (m l^2)`), semi-implicit Euler with `dt = 0.05`, speed clipped
  to 8 and torque to 2. Observation `[cos th, sin th, thdot]`; reward
  `-(th^2 + 0.1 thdot^2 + 0.001 u^2)` with `th` wrapped to
  `[-pi, pi)`.
- `CartPole`: the cart-pole of Gym (Barto et al. equations, pole of
  half-length `l`, angle 0 upright) with a continuous force
  `u * force_mag`, `u` in `[-1, 1]`, semi-implicit Euler with
  `dt = 0.02`. State `[x, xdot, th, thdot]`; reward
  `cos th - 0.01 x^2 - 0.001 u^2` (keep the pole up, near the centre).
"""

import numpy as np

# Task variants, in the fixed order the tasks are learned.
PENDULUM_TASKS = (
    dict(mass=1.0, length=1.0, gravity=10.0),
    dict(mass=0.5, length=1.0, gravity=10.0),
    dict(mass=1.0, length=1.6, gravity=10.0),
    dict(mass=1.0, length=1.0, gravity=16.0),
    dict(mass=2.0, length=0.8, gravity=6.0),
)
CARTPOLE_TASKS = (
    dict(pole_mass=0.1, length=0.5, gravity=9.8, cart_mass=1.0),
    dict(pole_mass=0.3, length=0.5, gravity=9.8, cart_mass=1.0),
    dict(pole_mass=0.1, length=1.0, gravity=9.8, cart_mass=1.0),
    dict(pole_mass=0.1, length=0.5, gravity=15.0, cart_mass=1.0),
    dict(pole_mass=0.2, length=0.3, gravity=9.8, cart_mass=0.5),
)


def angle_normalize(th):
    """Wraps angles to `[-pi, pi)`.

    Args:
        th: array of angles (radians).

    Returns:
        The wrapped angles.
    """
    return ((np.asarray(th) + np.pi) % (2 * np.pi)) - np.pi


class Pendulum:
    """Torque-limited pendulum (Gym `Pendulum-v1`) with task variants.

    Args:
        mass: float. Rod mass.
        length: float. Rod length.
        gravity: float.
        dt: float. Time step.
        max_speed: float. Angular speed clip.
        max_torque: float. Torque clip.

    Example:

    ```python
    env = Pendulum(**PENDULUM_TASKS[1])
    obs = env.reset(4, seed=0)
    obs2 = env.batch_step(obs, np.zeros((4, 1)))
    ```
    """

    state_dim = 3
    action_dim = 1
    name = "pendulum"

    def __init__(self, mass=1.0, length=1.0, gravity=10.0, dt=0.05,
                 max_speed=8.0, max_torque=2.0):
        self.mass = float(mass)
        self.length = float(length)
        self.gravity = float(gravity)
        self.dt = float(dt)
        self.max_speed = float(max_speed)
        self.max_torque = float(max_torque)
        self.action_low = np.array([-self.max_torque])
        self.action_high = np.array([self.max_torque])

    @staticmethod
    def to_obs(th, thdot):
        """Observation `[cos th, sin th, thdot]` of angles and speeds.

        Args:
            th: array `(n,)`.
            thdot: array `(n,)`.

        Returns:
            Array `(n, 3)`.
        """
        return np.stack([np.cos(th), np.sin(th), thdot], -1)

    def step_angles(self, th, thdot, u):
        """One step on angles and speeds (no observation).

        Args:
            th: array `(n,)`.
            thdot: array `(n,)`.
            u: array `(n,)` torques (clipped).

        Returns:
            `(th, thdot)` after one step.
        """
        u = np.clip(u, -self.max_torque, self.max_torque)
        m, ln, g, dt = self.mass, self.length, self.gravity, self.dt
        acc = 3 * g / (2 * ln) * np.sin(th) + 3.0 / (m * ln * ln) * u
        thdot = np.clip(thdot + acc * dt, -self.max_speed, self.max_speed)
        return th + thdot * dt, thdot

    def batch_step(self, obs, actions):
        """Next observations of a batch.

        Args:
            obs: array `(n, 3)`.
            actions: array `(n, 1)`.

        Returns:
            Array `(n, 3)`.
        """
        obs = np.asarray(obs, "float64")
        th = np.arctan2(obs[:, 1], obs[:, 0])
        th, thdot = self.step_angles(th, obs[:, 2],
                                     np.asarray(actions)[:, 0])
        return self.to_obs(th, thdot)

    def reward(self, obs, actions):
        """Reward of being in `obs` and applying `actions` (batch).

        Args:
            obs: array `(..., 3)`.
            actions: array `(..., 1)`.

        Returns:
            Array `(...)`.
        """
        th = np.arctan2(obs[..., 1], obs[..., 0])
        u = np.clip(actions[..., 0], -self.max_torque, self.max_torque)
        return -(th ** 2 + 0.1 * obs[..., 2] ** 2 + 0.001 * u ** 2)

    def sample_states(self, n, rng):
        """Uniform states over the reachable domain.

        Args:
            n: int.
            rng: `np.random.Generator`.

        Returns:
            Array `(n, 3)`.
        """
        th = rng.uniform(-np.pi, np.pi, n)
        thdot = rng.uniform(-self.max_speed, self.max_speed, n)
        return self.to_obs(th, thdot)

    def reset(self, n, seed=0):
        """Start states of an episode: hanging down, small noise.

        Args:
            n: int.
            seed: int.

        Returns:
            Array `(n, 3)`.
        """
        rng = np.random.default_rng(seed)
        th = np.pi + rng.uniform(-0.2, 0.2, n)
        return self.to_obs(th, rng.uniform(-0.2, 0.2, n))

    def energy(self, th, thdot):
        """Mechanical energy (rod about its end, angle 0 upright).

        Args:
            th: array.
            thdot: array.

        Returns:
            `m l^2 / 6 * thdot^2 + m g l / 2 * cos th`.
        """
        m, ln, g = self.mass, self.length, self.gravity
        return m * ln * ln / 6.0 * thdot ** 2 + m * g * ln / 2.0 * np.cos(th)


class CartPole:
    """Cart-pole with a continuous force, with task variants.

    Args:
        pole_mass: float.
        length: float. Half the pole length (Gym's convention).
        gravity: float.
        cart_mass: float.
        force_mag: float. Force of action 1.
        dt: float. Time step.

    Example:

    ```python
    env = CartPole(**CARTPOLE_TASKS[2])
    s = env.reset(3, seed=0)
    s2 = env.batch_step(s, np.ones((3, 1)))
    ```
    """

    state_dim = 4
    action_dim = 1
    name = "cartpole"

    def __init__(self, pole_mass=0.1, length=0.5, gravity=9.8,
                 cart_mass=1.0, force_mag=10.0, dt=0.02):
        self.pole_mass = float(pole_mass)
        self.length = float(length)
        self.gravity = float(gravity)
        self.cart_mass = float(cart_mass)
        self.force_mag = float(force_mag)
        self.dt = float(dt)
        self.action_low = np.array([-1.0])
        self.action_high = np.array([1.0])

    def accelerations(self, state, force):
        """Cart and pole accelerations (Gym's cart-pole equations).

        Args:
            state: array `(n, 4)`.
            force: array `(n,)`.

        Returns:
            `(xacc, thacc)`.
        """
        _, _, th, thdot = np.moveaxis(np.asarray(state, "float64"), -1, 0)
        m, mc, ln, g = self.pole_mass, self.cart_mass, self.length, \
            self.gravity
        total = m + mc
        cos, sin = np.cos(th), np.sin(th)
        temp = (force + m * ln * thdot ** 2 * sin) / total
        thacc = (g * sin - cos * temp) / (
            ln * (4.0 / 3.0 - m * cos ** 2 / total))
        xacc = temp - m * ln * thacc * cos / total
        return xacc, thacc

    def batch_step(self, state, actions):
        """Next states of a batch (semi-implicit Euler).

        Args:
            state: array `(n, 4)`.
            actions: array `(n, 1)` in `[-1, 1]` (clipped).

        Returns:
            Array `(n, 4)`.
        """
        state = np.asarray(state, "float64")
        force = np.clip(np.asarray(actions)[:, 0], -1, 1) * self.force_mag
        xacc, thacc = self.accelerations(state, force)
        xdot = state[:, 1] + self.dt * xacc
        thdot = state[:, 3] + self.dt * thacc
        return np.stack([state[:, 0] + self.dt * xdot, xdot,
                         state[:, 2] + self.dt * thdot, thdot], -1)

    def reward(self, state, actions):
        """Reward `cos th - 0.01 x^2 - 0.001 u^2` (batch).

        Args:
            state: array `(..., 4)`.
            actions: array `(..., 1)`.

        Returns:
            Array `(...)`.
        """
        u = np.clip(actions[..., 0], -1, 1)
        return np.cos(state[..., 2]) - 0.01 * state[..., 0] ** 2 \
            - 0.001 * u ** 2

    def sample_states(self, n, rng):
        """Uniform states: `|x| < 2`, `|xdot| < 3`, any angle, `|thdot| < 6`.

        Args:
            n: int.
            rng: `np.random.Generator`.

        Returns:
            Array `(n, 4)`.
        """
        return np.stack([rng.uniform(-2, 2, n), rng.uniform(-3, 3, n),
                         rng.uniform(-np.pi, np.pi, n),
                         rng.uniform(-6, 6, n)], -1)

    def reset(self, n, seed=0):
        """Start states near upright at rest (balancing task).

        Args:
            n: int.
            seed: int.

        Returns:
            Array `(n, 4)`.
        """
        rng = np.random.default_rng(seed)
        return rng.uniform(-0.05, 0.05, (n, 4)) + np.array(
            [0.0, 0.0, 0.15, 0.0])

    def energy(self, state):
        """Mechanical energy of cart and uniform pole (half-length `l`).

        Args:
            state: array `(..., 4)`.

        Returns:
            Kinetic plus potential energy.
        """
        _, xdot, th, thdot = np.moveaxis(np.asarray(state), -1, 0)
        m, mc, ln, g = self.pole_mass, self.cart_mass, self.length, \
            self.gravity
        kinetic = 0.5 * (m + mc) * xdot ** 2 \
            + m * ln * xdot * thdot * np.cos(th) \
            + 0.5 * (4.0 / 3.0) * m * ln * ln * thdot ** 2
        return kinetic + m * g * ln * np.cos(th)


ENVS = {"pendulum": (Pendulum, PENDULUM_TASKS),
        "cartpole": (CartPole, CARTPOLE_TASKS)}


def make_env(name, task_id):
    """The environment of one task of a sequence.

    Args:
        name: `"pendulum"` or `"cartpole"`.
        task_id: int, index into the env's task sequence.

    Returns:
        A `Pendulum` or `CartPole`.

    Example:

    ```python
    env = make_env("pendulum", 3)  # gravity 16
    ```
    """
    if name not in ENVS:
        raise ValueError(
            f"`name` must be one of {sorted(ENVS)}. Received: {name!r}"
        )
    cls, tasks = ENVS[name]
    if not 0 <= int(task_id) < len(tasks):
        raise ValueError(
            f"`task_id` must be in [0, {len(tasks)}). Received: {task_id!r}"
        )
    return cls(**tasks[int(task_id)])


def random_transitions(env, n, seed):
    """Random transitions: uniform states and actions, one true step.

    Args:
        env: a `Pendulum` or `CartPole`.
        n: int.
        seed: int.

    Returns:
        `(states, actions, next_states)` float32 arrays.

    Example:

    ```python
    s, a, s2 = random_transitions(make_env("pendulum", 0), 1000, seed=0)
    ```
    """
    rng = np.random.default_rng(seed)
    states = env.sample_states(n, rng)
    actions = rng.uniform(env.action_low, env.action_high,
                          (n, env.action_dim))
    nxt = env.batch_step(states, actions)
    return (states.astype("float32"), actions.astype("float32"),
            nxt.astype("float32"))


def random_trajectories(env, n, steps, seed):
    """Open-loop trajectories under random actions, from uniform states.

    Args:
        env: a `Pendulum` or `CartPole`.
        n: int. Trajectories.
        steps: int. Steps per trajectory.
        seed: int.

    Returns:
        `(states, actions)`: float32 `(n, steps + 1, state_dim)` and
        `(n, steps, action_dim)`.
    """
    rng = np.random.default_rng(seed)
    s = env.sample_states(n, rng)
    actions = rng.uniform(env.action_low, env.action_high,
                          (n, steps, env.action_dim))
    states = [s]
    for k in range(steps):
        s = env.batch_step(s, actions[:, k])
        states.append(s)
    return (np.stack(states, 1).astype("float32"),
            actions.astype("float32"))


# Data seeds: task t, split s uses seed DATA_SEED + 10 * t + SPLITS[s].
DATA_SEED = 2020
SPLITS = {"train": 0, "val": 1, "test": 2}


def task_data(name, task_id, split, n, seed_offset=0):
    """Seeded random transitions of one task and split.

    Args:
        name: env name.
        task_id: int.
        split: `"train"`, `"val"` or `"test"`.
        n: int. Transitions.
        seed_offset: int. Added to the data seed (other draws).

    Returns:
        `(states, actions, next_states)`.
    """
    if split not in SPLITS:
        raise ValueError(
            f"`split` must be one of {sorted(SPLITS)}. Received: {split!r}"
        )
    seed = DATA_SEED + 10 * int(task_id) + SPLITS[split] + 1000 * seed_offset
    return random_transitions(make_env(name, task_id), n, seed)
