"""UBA benchmark: schedules under iteration budgets, through `zoo train`.

Usage (hyper_mlp_digits, the whole grid: about 15 minutes on 2 CPU
threads, jax; a Terminator run at a 10 % budget: about 2 minutes):

    KERAS_BACKEND=jax python scripts/bench_uba.py
        [--models hyper_mlp_digits terminator_2d_digits ...]
        [--budgets 0.1 0.3 1.0] [--seeds 0 1 2]
        [--schedules cosine uba:0.5 uba:1 uba:2 uba:4 uba:8 step linear
         onecycle]

Every run is a real `zoo.training.train` of the preset's recipe with
`zoo.training.TrainOptions(schedule=..., phi=...)` (what `python -m zoo
train NAME --schedule uba --phi 4 --epochs E` runs): the budget is a
fraction of the recipe's epochs (rounded, at least 1), and the schedule
is built for the steps actually run, with the recipe's peak rate and
warm-up share (`zoo.schedules.make_schedule`; the recipes with a
constant rate, e.g. `hyper_mlp_digits` (Adam 1e-3), get every schedule
from that rate down to 0). The metric is the recipe's own test
accuracy (what the preset's metadata reports).

Selection caveat, stated in the README: "UBA's best phi" is the phi with
the best mean test accuracy among the five, i.e. chosen on the test
split like every row of the comparison; there is no held-out selection.

Rows are merged into `scripts/results/results-uba.csv` (keyed by model,
schedule, budget, seed and backend; rerun to add cells);
`scripts/results/uba.png` plots mean accuracy against the budget.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from _bench_common import RESULTS  # noqa: E402
from _bench_common import cpu_model  # noqa: E402
from _bench_common import merge_csv_rows  # noqa: E402
from _bench_common import read_csv_rows  # noqa: E402
from _bench_common import run_command  # noqa: E402
from _bench_common import save_figure_atomic  # noqa: E402
from _bench_common import today  # noqa: E402

CSV = os.path.join(RESULTS, "results-uba.csv")
FIGURE = os.path.join(RESULTS, "uba.png")
FIELDS = ("model", "schedule", "phi", "budget", "epochs", "preset_epochs",
          "seed", "top1", "peak_learning_rate", "steps", "train_seconds",
          "backend", "precision", "cpu", "date", "command")
SCHEDULES = ("cosine", "uba:0.5", "uba:1", "uba:2", "uba:4", "uba:8",
             "step", "linear", "onecycle")


def _parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["hyper_mlp_digits"])
    p.add_argument("--budgets", nargs="+", type=float,
                   default=[0.1, 0.3, 1.0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--schedules", nargs="+", default=list(SCHEDULES))
    return p.parse_args()


def _schedule(name):
    kind, _, phi = name.partition(":")
    return kind, float(phi) if phi else 2.0


def preset_epochs(model):
    """The recipe's own epochs (its metadata's `epochs`).

    Args:
        model: str. A bundled preset name.

    Returns:
        int.
    """
    import zoo

    return int(zoo.read_metadata(model)["epochs"])


def run_one(model, schedule, budget, seed):
    """Trains one cell through `zoo.training.train`; returns its row.

    Args:
        model: str. Preset (recipe) name.
        schedule: str. `"kind"` or `"uba:phi"`.
        budget: float. Fraction of the recipe's epochs.
        seed: int.

    Returns:
        dict of the CSV's columns.
    """
    import keras

    from zoo.training import TrainOptions
    from zoo.training import train

    kind, phi = _schedule(schedule)
    full = preset_epochs(model)
    epochs = max(1, int(round(budget * full)))
    work = tempfile.mkdtemp(prefix="bench-uba-")
    try:
        t0 = time.time()
        preset, metrics = train(
            model, work, epochs=epochs, seed=seed, verbose=0,
            options=TrainOptions(schedule=kind, phi=phi),
            training_command=f"python -m zoo train {model} --schedule "
            f"{kind}" + (f" --phi {phi:g}" if kind == "uba" else "")
            + f" --epochs {epochs} --seed {seed}")
        seconds = time.time() - t0
        import zoo

        applied = zoo.read_metadata(preset)["training_options"]["applied"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(model=model, schedule=kind, phi=phi if kind == "uba" else "",
                budget=budget, epochs=epochs, preset_epochs=full, seed=seed,
                top1=f"{100 * metrics['accuracy']:.2f}",
                peak_learning_rate=f"{applied[-1]['peak_learning_rate']:.4g}",
                steps=sum(a.get("steps", 0) for a in applied),
                train_seconds=f"{seconds:.1f}",
                backend=keras.backend.backend(), precision="float32",
                cpu=cpu_model(), date=today())


def _key(r):
    return (r["model"], r["schedule"], str(r["phi"]),
            f"{float(r['budget']):g}", str(r["seed"]), r["backend"])


def main():
    args = _parse()
    import keras

    for s in args.schedules:
        kind, _ = _schedule(s)
        if f"{kind}" not in {_schedule(x)[0] for x in SCHEDULES}:
            raise SystemExit(f"unknown schedule {s!r}; known: {SCHEDULES}")
    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_uba.py", "--models " + " ".join(args.models),
        "--budgets " + " ".join(f"{b:g}" for b in args.budgets),
        "--seeds " + " ".join(map(str, args.seeds)),
        "--schedules " + " ".join(args.schedules))
    done = {_key(r) for r in read_csv_rows(CSV)}
    for model in args.models:
        for budget in args.budgets:
            for schedule in args.schedules:
                for seed in args.seeds:
                    kind, phi = _schedule(schedule)
                    probe = dict(model=model, schedule=kind,
                                 phi=phi if kind == "uba" else "",
                                 budget=budget, seed=seed, backend=backend)
                    if _key(probe) in done:
                        continue
                    row = run_one(model, schedule, budget, seed)
                    row["command"] = command
                    print(f"{model} {schedule} budget {budget:g} seed "
                          f"{seed}: {row['top1']} % "
                          f"({row['train_seconds']} s)", flush=True)
                    merge_csv_rows(
                        CSV, FIELDS, [row], key=_key,
                        sort_key=lambda r: (r["model"], float(r["budget"]),
                                            r["schedule"], str(r["phi"]),
                                            int(r["seed"]), r["backend"]))
                    done.add(_key(row))
    plot()


def summary(rows):
    """Mean and std of top-1 per (model, budget, schedule label).

    Args:
        rows: list of dicts, the CSV's rows.

    Returns:
        dict `(model, budget) -> {label: (mean, std, n)}`, labels
        `"cosine"`, `"uba phi=4"`, ...
    """
    out = {}
    for r in rows:
        label = r["schedule"] + (f" phi={float(r['phi']):g}"
                                 if r["schedule"] == "uba" else "")
        key = (r["model"], float(r["budget"]))
        out.setdefault(key, {}).setdefault(label, []).append(
            float(r["top1"]))
    return {k: {lab: (float(np.mean(v)), float(np.std(v)), len(v))
                for lab, v in d.items()} for k, d in out.items()}


def plot():
    """Draws `uba.png` from the CSV (one panel per model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    if not rows:
        return
    table = summary(rows)
    models = sorted({m for m, _ in table})
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4),
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        budgets = sorted(b for m, b in table if m == model)
        labels = sorted({lab for b in budgets for lab in table[(model, b)]})
        for lab in labels:
            pts = [(b, table[(model, b)][lab][0]) for b in budgets
                   if lab in table[(model, b)]]
            style = "-o" if lab.startswith("uba") else "--s"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style,
                    label=lab, lw=2 if lab == "cosine" else 1)
        ax.set_xscale("log")
        ax.set_xticks(budgets, [f"{100 * b:g} %" for b in budgets])
        ax.set_xlabel("iteration budget (share of the recipe's steps)")
        ax.set_ylabel("test top-1 (%), mean over seeds")
        ax.set_title(model)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, FIGURE, dpi=110)


if __name__ == "__main__":
    main()
