"""Energy and CO2eq of training at float32 vs reduced precision.

Trains presets with `zoo.training.train(..., precision=P,
options=TrainOptions(energy=True))` (so `zoo.energy.EnergyTracker` logs
`energy_j`, `power_w`, `co2eq_g` and `energy_source` per epoch into the
run's `log.csv`), `--repeats` times per precision (seed = repeat index),
and compares each precision with float32 by Welch's t-test over the
repeats, as Antonopoulos (arXiv 2409.07853) compares power with t-tests.

Precisions: float32, mixed_bfloat16 and, when `zoo.training.PRECISIONS`
has it and `zoo.dfp_training` is importable, dfp_int16. GPU section:
where NVML reads a GPU (`zoo.energy.NvmlReader`), the rows are labelled
`section=gpu` with the GPU's name and mixed_float16 (NVIDIA mixed
precision, the paper's setting) is added; elsewhere `section=cpu`.

Figures: `energy_source` says where each comes from: `measured:nvml`,
`measured:rapl` (counters) or `estimated:codecarbon` (codecarbon's
offline model: TDP/per-thread default times load for the CPU, a fixed
figure for RAM). Estimated and measured figures must not be compared.
On a machine without NVML and readable RAPL every figure is an estimate.

Per run: `energy_per_epoch_j` is the mean over epochs after the first
(the first includes tracing/compilation; with one epoch it is that
epoch), `energy_total_j` the sum over all epochs, `j_per_top1_point`
the total divided by the test top-1 (%), `power_w` the mean power over
the same epochs as `energy_per_epoch_j`. Summary rows (`stat=mean`)
hold means over the repeats, the standard deviation of the energy per
epoch, and Welch's t and p against float32 for the energy per epoch
and the mean power (`welch_*`, empty on the float32 row).

Output: `scripts/results/results-energy.csv` (rows of a (section,
model, backend, epochs) replaced on a re-run; summaries recomputed).

Usage:

    KERAS_BACKEND=jax python scripts/bench_energy.py \
        --presets hyper_mlp_digits --repeats 3 --epochs 5
"""

import argparse
import importlib.util
import math
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
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402

PRESETS = ("hyper_mlp_digits", "terminator_2d_digits")
OUT = os.path.join(RESULTS, "results-energy.csv")
FIELDS = (
    "section", "stat", "model", "dataset", "split", "top1", "top1_err",
    "param_count", "epochs", "batch_size", "seed", "n", "backend",
    "precision", "energy_source", "energy_per_epoch_j",
    "energy_per_epoch_std_j", "energy_total_j", "power_w", "co2eq_total_g",
    "j_per_top1_point", "train_s", "welch_t_energy", "welch_p_energy",
    "welch_t_power", "welch_p_power", "carbon_intensity_kg_per_kwh",
    "device", "cpu", "num_threads", "date", "command",
)


def _gpu_name():
    """The first GPU's name if NVML reads one, else `None`."""
    from zoo.energy import NvmlReader

    reader = NvmlReader(sample_secs=None)
    if not reader.open():
        return None
    try:
        names = reader.device_names()
        name = names[0] if len(set(names)) == 1 else "+".join(names)
    except Exception:
        name = "nvidia-gpu"
    reader.close()
    return name


def _precisions(gpu):
    from zoo.training import PRECISIONS

    chosen = ["float32", "mixed_bfloat16"]
    if "dfp_int16" in PRECISIONS:
        if importlib.util.find_spec("zoo.dfp_training") is not None:
            chosen.append("dfp_int16")
        else:
            print("dfp_int16 skipped: zoo.dfp_training is not importable")
    if gpu:
        chosen.append("mixed_float16")
    return chosen


def _top1(metrics):
    for key in ("accuracy", "top1", "acc"):
        if key in metrics:
            value = float(metrics[key])
            return value * 100.0 if value <= 1.0 else value
    raise KeyError(f"no accuracy in the metrics {sorted(metrics)}")


def _run(preset, precision, seed, epochs, work, command):
    import keras

    import zoo
    from zoo.training import TrainOptions
    from zoo.training import read_log
    from zoo.training import train

    out_dir = os.path.join(work, f"{preset}-{precision}-{seed}")
    shutil.rmtree(out_dir, ignore_errors=True)
    keras.backend.clear_session()
    start = time.perf_counter()
    preset_dir, metrics = train(
        preset, out_dir, epochs=epochs, precision=precision, seed=seed,
        verbose=0, training_command=command,
        options=TrainOptions(energy=True))
    seconds = time.perf_counter() - start
    log = read_log(os.path.join(out_dir, "log.csv"))
    energies = [float(r["energy_j"]) for r in log]
    powers = [float(r["power_w"]) for r in log]
    co2 = [float(r["co2eq_g"]) for r in log]
    sources = sorted({r["energy_source"] for r in log})
    steady = slice(1, None) if len(log) > 1 else slice(None)
    metadata = zoo.read_metadata(preset_dir)
    model = zoo.load(preset_dir)
    top1 = _top1(metrics)
    total = sum(energies)
    return {
        "model": preset,
        "dataset": metadata.get("dataset", ""),
        "split": "test",
        "top1": round(top1, 2),
        "top1_err": round(100.0 - top1, 2),
        "param_count": model.count_params(),
        "epochs": len(log),
        "batch_size": metadata.get("batch_size", ""),
        "seed": seed,
        "n": 1,
        "precision": precision,
        "energy_source": "|".join(sources),
        "energy_per_epoch_j": statistics.fmean(energies[steady]),
        "energy_total_j": total,
        "power_w": statistics.fmean(powers[steady]),
        "co2eq_total_g": sum(co2),
        "j_per_top1_point": total / top1 if top1 > 0 else math.nan,
        "train_s": round(seconds, 2),
    }


