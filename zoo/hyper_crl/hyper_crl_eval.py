"""Evaluation of the `hyper_crl_pendulum` preset (`python -m zoo eval`)."""

import numpy as np

from zoo.hyper_crl import envs
from zoo.hyper_crl.continual import task_errors
from zoo.hyper_crl.planning import run_mpc

# CEM MPC settings of the evaluation and the benchmark.
MPC = dict(steps=100, horizon=15, population=200, elites=20, iterations=4)


def mpc_returns(env_name, dynamics_per_task, episodes=1, seed=0, **mpc):
    """CEM MPC return per task, with a given dynamics model per task.

    Args:
        env_name: env name.
        dynamics_per_task: list of callables (or `None` for the true
            model), one per task; the string `"random"` for uniform
            random actions.
        episodes: int. Episodes per task (start states seeded).
        seed: int.
        **mpc: `run_mpc` settings overriding `MPC`.

    Returns:
        List of mean returns, one per task.

    Example:

    ```python
    mpc_returns("pendulum", [model.dynamics(t) for t in range(5)])
    ```
    """
    settings = dict(MPC, **mpc)
    out = []
    for t, dyn in enumerate(dynamics_per_task):
        env = envs.make_env(env_name, t)
        rand = isinstance(dyn, str) and dyn == "random"
        out.append(float(np.mean([
            run_mpc(env, None if rand else dyn, seed=seed + 100 * t + e,
                    random_actions=rand, **settings)
            for e in range(episodes)])))
    return out


def evaluate_dynamics(model, split="test", env_name="pendulum",
                      mpc_episodes=1):
    """Continual-learning metrics of a trained `HyperCRLDynamics`.

    Per task, with the weights the hypernetwork generates now: one-step
    MSE of the normalised state change on fresh transitions, 20-step
    open-loop error under random actions, and the CEM MPC return. The
    same errors with the weights stored right after each task was
    learned (`stored_weights`) give forgetting: the mean error increase
    on all but the last task.

    Args:
        model: a trained `HyperCRLDynamics` (all tasks learned).
        split: `"test"` or `"val"`.
        env_name: env name.
        mpc_episodes: int. MPC episodes per task (`0`: skip MPC).

    Returns:
        A dict: `one_step_mse` and `open_loop_mse` (means over tasks),
        `forgetting_one_step`, `forgetting_open_loop`, `mpc_return`
        (mean), the per-task lists `*_per_task`, `num_tasks`.

    Example:

    ```python
    from zoo.hyper_crl.hyper_crl_eval import evaluate_dynamics
    evaluate_dynamics(zoo.load("hyper_crl_pendulum"))
    ```
    """
    from zoo.hyper_crl.hyper_crl_presets import load_streams

    n = model.backbone.num_tasks
    _, tests, rollouts = load_streams(env_name, n, split)
    stored = set(model.regularizer.stored_tasks())
    now, then = [], []
    for t in range(n):
        now.append(task_errors(model.dynamics(t), tests[t], rollouts[t],
                               model.backbone.delta_std))
        if t < n - 1:
            if t not in stored:
                raise ValueError(
                    f"The model holds no stored weights for task {t}; "
                    "was it trained on all tasks with start_task()?"
                )
            then.append(task_errors(
                model.dynamics(t, weights=model.stored_weights(t)),
                tests[t], rollouts[t], model.backbone.delta_std))
    now, then = np.asarray(now), np.asarray(then).reshape(-1, 2)
    returns = (mpc_returns(env_name, [model.dynamics(t) for t in range(n)],
                           episodes=mpc_episodes)
               if mpc_episodes > 0 else [])
    metrics = {
        "one_step_mse": float(now[:, 0].mean()),
        "open_loop_mse": float(now[:, 1].mean()),
        "forgetting_one_step": float(np.mean(now[:-1, 0] - then[:, 0]))
        if len(then) else 0.0,
        "forgetting_open_loop": float(np.mean(now[:-1, 1] - then[:, 1]))
        if len(then) else 0.0,
        "one_step_mse_per_task": now[:, 0].tolist(),
        "open_loop_mse_per_task": now[:, 1].tolist(),
        "num_tasks": n,
    }
    if returns:
        metrics["mpc_return"] = float(np.mean(returns))
        metrics["mpc_return_per_task"] = returns
    return metrics
