"""Task streams, continual training loops and metrics of HyperCRL.

Metrics over an error matrix `E[i, j]` (error on task j after training
task i; lower is better): final error per task `E[T-1, j]`, and
forgetting = mean_{j < T-1} (E[T-1, j] - E[j, j]), the increase of the
error on old tasks between right after learning them and the end.
"""

import numpy as np

from zoo.hyper_crl import envs
from zoo.hyper_crl.planning import one_step_mse
from zoo.hyper_crl.planning import open_loop_error

# Evaluation protocol: test transitions and 20-step random-action
# trajectories per task.
ROLLOUT_STEPS = 20


def normalization_stats(states, actions, next_states):
    """Normalisation of inputs and state changes from transitions.

    Args:
        states: array `(n, state_dim)`.
        actions: array `(n, action_dim)`.
        next_states: array `(n, state_dim)`.

    Returns:
        A dict of lists: `input_mean`, `input_std`, `delta_mean`,
        `delta_std` (stds floored at 1e-6).

    Example:

    ```python
    stats = normalization_stats(*envs.task_data("pendulum", 0, "train",
                                                 3000))
    ```
    """
    x = np.concatenate([states, actions], -1).astype("float64")
    d = (np.asarray(next_states) - np.asarray(states)).astype("float64")
    return {"input_mean": x.mean(0).tolist(),
            "input_std": np.maximum(x.std(0), 1e-6).tolist(),
            "delta_mean": d.mean(0).tolist(),
            "delta_std": np.maximum(d.std(0), 1e-6).tolist()}


def make_stream(env_name, num_tasks, split, n, seed_offset=0):
    """Transitions of every task of a sequence, for one split.

    Args:
        env_name: `"pendulum"` or `"cartpole"`.
        num_tasks: int.
        split: `"train"`, `"val"` or `"test"`.
        n: int. Transitions per task.
        seed_offset: int. Another seeded draw of the same tasks.

    Returns:
        List of `(states, actions, next_states)`.
    """
    return [envs.task_data(env_name, t, split, n, seed_offset)
            for t in range(num_tasks)]


def make_rollouts(env_name, num_tasks, n, steps=ROLLOUT_STEPS, seed=7):
    """Random-action test trajectories of every task.

    Args:
        env_name: env name.
        num_tasks: int.
        n: int. Trajectories per task.
        steps: int.
        seed: int.

    Returns:
        List of `(states, actions)` (see `envs.random_trajectories`).
    """
    return [envs.random_trajectories(envs.make_env(env_name, t), n, steps,
                                     seed + 31 * t)
            for t in range(num_tasks)]


def task_errors(dynamics, transitions, rollouts, delta_std):
    """One-step MSE (normalised) and open-loop error of one model.

    Args:
        dynamics: callable `(states, actions) -> next_states`.
        transitions: `(states, actions, next_states)`.
        rollouts: `(states, actions)` trajectories.
        delta_std: array `(state_dim,)`.

    Returns:
        `(one_step_mse, open_loop_error)` floats.
    """
    return (one_step_mse(dynamics, *transitions, delta_std),
            open_loop_error(dynamics, *rollouts))


def forgetting(matrix):
    """Mean error increase on old tasks (end minus right after learning).

    Args:
        matrix: array `(T, T)`, `E[i, j]` = error on task j after task i.

    Returns:
        float (0 for one task).

    Example:

    ```python
    forgetting(np.array([[0.1, 5.0], [0.4, 0.1]]))  # 0.3
    ```
    """
    e = np.asarray(matrix, "float64")
    if e.ndim != 2 or e.shape[0] != e.shape[1] or e.shape[0] < 1:
        raise ValueError(
            f"`matrix` must be square (T, T). Received shape {e.shape}"
        )
    t = e.shape[0]
    if t == 1:
        return 0.0
    return float(np.mean([e[t - 1, j] - e[j, j] for j in range(t - 1)]))


def train_hypernet_sequence(model, train_tasks, test_tasks, rollouts,
                            epochs, batch_size=64, seed=0, verbose=0,
                            on_task_end=None):
    """Trains a `HyperCRLDynamics` on a task stream, in order.

    For each task t: `model.start_task(t)` stores the weights of tasks
    < t, then `fit` on task t's normalised state changes with task id t;
    afterwards every task is evaluated with the weights generated now.

    Args:
        model: a compiled `zoo.HyperCRLDynamics`.
        train_tasks: list of `(states, actions, next_states)`.
        test_tasks: list of the same, one per task.
        rollouts: list of `(states, actions)` trajectories, one per task.
        epochs: int. Epochs per task.
        batch_size: int.
        seed: int.
        verbose: int. Keras verbosity.
        on_task_end: optional callable `(task_id, one_step_row)`.

    Returns:
        `(one_step, open_loop)`: error matrices `(T, T)`.

    Example:

    ```python
    e1, e20 = train_hypernet_sequence(model, tr, te, ro, epochs=2)
    ```
    """
    import keras

    keras.utils.set_random_seed(seed)
    backbone = model.backbone
    n = len(train_tasks)
    one, multi = np.zeros((n, n)), np.zeros((n, n))
    for t, (s, a, s2) in enumerate(train_tasks):
        model.start_task(t)
        x = {"state": s, "action": a,
             "task_id": np.full(len(s), t, "int32")}
        model.fit(x, backbone.normalize_delta(s, s2), epochs=epochs,
                  batch_size=batch_size, shuffle=True, verbose=verbose)
        for j in range(n):
            one[t, j], multi[t, j] = task_errors(
                model.dynamics(j), test_tasks[j], rollouts[j],
                backbone.delta_std)
        if on_task_end is not None:
            on_task_end(t, one[t].copy())
    return one, multi
