"""HyperCRL benchmark: continual pendulum dynamics, 4 methods, CEM MPC.

Usage (what `make bench` runs):

    KERAS_BACKEND=jax python scripts/bench_hyper_crl.py
    KERAS_BACKEND=jax python scripts/bench_hyper_crl.py --env cartpole

Five pendulum variants (mass, length, gravity; `zoo.hyper_crl.envs`)
are learned in sequence from 3000 random transitions each by:
- `hyper_crl`: the task-conditioned hypernetwork generating a 4-32-32-3
  tanh dynamics MLP, output regulariser beta 0.05 (the preset recipe);
- `finetune`: one MLP of the same size trained task after task;
- `ewc`: the same with online EWC (diagonal Fisher summed over tasks);
  lambda picked from `--ewc-grid` on the validation split (seed 0,
  lowest mean final one-step validation MSE over the tasks);
- `independent`: one fresh MLP per task (the reference without
  forgetting, 5x the parameters).
Same optimiser (Adam 1e-3), batch 64 and epochs per task for all.
After the last task, per task: one-step MSE of the normalised state
change (1000 test transitions), 20-step open-loop MSE (100 random-action
trajectories), the same right after the task was learned, and the CEM
MPC return (100 steps from hanging down, horizon 15, 200 samples, 20
elites, 4 iterations; `--episodes` per task) with each model, plus the
true model and random actions as references.

Writes:
- `scripts/results/results-hyper-crl.csv`: one row per (method, task)
  averaged over seeds, and a `mean` row per method (forgetting, the
  ratio to fine-tuning's and the target, HyperCRL forgetting <= 1/3 of
  fine-tuning's);
- `scripts/results/hyper-crl-errors.png`: final error per task per
  method.
With `--env cartpole` the same protocol runs on the five cart-pole
variants (`envs.CARTPOLE_TASKS`; MPC balances the pole from near
upright) and writes `results-hyper-crl-cartpole.csv` and
`hyper-crl-errors-cartpole.png`.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from zoo.hyper_crl.baselines import train_baseline_sequence  # noqa: E402
from zoo.hyper_crl.continual import forgetting  # noqa: E402
from zoo.hyper_crl.continual import train_hypernet_sequence  # noqa: E402
from zoo.hyper_crl.hyper_crl_eval import mpc_returns  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import BATCH_SIZE  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import ENV_NAME  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import EPOCHS_PER_TASK  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import LEARNING_RATE  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import NUM_TASKS  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import TARGET  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import build_dynamics_model  # noqa
from zoo.hyper_crl.hyper_crl_presets import load_streams  # noqa: E402
from zoo.hyper_crl.hyper_crl_presets import preset_stats  # noqa: E402

METHODS = ("hyper_crl", "finetune", "ewc", "independent")
COLUMNS = ("model", "task", "dataset", "split", "one_step_mse",
           "one_step_mse_just_trained", "open_loop_mse",
           "open_loop_mse_just_trained", "forgetting_one_step",
           "forgetting_open_loop", "mpc_return", "param_count",
           "ewc_lambda", "seeds", "epochs_per_task", "batch_size",
           "mpc_episodes", "forgetting_ratio_vs_finetune",
           "target_forgetting_le_third", "backend", "precision", "cpu",
           "command")


def _run(env, method, streams, stats, epochs, seed, ewc_lambda):
    train, evals, rollouts = streams
    if method == "hyper_crl":
        model = build_dynamics_model(env, seed=seed)
        one, multi = train_hypernet_sequence(
            model, train, evals, rollouts, epochs, BATCH_SIZE, seed)
        dyns = [model.dynamics(t) for t in range(NUM_TASKS)]
        params = int(sum(int(keras.ops.size(w))
                         for w in model.trainable_weights))
        return one, multi, dyns, params
    one, multi, dyns = train_baseline_sequence(
        method, train, evals, rollouts, stats,
        hidden_dims=TARGET["hidden_dims"], epochs=epochs,
        batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE,
        ewc_lambda=ewc_lambda, seed=seed)
    n_in = train[0][0].shape[1] + train[0][1].shape[1]
    widths = (n_in,) + tuple(TARGET["hidden_dims"]) + (
        train[0][0].shape[1],)
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    return one, multi, dyns, params * (NUM_TASKS if method ==
                                       "independent" else 1)


def _plot(rows, path, env):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    keys = (("one_step_mse", "one-step MSE (normalised), end", True),
            ("open_loop_mse", "20-step open-loop MSE, end", True),
            ("mpc_return", "CEM MPC return", False))
    width = 0.8 / len(METHODS)
    for ax, (key, title, log) in zip(axes, keys):
        for i, method in enumerate(METHODS):
            vals = [r[key] for r in rows
                    if r["model"] == method and r["task"] != "mean"]
            ax.bar(np.arange(NUM_TASKS) + i * width, vals, width,
                   label=method)
        if key == "mpc_return":
            for ref in ("true_model", "random_actions"):
                vals = [r[key] for r in rows
                        if r["model"] == ref and r["task"] != "mean"]
                ax.plot(np.arange(NUM_TASKS) + 0.3, vals, "k--"
                        if ref == "true_model" else "k:", label=ref)
        if log:
            ax.set_yscale("log")
        ax.set_xticks(np.arange(NUM_TASKS) + 0.3)
        ax.set_xticklabels([f"task {t}" for t in range(NUM_TASKS)])
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=7)
    fig.suptitle(f"Continual {env} dynamics (5 variants in sequence)")
    fig.tight_layout()
    write_plot(fig, path)


def main():
    """Runs the benchmark; writes the CSV and the PNG.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=ENV_NAME,
                        choices=("pendulum", "cartpole"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=EPOCHS_PER_TASK)
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--ewc-grid", type=float, nargs="+",
                        default=[1.0, 10.0, 100.0, 1000.0])
    args = parser.parse_args()
    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_hyper_crl.py",
        "" if args.env == ENV_NAME else f"--env {args.env}",
        "--seeds " + " ".join(str(s) for s in args.seeds),
        f"--epochs {args.epochs}", f"--episodes {args.episodes}",
        "--ewc-grid " + " ".join(f"{g:g}" for g in args.ewc_grid))
    start = time.time()
    env = args.env
    stats = preset_stats(env)
    test = load_streams(env, NUM_TASKS, "test")
    val = load_streams(env, NUM_TASKS, "val")

    # EWC lambda on the validation split, seed 0.
    scores = {}
    for lam in args.ewc_grid:
        one, _, _, _ = _run(env, "ewc", val, stats, args.epochs, 0, lam)
        scores[lam] = float(np.mean(one[-1]))
        print(f"ewc lambda {lam:g}: val one-step {scores[lam]:.5f} "
              f"({time.time() - start:.0f}s)", flush=True)
    ewc_lambda = min(scores, key=scores.get)

    results = {m: [] for m in METHODS}
    returns = {m: [] for m in METHODS + ("true_model", "random_actions")}
    params = {}
    for seed in args.seeds:
        for method in METHODS:
            one, multi, dyns, params[method] = _run(
                env, method, test, stats, args.epochs, seed, ewc_lambda)
            results[method].append((one, multi))
            returns[method].append(mpc_returns(
                env, dyns, args.episodes, seed=1000 * seed))
            print(f"seed {seed} {method}: final one-step "
                  f"{np.round(one[-1], 4)} forgetting {forgetting(one):.5f}"
                  f" / 20-step {forgetting(multi):.4f}; return "
                  f"{np.mean(returns[method][-1]):.1f} "
                  f"({time.time() - start:.0f}s)", flush=True)
        returns["true_model"].append(mpc_returns(
            env, [None] * NUM_TASKS, args.episodes, seed=1000 * seed))
        returns["random_actions"].append(mpc_returns(
            env, ["random"] * NUM_TASKS, args.episodes,
            seed=1000 * seed))

    common = dict(dataset=f"{env}_variants", split="test",
                  seeds=len(args.seeds), epochs_per_task=args.epochs,
                  batch_size=BATCH_SIZE, mpc_episodes=args.episodes,
                  backend=backend, precision="float32", cpu=cpu_model(),
                  command=command)
    forget = {m: (float(np.mean([forgetting(o) for o, _ in results[m]])),
                  float(np.mean([forgetting(u) for _, u in results[m]])))
              for m in METHODS}
    rows = []
    for method in METHODS + ("true_model", "random_actions"):
        ret = np.mean(returns[method], 0)
        learned = method in METHODS
        if learned:
            one = np.mean([o for o, _ in results[method]], 0)
            multi = np.mean([u for _, u in results[method]], 0)
        for t in range(NUM_TASKS):
            row = dict(common, model=method, task=t,
                       mpc_return=round(float(ret[t]), 2))
            if learned:
                row.update(
                    one_step_mse=round(float(one[-1, t]), 6),
                    one_step_mse_just_trained=round(float(one[t, t]), 6),
                    open_loop_mse=round(float(multi[-1, t]), 6),
                    open_loop_mse_just_trained=round(float(multi[t, t]),
                                                     6),
                    param_count=params[method],
                    ewc_lambda=ewc_lambda if method == "ewc" else "")
            rows.append(row)
        row = dict(common, model=method, task="mean",
                   mpc_return=round(float(np.mean(ret)), 2))
        if learned:
            ratio = forget[method][0] / forget["finetune"][0]
            row.update(
                one_step_mse=round(float(np.mean(one[-1])), 6),
                one_step_mse_just_trained=round(float(np.mean(np.diag(
                    one))), 6),
                open_loop_mse=round(float(np.mean(multi[-1])), 6),
                open_loop_mse_just_trained=round(float(np.mean(np.diag(
                    multi))), 6),
                forgetting_one_step=round(forget[method][0], 6),
                forgetting_open_loop=round(forget[method][1], 6),
                param_count=params[method],
                ewc_lambda=ewc_lambda if method == "ewc" else "",
                forgetting_ratio_vs_finetune=round(ratio, 4))
            if method == "hyper_crl":
                row["target_forgetting_le_third"] = bool(ratio <= 1 / 3)
        rows.append(row)
    suffix = "" if env == ENV_NAME else f"-{env}"
    write_csv_atomic(
        os.path.join(RESULTS, f"results-hyper-crl{suffix}.csv"), COLUMNS,
        rows)
    _plot(rows, os.path.join(RESULTS, f"hyper-crl-errors{suffix}.png"),
          env)
    for row in rows:
        if row["task"] == "mean":
            print({k: row.get(k) for k in (
                "model", "one_step_mse", "open_loop_mse",
                "forgetting_one_step", "forgetting_open_loop",
                "mpc_return", "forgetting_ratio_vs_finetune",
                "target_forgetting_le_third")})
    print(f"total {time.time() - start:.0f}s; ewc scores {scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
