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

Training seeds (`--part seeds`): each variant is trained once per
`--seeds` value (the seed sets the initialisers and the batch order; the
24 initial conditions are the same) and evaluated on the validation and
the test trajectory (`split` column; settings are chosen on `val`). Recipe
switches: `--units u` fixes the width (instead of matching
`--target-params`), `--rollout-steps k` adds `k` closed-loop steps to teacher
forcing (`rollout_training_model`), `--attention-gate-bias b` starts the
attention's highway gate at `sigmoid(b)`, `--zero-attention-output`
zero-initialises the attention's output projection. Rows go to
`scripts/results/benchmark-forecasting-seeds.csv` keyed by (model,
dataset, training, init, split, seed), and their mean and standard
deviation over seeds, with the ratio to the plain LSTM trained with the
same recipe and seeds, to `benchmark-forecasting-seeds-summary.csv`
(`--part summary` rewrites it), e.g.

    KERAS_BACKEND=jax python scripts/bench_forecasting.py --part seeds \
        --systems lorenz96 --variants lstm rhn+attention+gating \
        --seeds 0 1 2 --steps 4500 --attention-gate-bias -3
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


SEEDS_CSV = os.path.join(RESULTS, "benchmark-forecasting-seeds.csv")
SEEDS_FIELDS = (
    "model", "dataset", "training", "init", "split", "seed",
    "vpt_lyapunov", "vpt_lyapunov_std", "nrmse_1_lyapunov",
    "one_step_nrmse", "power_spectrum_error_db", "num_ics", "param_count",
    "units", "steps",
    "train_batch_size", "context_length", "learning_rate",
    "rollout_steps", "train_loss", "sec_train", "backend", "precision",
    "cpu", "num_threads", "keras_version", "date", "command")
SUMMARY_CSV = os.path.join(RESULTS,
                           "benchmark-forecasting-seeds-summary.csv")
SUMMARY_FIELDS = (
    "model", "dataset", "training", "init", "split", "num_seeds", "seeds",
    "vpt_lyapunov_mean", "vpt_lyapunov_seed_std", "vpt_lyapunov_min",
    "vpt_lyapunov_max", "nrmse_1_lyapunov_mean", "one_step_nrmse_mean",
    "power_spectrum_error_db_median", "lstm_vpt_lyapunov_mean",
    "ratio_to_lstm", "param_count", "commands")


def _training_tag(args):
    """Recipe key of a seeds run: budget, learning rate, context."""
    tag = (f"steps{args.steps}_lr{args.learning_rate:g}"
           f"_T{args.context_length}")
    if args.rollout_steps:
        tag += f"_rollout{args.rollout_steps}"
    return tag


def _init_tag(spec, args):
    """Attention-initialisation (and width override) key."""
    parts = [f"units{args.units}"] if args.units else []
    if spec["attention"] and spec["cell"] != "transformer":
        if args.attention_gate_bias:
            parts.append(f"attn_gate_bias{args.attention_gate_bias:g}")
        if args.zero_attention_output:
            parts.append("zero_attn_output")
    return "+".join(parts) or "default"


def one_step_nrmse(model, system, split, stride=4):
    """Teacher-forced one-step error at the last step of each window.

    The error of the first rollout step, over every `stride`-th window
    of the split's trajectory (z-scored, so the NRMSE is the RMSE).

    Args:
        model: a `zoo.forecasting.Forecaster`.
        system: str. The system.
        split: str. `"val"` or `"test"`.
        stride: int. Step between window starts.

    Returns:
        float, the root mean squared one-step error.
    """
    import numpy as np

    from zoo.data.forecasting_systems import load_system

    data = load_system(system)[split]
    length = model.context_length
    starts = np.arange(0, len(data) - length - 1, stride)
    x = data[starts[:, None] + np.arange(length)[None]]
    pred = model.predict(x, batch_size=256, verbose=0)[:, -1]
    return float(np.sqrt(np.mean((pred - data[starts + length]) ** 2)))


