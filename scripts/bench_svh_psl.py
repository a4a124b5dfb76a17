"""SVH-PSL benchmark: PSL vs SVH-PSL on ZDT1-3 and DTLZ2 at equal budget.

Usage (what `make bench` runs):

    KERAS_BACKEND=jax python scripts/bench_svh_psl.py

For each problem (ZDT1, ZDT2, ZDT3 with 2 objectives, DTLZ2 with 3;
6 variables) and seed, one `zoo.svh_psl.svh_psl_training.run_mobo` run
per method with the same budget (20 LHS + 5 batches of 5 expensive
evaluations), the same GP surrogates (scikit-learn Matern-5/2, LCB beta
0.1), the same hypernetwork, optimiser, steps and batch selection; only
the hypernetwork's update differs (PSL: gradient of the Tchebycheff-
scalarised LCB; SVH-PSL: SVGD direction over the batch's solutions).

Writes:
- `scripts/results/results-svh-psl.csv`: per problem and method the
  mean and std over seeds of the learned front's hypervolume and IGD
  (pymoo; 100 grid preferences, 105 for DTLZ2) and of the evaluated
  points', and the target (SVH-PSL higher mean hypervolume than PSL on
  >= 3 of 4 problems);
- `scripts/results/results-svh-psl-runs.csv`: one row per run;
- `scripts/results/svh-psl-fronts.png`: learned fronts of seed 0.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from zoo.svh_psl.svh_psl_problems import PROBLEMS  # noqa: E402
from zoo.svh_psl.svh_psl_problems import pareto_front  # noqa: E402
from zoo.svh_psl.svh_psl_training import CONFIG  # noqa: E402
from zoo.svh_psl.svh_psl_training import METHODS  # noqa: E402
from zoo.svh_psl.svh_psl_training import learned_front  # noqa: E402
from zoo.svh_psl.svh_psl_training import run_mobo  # noqa: E402

METRICS = ("hypervolume", "igd", "evaluated_hypervolume", "evaluated_igd")
BUDGET = CONFIG["num_initial"] + CONFIG["num_batches"] * CONFIG["batch_size"]


def _common(args, command):
    return {"num_var": 6, "budget": BUDGET,
            "steps_per_batch": CONFIG["steps"],
            "particles": CONFIG["particles"], "backend":
            keras.backend.backend(), "precision": "float32",
            "cpu": cpu_model(), "command": command}


def plot_fronts(fronts, path):
    """Seed-0 learned fronts of both methods against the true front.

    Args:
        fronts: dict `(problem, method) -> (k, m)` objective array.
        path: PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4 * len(PROBLEMS), 3.8))
    for i, problem in enumerate(PROBLEMS):
        three = PROBLEMS[problem] == 3
        ax = fig.add_subplot(1, len(PROBLEMS), i + 1,
                             projection="3d" if three else None)
        true = pareto_front(problem)
        style = dict(s=4, c="0.6", label="true front (pymoo)")
        ax.scatter(*true.T, **style)
        for method, color in zip(METHODS, ("tab:orange", "tab:blue")):
            y = fronts.get((problem, method))
            if y is not None:
                ax.scatter(*y.T, s=10, c=color, label=method.upper())
        ax.set_title(problem.upper())
        ax.set_xlabel("f1")
        ax.set_ylabel("f2")
        if not three:
            top = max(2.0, float(true[:, 1].max()) + 0.5)
            ax.set_ylim(float(true[:, 1].min()) - 0.2, top)
        if i == 0:
            ax.legend(fontsize=7)
    write_plot(fig, path)


def main():
    """Runs the benchmark and writes the CSVs and the figure.

    Returns:
        int. The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    args = parser.parse_args()
    command = run_command(keras.backend.backend(), "bench_svh_psl.py",
                          f"--seeds {args.seeds}")
    common = _common(args, command)
    runs, fronts = [], {}
    for problem in args.problems:
        for seed in range(args.seeds):
            for method in METHODS:
                result = run_mobo(problem, method, seed)
                row = {"model": method, "problem": problem, "seed": seed,
                       "num_objectives": PROBLEMS[problem],
                       "seconds": round(result["seconds"], 1)}
                row.update({k: round(result["metrics"][k], 5)
                            for k in METRICS})
                runs.append(dict(row, **common))
                print(", ".join(f"{k}={row[k]}" for k in row), flush=True)
                if seed == 0:
                    fronts[(problem, method)] = learned_front(
                        result["model"], problem)[2]
    summary, wins = [], 0
    for problem in args.problems:
        means = {}
        for method in METHODS:
            rows = [r for r in runs
                    if r["problem"] == problem and r["model"] == method]
            out = {"model": method, "problem": problem,
                   "num_objectives": PROBLEMS[problem],
                   "seeds": len(rows)}
            for key in METRICS:
                values = np.array([r[key] for r in rows], "float64")
                out[f"{key}_mean"] = round(float(values.mean()), 5)
                out[f"{key}_std"] = round(float(values.std()), 5)
            means[method] = out["hypervolume_mean"]
            summary.append(out)
        win = means["svh_psl"] > means["psl"]
        wins += int(win)
        for out in summary[-len(METHODS):]:
            out["svh_psl_hv_higher"] = win
    met = wins >= 3 and len(args.problems) == len(PROBLEMS)
    for out in summary:
        out.update(common, problems_svh_psl_higher=wins,
                   target_svh_psl_higher_on_ge3_of_4=met)
    fields = list(summary[0])
    write_csv_atomic(os.path.join(RESULTS, "results-svh-psl.csv"), fields,
                     summary)
    write_csv_atomic(os.path.join(RESULTS, "results-svh-psl-runs.csv"),
                     list(runs[0]), runs)
    plot_fronts(fronts, os.path.join(RESULTS, "svh-psl-fronts.png"))
    for out in summary:
        print(f"{out['problem']:6s} {out['model']:8s} HV "
              f"{out['hypervolume_mean']:.4f} +- {out['hypervolume_std']:.4f}"
              f"  IGD {out['igd_mean']:.4f} +- {out['igd_std']:.4f}")
    print(f"SVH-PSL higher mean HV on {wins}/{len(args.problems)} "
          f"problems: target {'met' if met else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
