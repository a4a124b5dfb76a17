"""Benchmarks D2NWG few-shot initialisation against the baselines.

Usage (what `make bench` runs):

    KERAS_BACKEND=jax python scripts/bench_d2nwg.py [--seeds 0 1 2]

Loads the bundled `d2nwg_digits_fewshot` preset and, for each seed, draws
2 support sets (5 shots per class) of each of the 12 held-out digit
class subsets (never in the checkpoint zoo). Every initialisation
(D2NWG sampled weights, Glorot random init, the zoo's mean weights and
the nearest-task zoo checkpoint) is fine-tuned on the support set with
full-batch Adam(0.01) and scored on the test split of those classes
after 0, 1, 2, 5, 10 and 20 steps. Writes
`scripts/results/results-d2nwg.csv` (one row per method and step count:
mean and std over seeds of the mean accuracy over episodes) and
`scripts/results/d2nwg.png` (accuracy against steps).
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from zoo.d2nwg.d2nwg_eval import METHODS  # noqa: E402
from zoo.d2nwg.d2nwg_eval import compare_inits  # noqa: E402
from zoo.d2nwg.d2nwg_training import PRESET_NAME  # noqa: E402
from zoo.data.checkpoint_zoo import PARAM_DIM  # noqa: E402

STEPS = (0, 1, 2, 5, 10, 20)
FIELDS = ["model", "dataset", "split", "shots", "finetune_steps", "seeds",
          "n_seeds", "num_episodes", "top1", "top1_std", "top1_err",
          "gain_over_random", "param_count", "backend", "precision", "cpu",
          "keras_version", "date", "command"]


def main() -> int:
    """Runs the comparison and writes the CSV and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--preset", default=PRESET_NAME)
    args = parser.parse_args()
    model = zoo.load(args.preset)
    per_seed = {m: [] for m in METHODS}
    episodes = 0
    for seed in args.seeds:
        curves = compare_inits(model, STEPS, episodes=2, seed=seed)
        for m in METHODS:
            per_seed[m].append(curves[m].mean(1))
        episodes = curves["random"].shape[1]
    command = run_command(keras.backend.backend(), "bench_d2nwg.py",
                          "--seeds " + " ".join(map(str, args.seeds)))
    rows = []
    for m in METHODS:
        acc = 100 * np.array(per_seed[m])  # (seeds, steps)
        rnd = 100 * np.array(per_seed["random"])
        for j, s in enumerate(STEPS):
            rows.append({
                "model": f"{m}_init", "dataset": "digits 5-way held-out",
                "split": "test", "shots": 5, "finetune_steps": s,
                "seeds": " ".join(map(str, args.seeds)),
                "n_seeds": len(args.seeds), "num_episodes": episodes,
                "top1": round(float(acc[:, j].mean()), 2),
                "top1_std": round(float(acc[:, j].std()), 2),
                "top1_err": round(100 - float(acc[:, j].mean()), 2),
                "gain_over_random": round(float(
                    (acc[:, j] - rnd[:, j]).mean()), 2),
                "param_count": PARAM_DIM,
                "backend": keras.backend.backend(), "precision": "float32",
                "cpu": cpu_model(), "keras_version": keras.__version__,
                "date": today(), "command": command,
            })
    write_csv_atomic(os.path.join(RESULTS, "results-d2nwg.csv"), FIELDS,
                     rows)
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    for m in METHODS:
        acc = 100 * np.array(per_seed[m])
        ax.errorbar(STEPS, acc.mean(0), yerr=acc.std(0), marker="o",
                    capsize=3, label=m)
    ax.set_xlabel("fine-tuning steps on the 5-shot support set")
    ax.set_ylabel("query accuracy % (held-out tasks)")
    ax.set_title("D2NWG vs baselines, 12 unseen 5-way digit tasks")
    ax.grid(alpha=0.3)
    ax.legend()
    write_plot(fig, os.path.join(RESULTS, "d2nwg.png"))
    for r in rows:
        print(f"{r['model']:>14} steps {r['finetune_steps']:>2}: "
              f"{r['top1']:6.2f} +- {r['top1_std']:.2f} "
              f"(vs random {r['gain_over_random']:+.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
