"""DFP INT16 training against float32: parity table and overflow counts.

Trains each preset with `zoo.training.train(..., precision=P)` for
P in float32 and dfp_int16 (`zoo.dfp_training`: Dense/Conv/EinsumDense
and the zoo's generated kernels fake-quantised to 16-bit dynamic fixed
point, gradients too, master weights float32), same recipe and seeds.
The recipe's test metric is measured at the end of training, with DFP
still on for dfp_int16 (`zoo.training.run_recipe` switches it off only
before saving the float preset): top-1 for the classifiers, valid
prediction time (VPT, Lyapunov times) for the KS forecaster. For the
dfp_int16 runs, `float_inference` is the same metric of the saved
(DFP-trained) weights evaluated in float32, which separates the cost of
DFP training from that of DFP inference.

Targets (issue 16): dfp_int16 mean top-1 within 0.3 points of
float32's on every classifier, VPT within 5 % of float32's on KS.

Overflow counts: after each dfp_int16 run, the saved preset is run on
`--overflow-batch` test inputs through
`zoo.dfp_training.dfp_overflow_report`, which replays every DFP
product bit-exactly in numpy (`zoo.dfp_reference`) and counts the int32
accumulators that overflow with one accumulator over the whole
reduction and with accumulators over `--chunk` entries.

`--epochs N` trains a reduced budget (recorded in the CSV's `epochs`
and `budget` columns); the default is the recipe's.

Output: `scripts/results/results-dfp.csv` (one `stat=run` row per run,
`stat=mean` rows per model and precision, with the dfp-float32 gap and
whether the target is met), `scripts/results/results-dfp-overflow.csv`
(per layer and product) and `scripts/results/dfp.png`. Rows of a
re-run (same model, precision, seed, epochs, backend) are replaced.

Usage:

    KERAS_BACKEND=jax python scripts/bench_dfp.py --only hyper_mlp_digits
    KERAS_BACKEND=jax python scripts/bench_dfp.py --seeds 0 --epochs 2
    python scripts/bench_dfp.py --plot-only  # redraw from the CSV
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import format_table  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402

PRESETS = ("hyper_mlp_digits", "terminator_2d_digits",
           "terminator_1d_mnist1d", "rhn_attention_ks")
PRECISIONS = ("float32", "dfp_int16")
OUT = os.path.join(RESULTS, "results-dfp.csv")
OUT_OVERFLOW = os.path.join(RESULTS, "results-dfp-overflow.csv")
FIGURE = os.path.join(RESULTS, "dfp.png")
# Target gaps (issue 16): top-1 points, VPT relative.
TOP1_GAP = 0.3
VPT_GAP = 0.05
FIELDS = (
    "stat", "model", "dataset", "split", "metric", "top1", "top1_err",
    "vpt_lyapunov", "float_inference", "param_count", "epochs", "budget",
    "batch_size", "seed", "n", "std", "gap_vs_float32", "target", "target_met",
    "overflows_unchunked", "overflows_chunked", "chunk", "train_s",
    "sec_per_epoch", "backend", "precision", "cpu", "date", "command",
)
OVERFLOW_FIELDS = (
    "model", "seed", "epochs", "layer", "op", "calls", "reduction",
    "outputs", "overflows_unchunked", "chunk", "accumulators",
    "overflows", "batch", "bits", "backend", "precision", "cpu", "date",
    "command",
)


def _metric(preset, metrics):
    """`(name, value)`: top-1 in % or VPT in Lyapunov times."""
    if "vpt_lyapunov" in metrics:
        return "vpt_lyapunov", float(metrics["vpt_lyapunov"])
    value = float(metrics["accuracy"])
    return "top1", value * 100.0 if value <= 1.0 else value


def _report_batch(preset, n):
    """`n` test inputs of a preset (training windows for forecasters)."""
    if preset == "hyper_mlp_digits":
        from zoo.data import load_digits

        return load_digits(split="test")[0][:n]
    if preset.startswith("terminator"):
        from zoo.terminator.terminator_presets import load_data
        from zoo.terminator.terminator_presets import preset_config

        cfg = preset_config(preset)
        return load_data(cfg["dataset"], "test", cfg["shuffled"])[0][:n]
    from zoo.data.forecasting_systems import training_windows
    from zoo.forecasting.forecasting_presets import check_preset

    cfg = check_preset(preset)
    return training_windows(cfg["system"], cfg["context_length"])[0][:n]


def _run(preset, precision, seed, args, work, command):
    import keras

    import zoo
    from zoo import registry
    from zoo.dfp_training import dfp_overflow_report
    from zoo.training import read_log
    from zoo.training import train

    out_dir = os.path.join(work, f"{preset}-{precision}-{seed}")
    shutil.rmtree(out_dir, ignore_errors=True)
    keras.backend.clear_session()
    start = time.perf_counter()
    preset_dir, metrics = train(preset, out_dir, epochs=args.epochs,
                                precision=precision, seed=seed, verbose=0,
                                training_command=command)
    seconds = time.perf_counter() - start
    metadata = zoo.read_metadata(preset_dir)
    model = zoo.load(preset_dir)
    name, value = _metric(preset, metrics)
    epochs = len(read_log(os.path.join(out_dir, "log.csv")))
    row = {
        "stat": "run", "model": preset,
        "dataset": metadata.get("dataset", metadata.get("system", "")),
        "split": "test", "metric": name,
        "param_count": model.count_params(), "epochs": epochs,
        "budget": "reduced" if args.epochs else "full",
        "batch_size": metadata.get("batch_size", ""), "seed": seed,
        "n": 1, "train_s": round(seconds, 1),
        "sec_per_epoch": round(seconds / epochs, 2),
        "precision": precision,
    }
    if name == "top1":
        row.update(top1=round(value, 2), top1_err=round(100.0 - value, 2))
    else:
        row["vpt_lyapunov"] = round(value, 4)
    layers = []
    if precision == "dfp_int16":
        spec = registry.get_preset_spec(preset)
        row["float_inference"] = round(
            _metric(preset, spec.evaluate(model, "test"))[1], 4)
        batch = _report_batch(preset, args.overflow_batch)
        layers = dfp_overflow_report(model, batch, chunk=args.chunk,
                                     bits=16)
        row.update(
            overflows_unchunked=sum(r["overflows_unchunked"] or 0
                                    for r in layers),
            overflows_chunked=sum(r["overflows"] or 0 for r in layers),
            chunk=args.chunk,
        )
        for r in layers:
            r.update(model=preset, seed=seed, epochs=epochs,
                     batch=len(batch), bits=16, precision=precision)
            r.pop("error", None)
    return row, layers


def _summaries(rows):
    """`stat=mean` rows per (model, backend, epochs) and precision."""
    groups = {}
    for r in rows:
        if r["stat"] == "run":
            key = (r["model"], r["backend"], str(r["epochs"]))
            groups.setdefault(key, {}).setdefault(r["precision"], []) \
                .append(r)
    out = []
    for by_precision in groups.values():
        means = {}
        for precision, runs in sorted(by_precision.items()):
            metric = runs[0]["metric"]
            values = [float(r[metric]) for r in runs]
            mean = statistics.fmean(values)
            means[precision] = mean
            row = {k: runs[0][k] for k in (
                "model", "dataset", "split", "metric", "param_count",
                "epochs", "budget", "batch_size", "backend", "precision",
                "cpu", "command")}
            row.update(
                stat="mean", seed="+".join(str(r["seed"]) for r in runs),
                n=len(runs), std=(round(statistics.stdev(values), 4)
                                  if len(values) > 1 else ""),
                train_s=round(statistics.fmean(
                    float(r["train_s"]) for r in runs), 1),
                sec_per_epoch=round(statistics.fmean(
                    float(r["sec_per_epoch"]) for r in runs), 2),
                date=max(r["date"] for r in runs),
            )
            row[metric] = round(mean, 4 if metric != "top1" else 2)
            if metric == "top1":
                row["top1_err"] = round(100.0 - mean, 2)
            if precision == "dfp_int16":
                row["float_inference"] = round(statistics.fmean(
                    float(r["float_inference"]) for r in runs), 4)
                for k in ("overflows_unchunked", "overflows_chunked"):
                    row[k] = sum(int(r[k] or 0) for r in runs)
                row["chunk"] = runs[0]["chunk"]
            out.append(row)
        base = means.get("float32")
        for row in out[-len(by_precision):]:
            if row["precision"] == "float32" or base is None:
                continue
            mean = means[row["precision"]]
            if row["metric"] == "top1":
                gap = mean - base
                row["target"] = f">= float32 - {TOP1_GAP} points"
                row["target_met"] = gap >= -TOP1_GAP
            else:
                gap = (mean - base) / base if base else float("nan")
                row["target"] = f">= float32 * (1 - {VPT_GAP})"
                row["target_met"] = gap >= -VPT_GAP
            row["gap_vs_float32"] = round(gap, 4)
    return out


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    means = [r for r in rows if r["stat"] == "mean"]
    models = sorted({r["model"] for r in means})
    if not models:
        return
    width = max(5.0, 3.2 * len(models))
    fig, axes = plt.subplots(1, len(models), figsize=(width, 3.4),
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        sub = [r for r in means if r["model"] == model]
        sub.sort(key=lambda r: (int(r["epochs"]), r["precision"]))
        metric = sub[0]["metric"]
        labels = [f"{r['precision']}\n{r['epochs']} ep" for r in sub]
        values = [float(r[metric]) for r in sub]
        errors = [float(r["std"] or 0.0) for r in sub]
        colors = ["tab:blue" if r["precision"] == "float32" else
                  "tab:orange" for r in sub]
        ax.bar(range(len(sub)), values, yerr=errors, color=colors,
               capsize=3)
        ax.set_xticks(range(len(sub)), labels, fontsize=7)
        low = min(v - e for v, e in zip(values, errors))
        high = max(v + e for v, e in zip(values, errors))
        pad = max(0.5 if metric == "top1" else 0.05, 0.3 * (high - low))
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(model, fontsize=8)
        ax.set_ylabel("test top-1 (%)" if metric == "top1"
                      else "VPT (Lyapunov times)")
    fig.suptitle("float32 vs DFP INT16 training\n(mean ± std over seeds)",
                 fontsize=9)
    write_plot(fig, path)


def _fmt(row):
    return {k: (f"{v:.6g}" if isinstance(v, float) else v)
            for k, v in row.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=list(PRESETS),
                        choices=PRESETS, help="presets (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None,
                        help="reduced epoch budget (default: the recipe's)")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS),
                        choices=PRECISIONS)
    parser.add_argument("--chunk", type=int, default=8,
                        help="reduction entries per int32 accumulator")
    parser.add_argument("--overflow-batch", type=int, default=64)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--out-overflow", default=OUT_OVERFLOW)
    parser.add_argument("--figure", default=FIGURE)
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw the figure from the CSV, no training")
    args = parser.parse_args()
    if args.plot_only:
        _plot(read_csv_rows(args.out), args.figure)
        return 0
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be >= 1")

    import keras

    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_dfp.py", "--only", *args.only, "--seeds",
        *map(str, args.seeds),
        *(["--epochs", str(args.epochs)] if args.epochs else []),
        *(["--precisions", *args.precisions]
          if tuple(args.precisions) != PRECISIONS else []),
        *(["--chunk", str(args.chunk)] if args.chunk != 8 else []))
    common = {"backend": backend, "cpu": cpu_model(), "date": today(),
              "command": command}
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-dfp-")
    runs, overflow = [], []
    for preset in args.only:
        for seed in args.seeds:
            for precision in args.precisions:
                row, layers = _run(preset, precision, seed, args, work,
                                   command)
                row.update(common)
                runs.append(row)
                overflow += [dict(r, **common) for r in layers]
                print(f"{preset} {precision} seed {seed}: "
                      f"{row['metric']} "
                      f"{row.get('top1', row.get('vpt_lyapunov'))}, "
                      f"{row['train_s']} s", flush=True)

    def key(r):
        return (r["stat"], r["model"], r["precision"], str(r["seed"]),
                str(r["epochs"]), r["backend"])

    old = [r for r in read_csv_rows(args.out) if r["stat"] == "run"]
    merged = {key(r): r for r in old}
    merged.update({key(_fmt(r)): _fmt(r) for r in runs})
    rows = sorted(merged.values(), key=lambda r: (
        r["model"], r["backend"], int(r["epochs"]), r["precision"],
        int(r["seed"])))
    rows += [_fmt(r) for r in _summaries(rows)]
    write_csv_atomic(args.out, FIELDS, rows)
    print("wrote", args.out)
    if overflow:
        merge_csv_rows(
            args.out_overflow, OVERFLOW_FIELDS, [_fmt(r) for r in overflow],
            key=lambda r: (r["model"], str(r["seed"]), str(r["epochs"]),
                           r["backend"], r["layer"], r["op"]),
            sort_key=lambda r: (r["model"], r["backend"], int(r["epochs"]),
                                int(r["seed"]), r["layer"], r["op"]))
        print("wrote", args.out_overflow)
    _plot(rows, args.figure)
    print(format_table(
        [r for r in rows if r["stat"] == "mean"],
        ("model", "precision", "epochs", "n", "top1", "vpt_lyapunov",
         "std", "gap_vs_float32", "target_met", "overflows_unchunked",
         "overflows_chunked", "sec_per_epoch")))
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