def _seeds(args):
    """Trains variants x training seeds; writes val and test rows."""
    import keras
    import numpy as np

    from zoo.data.forecasting_systems import training_windows
    from zoo.forecasting.forecasting_eval import evaluate_system
    from zoo.forecasting.forecasting_presets import build_forecaster
    from zoo.forecasting.forecasting_training import rollout_training_model

    backend = keras.backend.backend()
    length, k = args.context_length, args.rollout_steps
    for system in args.systems:
        x, y = training_windows(system, length + k, stride=1)
        x = x[:, :length]
        for name in args.variants:
            spec = ALL[name]
            init = _init_tag(spec, args)
            extra = {}
            if init != "default":
                extra = dict(attention_gate_bias=args.attention_gate_bias,
                             zero_attention_output=args.zero_attention_output)
            units, params = matched_units(system, spec, args)
            if args.units:
                units = args.units
                params = _count(system, units, dict(spec, **extra), args)
            for seed in args.seeds:
                command = run_command(
                    backend, "bench_forecasting.py", "--part seeds",
                    f"--systems {system}", f"--variants {name}",
                    f"--seeds {seed}", f"--steps {args.steps}",
                    f"--batch-size {args.batch_size}",
                    f"--target-params {args.target_params}",
                    f"--context-length {length}",
                    f"--learning-rate {args.learning_rate}",
                    k and f"--rollout-steps {k}",
                    args.units and f"--units {args.units}",
                    args.attention_gate_bias and "--attention-gate-bias "
                    f"{args.attention_gate_bias}",
                    args.zero_attention_output and "--zero-attention-output")
                rng = np.random.default_rng(seed)
                idx = rng.integers(0, len(x), args.steps * args.batch_size)
                keras.utils.set_random_seed(seed)
                model = build_forecaster(
                    system, context_length=length, seed=seed,
                    total_steps=args.steps,
                    learning_rate=args.learning_rate, units=units,
                    num_heads=4, window=length, depth=2, **spec, **extra,
                )
                trainer = model
                if k:
                    trainer = rollout_training_model(model, k)
                    trainer.compile(optimizer=model.optimizer, loss="mse")
                start = time.perf_counter()
                history = trainer.fit(x[idx], y[idx],
                                      batch_size=args.batch_size, epochs=1,
                                      shuffle=False, verbose=0)
                seconds = time.perf_counter() - start
                for split in ("val", "test"):
                    m = evaluate_system(model, system, split=split)
                    row = {
                        "model": name, "dataset": system,
                        "training": _training_tag(args), "init": init,
                        "split": split, "seed": seed,
                        "vpt_lyapunov": round(m["vpt_lyapunov"], 3),
                        "vpt_lyapunov_std": round(m["vpt_lyapunov_std"], 3),
                        "nrmse_1_lyapunov": round(m["nrmse_1_lyapunov"], 4),
                        "one_step_nrmse": round(
                            one_step_nrmse(model, system, split), 5),
                        "power_spectrum_error_db": round(
                            m["power_spectrum_error_db"], 3),
                        "num_ics": m["num_ics"], "param_count": params,
                        "units": units, "steps": args.steps,
                        "train_batch_size": args.batch_size,
                        "context_length": length,
                        "learning_rate": args.learning_rate,
                        "rollout_steps": k,
                        "train_loss": round(
                            float(history.history["loss"][-1]), 6),
                        "sec_train": round(seconds, 1),
                        "backend": backend, "precision": "float32",
                        "cpu": cpu_model(), "num_threads": usable_cpus(),
                        "keras_version": keras.version(), "date": today(),
                        "command": command,
                    }
                    print({key: row[key] for key in (
                        "model", "training", "init", "split", "seed",
                        "vpt_lyapunov", "nrmse_1_lyapunov",
                        "one_step_nrmse", "power_spectrum_error_db",
                        "sec_train")},
                        flush=True)
                    merge_csv_rows(
                        SEEDS_CSV, SEEDS_FIELDS, [row],
                        key=_seed_key, sort_key=_seed_sort)
    _summary()


def _seed_key(r):
    return (r["model"], r["dataset"], r["training"], r["init"],
            r["split"], str(r["seed"]))


def _seed_sort(r):
    return (SYSTEMS.index(r["dataset"]), r["training"], r["init"],
            ORDER.index(r["model"]) if r["model"] in ORDER else 99,
            r["split"], int(r["seed"]))