def _welch(a, b):
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return "", ""
    result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue)


def _summaries(rows):
    """`stat=mean` rows from the `stat=run` rows, per group."""
    groups = {}
    for r in rows:
        if r["stat"] != "run":
            continue
        key = (r["section"], r["model"], r["backend"], str(r["epochs"]))
        groups.setdefault(key, {}).setdefault(r["precision"], []).append(r)
    out = []
    for key, by_precision in groups.items():
        base = by_precision.get("float32", [])
        base_e = [float(r["energy_per_epoch_j"]) for r in base]
        base_p = [float(r["power_w"]) for r in base]
        for precision, runs in by_precision.items():
            energy = [float(r["energy_per_epoch_j"]) for r in runs]
            power = [float(r["power_w"]) for r in runs]
            first = runs[0]
            row = {k: first[k] for k in (
                "section", "model", "dataset", "split", "param_count",
                "epochs", "batch_size", "backend", "precision", "device",
                "cpu", "num_threads", "carbon_intensity_kg_per_kwh",
                "command")}
            top1 = statistics.fmean(float(r["top1"]) for r in runs)
            row.update({
                "stat": "mean",
                "seed": "+".join(str(r["seed"]) for r in runs),
                "n": len(runs),
                "top1": round(top1, 2),
                "top1_err": round(100.0 - top1, 2),
                "energy_source": "|".join(sorted(
                    {r["energy_source"] for r in runs})),
                "energy_per_epoch_j": statistics.fmean(energy),
                "energy_per_epoch_std_j": (statistics.stdev(energy)
                                           if len(energy) > 1 else ""),
                "energy_total_j": statistics.fmean(
                    float(r["energy_total_j"]) for r in runs),
                "power_w": statistics.fmean(power),
                "co2eq_total_g": statistics.fmean(
                    float(r["co2eq_total_g"]) for r in runs),
                "j_per_top1_point": statistics.fmean(
                    float(r["j_per_top1_point"]) for r in runs),
                "train_s": round(statistics.fmean(
                    float(r["train_s"]) for r in runs), 2),
                "date": max(r["date"] for r in runs),
            })
            if precision != "float32" and base:
                row["welch_t_energy"], row["welch_p_energy"] = _welch(
                    energy, base_e)
                row["welch_t_power"], row["welch_p_power"] = _welch(
                    power, base_p)
            out.append(row)
    return out


def _fmt(row):
    return {k: (f"{v:.6g}" if isinstance(v, float) else v)
            for k, v in row.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS),
                        choices=PRESETS)
    parser.add_argument("--precisions", nargs="+", default=None,
                        help="default: float32, mixed_bfloat16, dfp_int16 "
                        "(if available), mixed_float16 on a GPU")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None,
                        help="reduced epoch budget (default: the recipe's)")
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    import keras

    from zoo.energy import DEFAULT_CARBON_INTENSITY
    from zoo.training import check_precision

    gpu = _gpu_name()
    precisions = args.precisions or _precisions(gpu)
    for p in precisions:
        check_precision(p)
    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_energy.py", "--presets", *args.presets,
        "--precisions", *precisions, "--repeats", str(args.repeats),
        *(["--epochs", str(args.epochs)] if args.epochs else []))
    common = {
        "section": "gpu" if gpu else "cpu",
        "stat": "run",
        "backend": backend,
        "device": gpu or "cpu",
        "cpu": cpu_model(),
        "num_threads": usable_cpus(),
        "carbon_intensity_kg_per_kwh": DEFAULT_CARBON_INTENSITY,
        "date": today(),
        "command": command,
    }
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-energy-")
    runs = []
    for preset in args.presets:
        for seed in range(args.repeats):
            # Precisions interleaved per seed: they see the same load.
            for precision in precisions:
                row = dict(common, **_run(preset, precision, seed,
                                          args.epochs, work, command))
                print(f"{preset} {precision} seed {seed}: "
                      f"{row['energy_per_epoch_j']:.1f} J/epoch, "
                      f"{row['power_w']:.2f} W, top1 {row['top1']} "
                      f"({row['energy_source']})", flush=True)
                runs.append(_fmt(row))
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)

    def group(r):
        return (r["section"], r["model"], r["backend"], str(r["epochs"]))

    done = {group(r) for r in runs}
    rows = [r for r in read_csv_rows(args.out)
            if r["stat"] == "run" and group(r) not in done] + runs
    rows += [_fmt(r) for r in _summaries(rows)]
    order = {p: i for i, p in enumerate(
        ("float32", "mixed_bfloat16", "mixed_float16", "dfp_int16"))}
    rows.sort(key=lambda r: (r["section"], r["model"], r["backend"],
                             int(r["epochs"]), r["stat"] != "mean",
                             order.get(r["precision"], 9), str(r["seed"])))
    write_csv_atomic(args.out, FIELDS, rows)
    print(f"wrote {args.out}")
    for r in rows:
        if r["stat"] == "mean":
            print(f"  {r['model']} {r['precision']}: "
                  f"{r['energy_per_epoch_j']} J/epoch "
                  f"(sd {r['energy_per_epoch_std_j']}), "
                  f"{r['power_w']} W, top1 {r['top1']}, "
                  f"p(energy) {r.get('welch_p_energy', '')}, "
                  f"p(power) {r.get('welch_p_power', '')}, "
                  f"{r['energy_source']}")


if __name__ == "__main__":
    main()
