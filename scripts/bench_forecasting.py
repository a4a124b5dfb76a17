"""Recurrence / attention / gating ablation of the forecasters, CSV and PNG.

Usage (what `make bench` runs):

    KERAS_BACKEND=jax python scripts/bench_forecasting.py --part run \
        --variants all
    python scripts/bench_forecasting.py --part plot

Variants (`zoo.forecasting.ForecasterBackbone`): LSTM, GRU and RHN, each
plain (additive skip, no attention) and with attention and highway gating
(`+attention+gating`), and the Transformer without and with recurrence
(a GRU sub-layer in the block). `--variants all` adds the one-switch
variants (`+attention` alone, `+gating` alone) of the three cells.

Systems: Lorenz 96 (J=40, F=8), the slow variables of two-scale Lorenz 96
and Kuramoto-Sivashinsky (L=22, N=64), as in
`zoo.data.forecasting_systems` (z-scored, sub-sampled).

Matched budgets: every variant on every system takes the same number of
Adam steps (`--steps`, cosine decay, clipnorm 1) on the same batches
(`--batch-size` windows of `--context-length` steps drawn with one seed
from the training trajectory). Matched parameters: each variant's width
is the multiple of 4 whose parameter count is closest to `--target-params`
(counts are quadratic in the width; the actual count is recorded).
Defaults (chosen with `--split val`, on the validation trajectory, for
all variants and systems alike): 1500 steps, about 50000 parameters,
learning rate 1e-2. At 20000 parameters the widths (32-56) were at or
below the Lorenz 96 state dimension (40) and every variant stayed near
persistence there.

Evaluation: valid prediction time (first lead time with NRMSE > 0.5, in
Lyapunov times), mean and std over the 24 test initial conditions;
NRMSE one Lyapunov time ahead; power-spectrum error over 8 Lyapunov
times.

Rows are merged into `scripts/results/benchmark-forecasting-ablation.csv`
keyed by (model, dataset); `--part plot` draws
`scripts/results/forecasting-ablation.png` from it.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import check_names  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402

CSV = os.path.join(RESULTS, "benchmark-forecasting-ablation.csv")
PNG = os.path.join(RESULTS, "forecasting-ablation.png")
FIELDS = ("model", "dataset", "vpt_lyapunov", "vpt_lyapunov_std",
          "nrmse_1_lyapunov", "power_spectrum_error_db", "num_ics",
          "param_count", "target_params", "units", "steps",
          "train_batch_size", "context_length", "sec_train", "seed",
          "backend", "precision", "cpu", "num_threads", "keras_version",
          "date", "command")
SYSTEMS = ("lorenz96", "lorenz96_two_scale", "ks")


def _variant(cell, attention, gating, recurrence=False):
    return dict(cell=cell, attention=attention, gating=gating,
                recurrence=recurrence)


VARIANTS = {}
for _cell in ("lstm", "gru", "rhn"):
    VARIANTS[_cell] = _variant(_cell, False, "additive")
    VARIANTS[f"{_cell}+attention+gating"] = _variant(_cell, True, "highway")
VARIANTS["transformer"] = _variant("transformer", True, "highway")
VARIANTS["transformer+recurrence"] = _variant("transformer", True,
                                              "highway", True)
EXTRA = {}
for _cell in ("lstm", "gru", "rhn"):
    EXTRA[f"{_cell}+attention"] = _variant(_cell, True, "additive")
    EXTRA[f"{_cell}+gating"] = _variant(_cell, False, "highway")
ALL = dict(VARIANTS, **EXTRA)
ORDER = list(VARIANTS) + list(EXTRA)


def _write(new_rows):
    merge_csv_rows(
        CSV, FIELDS, new_rows, key=lambda r: (r["model"], r["dataset"]),
        sort_key=lambda r: (SYSTEMS.index(r["dataset"]),
                            ORDER.index(r["model"]) if r["model"] in ORDER
                            else 99),
    )


def _count(system, units, spec, args):
    from zoo.forecasting.forecasting_presets import build_forecaster

    model = build_forecaster(
        system, context_length=args.context_length, units=units,
        num_heads=4, window=args.context_length, depth=2, **spec,
    )
    return model.count_params()


def matched_units(system, spec, args):
    """Width whose parameter count is closest to the target."""
    import numpy as np

    probe = (8, 16, 24)
    counts = [_count(system, u, spec, args) for u in probe]
    a, b, c = np.polyfit(probe, counts, 2)
    grid = np.arange(8, 513, 4)
    best = int(grid[np.argmin(np.abs(a * grid ** 2 + b * grid + c
                                     - args.target_params))])
    return best, _count(system, best, spec, args)


def _run(args):
    import keras
    import numpy as np

    from zoo.data.forecasting_systems import training_windows
    from zoo.forecasting.forecasting_eval import evaluate_system
    from zoo.forecasting.forecasting_presets import build_forecaster

    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_forecasting.py", "--part run",
        f"--steps {args.steps}", f"--batch-size {args.batch_size}",
        f"--target-params {args.target_params}",
        f"--context-length {args.context_length}",
        f"--learning-rate {args.learning_rate}")
    done = {(r["model"], r["dataset"]) for r in read_csv_rows(CSV)}
    for system in args.systems:
        x, y = training_windows(system, args.context_length, stride=1)
        rng = np.random.default_rng(args.seed)
        idx = rng.integers(0, len(x), args.steps * args.batch_size)
        xb, yb = x[idx], y[idx]
        for name in args.variants:
            if args.skip_done and (name, system) in done:
                continue
            spec = ALL[name]
            units, params = matched_units(system, spec, args)
            keras.utils.set_random_seed(args.seed)
            model = build_forecaster(
                system, context_length=args.context_length,
                seed=args.seed, total_steps=args.steps,
                learning_rate=args.learning_rate, units=units,
                num_heads=4, window=args.context_length, depth=2, **spec,
            )
            start = time.perf_counter()
            model.fit(xb, yb, batch_size=args.batch_size, epochs=1,
                      shuffle=False, verbose=0)
            seconds = time.perf_counter() - start
            metrics = evaluate_system(model, system, split=args.split)
            row = {
                "model": name, "dataset": system,
                "vpt_lyapunov": round(metrics["vpt_lyapunov"], 3),
                "vpt_lyapunov_std": round(metrics["vpt_lyapunov_std"], 3),
                "nrmse_1_lyapunov": round(metrics["nrmse_1_lyapunov"], 4),
                "power_spectrum_error_db": round(
                    metrics["power_spectrum_error_db"], 3),
                "num_ics": metrics["num_ics"], "param_count": params,
                "target_params": args.target_params, "units": units,
                "steps": args.steps, "train_batch_size": args.batch_size,
                "context_length": args.context_length,
                "sec_train": round(seconds, 1), "seed": args.seed,
                "backend": backend, "precision": "float32",
                "cpu": cpu_model(), "num_threads": usable_cpus(),
                "keras_version": keras.version(), "date": today(),
                "command": command,
            }
            print(row, flush=True)
            if args.split == "test":
                _write([row])


def ranking(rows, system):
    """Variants of `system` sorted by mean valid prediction time."""
    sub = [r for r in rows if r["dataset"] == system]
    return sorted(sub, key=lambda r: -float(r["vpt_lyapunov"]))


def _plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    systems = [s for s in SYSTEMS if any(r["dataset"] == s for r in rows)]
    fig, axes = plt.subplots(1, len(systems), figsize=(5 * len(systems), 4.2),
                             squeeze=False)
    titles = {"lorenz96": "Lorenz 96 (J=40, F=8)",
              "lorenz96_two_scale": "two-scale L96, slow X",
              "ks": "Kuramoto-Sivashinsky (L=22)"}
    for ax, system in zip(axes[0], systems):
        sub = [r for r in rows if r["dataset"] == system]
        sub.sort(key=lambda r: ORDER.index(r["model"]) if r["model"]
                 in ORDER else 99)
        names = [r["model"] for r in sub]
        means = [float(r["vpt_lyapunov"]) for r in sub]
        stds = [float(r["vpt_lyapunov_std"]) for r in sub]
        colors = ["tab:purple" if n.startswith("transformer")
                  else "tab:red" if "attention" in n and "gating" in n
                  else "tab:orange" if "+" in n
                  else "tab:gray" for n in names]
        ax.bar(range(len(names)), means, yerr=stds, color=colors,
               capsize=3)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("valid prediction time (Lyapunov times)")
        ax.set_title(f"{titles[system]}\n~{sub[0]['target_params']} params, "
                     f"{sub[0]['steps']} steps ({sub[0]['backend']})",
                     fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    write_plot(fig, PNG)
    for system in systems:
        print(system, [(r["model"], r["vpt_lyapunov"])
                       for r in ranking(rows, system)])


def main():
    """Runs one part of the forecasting ablation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", required=True, choices=("run", "plot"))
    parser.add_argument("--systems", nargs="*", default=list(SYSTEMS))
    parser.add_argument("--variants", nargs="*", default=None,
                        help="names, or 'all' for the one-switch variants "
                             "too")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--context-length", type=int, default=16)
    parser.add_argument("--target-params", type=int, default=50000)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test", choices=("test", "val"),
                        help="'val': evaluate on the validation trajectory "
                             "and print the rows without writing the CSV "
                             "(for choosing settings)")
    parser.add_argument("--skip-done", action="store_true",
                        help="skip (variant, system) rows already in the "
                             "CSV (resume)")
    args = parser.parse_args()
    if args.variants is None:
        args.variants = list(VARIANTS)
    elif args.variants == ["all"]:
        args.variants = list(ALL)
    check_names(parser, variants=(args.variants, ALL),
                systems=(args.systems, SYSTEMS))
    if args.part == "plot":
        _plot()
    else:
        _run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