def summarise_seeds(rows):
    """Mean and spread over training seeds of the seeds-CSV rows.

    Args:
        rows: dicts of `benchmark-forecasting-seeds.csv`.

    Returns:
        A list of summary dicts (`SUMMARY_FIELDS`), one per (model,
        dataset, training, init, split); `ratio_to_lstm` divides the
        mean by that of the plain LSTM with the same training recipe
        and seeds.
    """
    import numpy as np

    groups = {}
    for r in rows:
        key = (r["model"], r["dataset"], r["training"], r["init"],
               r["split"])
        groups.setdefault(key, []).append(r)
    out = []
    for key, sub in groups.items():
        sub.sort(key=lambda r: int(r["seed"]))
        vpt = np.array([float(r["vpt_lyapunov"]) for r in sub])
        seeds = [r["seed"] for r in sub]
        lstm = {r["seed"]: float(r["vpt_lyapunov"]) for r in groups.get(
            ("lstm", key[1], key[2], "default", key[4]), [])}
        lstm_mean = ratio = ""
        if all(s in lstm for s in seeds):
            lstm_mean = float(np.mean([lstm[s] for s in seeds]))
            ratio = round(float(vpt.mean()) / lstm_mean, 3)
            lstm_mean = round(lstm_mean, 3)
        out.append({
            "model": key[0], "dataset": key[1], "training": key[2],
            "init": key[3], "split": key[4], "num_seeds": len(sub),
            "seeds": " ".join(seeds),
            "vpt_lyapunov_mean": round(float(vpt.mean()), 3),
            "vpt_lyapunov_seed_std": round(float(vpt.std(ddof=1)), 3)
            if len(vpt) > 1 else "",
            "vpt_lyapunov_min": round(float(vpt.min()), 3),
            "vpt_lyapunov_max": round(float(vpt.max()), 3),
            "nrmse_1_lyapunov_mean": round(float(np.mean(
                [float(r["nrmse_1_lyapunov"]) for r in sub])), 4),
            "one_step_nrmse_mean": _mean_of(sub, "one_step_nrmse"),
            "power_spectrum_error_db_median": round(float(np.median(
                [float(r["power_spectrum_error_db"]) for r in sub])), 3),
            "lstm_vpt_lyapunov_mean": lstm_mean, "ratio_to_lstm": ratio,
            "param_count": sub[0]["param_count"],
            "commands": " ; ".join(r["command"] for r in sub),
        })
    return sorted(out, key=lambda r: (r["split"], r["dataset"],
                                      r["training"], r["init"],
                                      ORDER.index(r["model"])
                                      if r["model"] in ORDER else 99))


def _mean_of(rows, column):
    """Mean of a column over rows that have it (`""` if none do)."""
    values = [float(r[column]) for r in rows if r.get(column)]
    return round(sum(values) / len(values), 5) if values else ""


def _summary():
    from scripts._bench_common import write_csv_atomic

    rows = summarise_seeds(read_csv_rows(SEEDS_CSV))
    write_csv_atomic(SUMMARY_CSV, SUMMARY_FIELDS, rows)
    for r in rows:
        print(r["split"], r["training"], r["init"], r["model"],
              r["vpt_lyapunov_mean"], "+-", r["vpt_lyapunov_seed_std"],
              f"(n={r['num_seeds']})", "ratio", r["ratio_to_lstm"])


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
    parser.add_argument("--part", required=True,
                        choices=("run", "plot", "seeds", "summary"))
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
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2],
                        help="--part seeds: training seeds (initialiser "
                             "and batch order)")
    parser.add_argument("--rollout-steps", type=int, default=0,
                        help="--part seeds: closed-loop steps added to "
                             "teacher forcing in training (0: teacher "
                             "forcing only)")
    parser.add_argument("--attention-gate-bias", type=float, default=0.0,
                        help="--part seeds: initial bias of the "
                             "attention's highway gate")
    parser.add_argument("--units", type=int, default=None,
                        help="--part seeds: fixed width instead of the "
                             "width matched to --target-params")
    parser.add_argument("--zero-attention-output", action="store_true",
                        help="--part seeds: zero-initialise the "
                             "attention's output projection")
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
    elif args.part == "seeds":
        _seeds(args)
    elif args.part == "summary":
        _summary()
    else:
        _run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
