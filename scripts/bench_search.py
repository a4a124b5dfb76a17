"""Benchmark of `zoo.search`: regularized evolution vs random search.

Two recipes, each searched by both algorithms at the same budget (trials,
rejected ones included) and the same proxy budget (epochs per trial):

- `terminator`: `terminator_1d_mnist1d`, space `terminator_mnist1d`,
  at most 100k parameters (checked before training).
- `rhn`: `rhn_attention_lorenz96`, space `rhn_lorenz96`.

Trials train on the train split and are scored on the validation split
(`zoo.search`). `--part final` then takes the best config found (both
algorithms pooled), trains it and the bundled config with the trial
protocol at the full recipe budget (validation figures, same protocol),
and retrains the best config with the bundled recipe's protocol
(train+val, full budget) for its test figure, next to the bundled
preset's test figure (its `metadata.json`, from the run that produced
it). Parts (rerunnable: searches resume from `runs/bench_search/`):

```
KERAS_BACKEND=torch python scripts/bench_search.py --part search \
    --recipe terminator --torch-threads 1
KERAS_BACKEND=jax python scripts/bench_search.py --part search --recipe rhn
KERAS_BACKEND=jax python scripts/bench_search.py --part final --recipe rhn
KERAS_BACKEND=jax python scripts/bench_search.py --part final \
    --recipe terminator --configs bundled
KERAS_BACKEND=jax python scripts/bench_search.py --part final \
    --recipe terminator --configs best
python scripts/bench_search.py --part plot
```

Writes `scripts/results/results-search.csv` (one row per search and per
final figure), `scripts/results/search-trials.csv` (every trial) and
`scripts/results/search.png` (best-so-far validation score against the
trial index).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import ROOT  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import save_figure_atomic  # noqa: E402

RECIPES = {
    "terminator": dict(preset="terminator_1d_mnist1d",
                       space="terminator_mnist1d", max_params=100_000,
                       budget=5, epochs=2, dataset="mnist1d",
                       test_metric="accuracy"),
    "rhn": dict(preset="rhn_attention_lorenz96", space="rhn_lorenz96",
                max_params=None, budget=8, epochs=3, dataset="lorenz96",
                test_metric="vpt_lyapunov"),
}
ALGORITHMS = ("evolution", "random")
WORK = os.path.join(ROOT, "runs", "bench_search")
CSV = os.path.join(RESULTS, "results-search.csv")
TRIALS_CSV = os.path.join(RESULTS, "search-trials.csv")
PNG = os.path.join(RESULTS, "search.png")
COLUMNS = ("recipe", "model", "dataset", "row", "algorithm", "config_of",
           "split", "metric", "value", "param_count", "max_params",
           "budget", "trials_ok", "trials_rejected", "epochs",
           "proxy_epochs", "seconds", "config", "source", "seed",
           "backend", "precision", "cpu", "command")
TRIAL_COLUMNS = ("recipe", "algorithm", "trial", "status", "config",
                 "params", "metric", "value", "best_so_far", "epochs",
                 "seconds", "seed", "backend")


def _command(backend, part, recipe):
    threads = None
    if backend == "torch":
        import torch

        threads = f"--torch-threads {torch.get_num_threads()}"
    return run_command(backend, "bench_search.py", "--part", part,
                       "--recipe", recipe, threads)


def _key(row):
    return (row["recipe"], row["row"], row["algorithm"], row["config_of"],
            row["split"])


def _merge(rows):
    merge_csv_rows(CSV, COLUMNS, rows, key=_key, sort_key=_key)


def _search(name, seed):
    import keras

    from zoo.search import search

    spec = RECIPES[name]
    backend = keras.backend.backend()
    rows, trial_rows = [], []
    for algorithm in ALGORITHMS:
        result = search(spec["preset"], spec["space"], spec["budget"],
                        os.path.join(WORK, name, algorithm),
                        algorithm=algorithm, seed=seed,
                        max_params=spec["max_params"],
                        epochs=spec["epochs"])
        trials = result["trials"]
        best = result["best"]
        best_so_far = float("nan")
        for t in trials:
            if t["status"] == "ok":
                value = float(t["value"])
                best_so_far = value if best_so_far != best_so_far \
                    else max(best_so_far, value)
            trial_rows.append(dict(
                recipe=name, algorithm=algorithm, trial=t["trial"],
                status=t["status"],
                config=json.dumps(t["config"], sort_keys=True),
                params=t["params"], metric=t["metric"], value=t["value"],
                best_so_far=("" if best_so_far != best_so_far
                             else f"{best_so_far:.4f}"),
                epochs=t["epochs"], seconds=t["seconds"], seed=t["seed"],
                backend=t["backend"]))
        rows.append(dict(
            recipe=name, model=spec["preset"], dataset=spec["dataset"],
            row="search", algorithm=algorithm, config_of="best_trial",
            split="val", metric=trials[0]["metric"],
            value="" if best is None else f"{float(best['value']):.4f}",
            param_count="" if best is None else best["params"],
            max_params=spec["max_params"] or "", budget=spec["budget"],
            trials_ok=sum(t["status"] == "ok" for t in trials),
            trials_rejected=sum(t["status"] == "rejected" for t in trials),
            epochs=spec["epochs"], proxy_epochs=spec["epochs"],
            seconds=f"{sum(float(t['seconds']) for t in trials):.0f}",
            config="" if best is None else json.dumps(best["config"],
                                                      sort_keys=True),
            source="zoo.search trials", seed=seed, backend=backend,
            precision="float32", cpu=cpu_model(),
            command=_command(backend, "search", name)))
    _merge(rows)
    old = [r for r in read_csv_rows(TRIALS_CSV) if r["recipe"] != name]
    merge_csv_rows(TRIALS_CSV, TRIAL_COLUMNS, old + trial_rows,
                   key=lambda r: (r["recipe"], r["algorithm"],
                                  int(r["trial"])),
                   sort_key=lambda r: (r["recipe"], r["algorithm"],
                                       int(r["trial"])))
    for r in rows:
        print(f"{name} {r['algorithm']}: best val {r['value']} "
              f"({r['trials_ok']} ok, {r['trials_rejected']} rejected, "
              f"{r['seconds']} s) {r['config']}", flush=True)


def _best_config(name):
    rows = [r for r in read_csv_rows(CSV)
            if r["recipe"] == name and r["row"] == "search" and r["value"]]
    if not rows:
        raise SystemExit(f"run --part search --recipe {name} first")
    best = max(rows, key=lambda r: float(r["value"]))
    return best["algorithm"], json.loads(best["config"])


def _final(name, seed, which):
    import keras

    from zoo.search import evaluate_config

    spec = RECIPES[name]
    backend = keras.backend.backend()
    algorithm, best = ("", {}) if which.startswith("bundled") \
        else _best_config(name)
    common = dict(recipe=name, model=spec["preset"],
                  dataset=spec["dataset"], row="final", algorithm=algorithm,
                  max_params=spec["max_params"] or "", seed=seed,
                  backend=backend, precision="float32", cpu=cpu_model(),
                  command=_command(backend, "final", name)
                  + f" --configs {which}")
    rows = []
    # Validation figures, trial protocol, full recipe budget.
    todo = (("bundled", {}), ("best", best))
    for config_of, config in todo:
        if which not in ("all", config_of, f"{config_of}_val"):
            continue
        result = evaluate_config(
            spec["preset"], config, seed=seed,
            out_dir=os.path.join(WORK, name, f"final_val_{config_of}"))
        rows.append(dict(
            common, config_of=config_of, split="val",
            algorithm=common["algorithm"] if config_of == "best" else "",
            metric=result["metric"], value=f"{result['value']:.4f}",
            param_count=result["params"], epochs=result["epochs"],
            seconds=f"{result['seconds']:.0f}",
            config=json.dumps(config, sort_keys=True),
            source="train split -> val split (zoo.search protocol)"))
        print(rows[-1], flush=True)
    if which in ("bundled", "best_val"):
        _merge(rows)
        return
    if which in ("all", "best", "best_test"):
        rows.append(_best_test(name, spec, common, best, seed))
    if which in ("all", "bundled_test"):
        rows.append(_bundled_test(spec, common))
    _merge(rows)


def _best_test(name, spec, common, best, seed):
    """Test figure of the best config, bundled recipe's protocol."""
    import keras

    from zoo.search import _plain

    start = time.perf_counter()
    out_dir = os.path.join(WORK, name, "final_test_best")
    if name == "terminator":
        from zoo.terminator.terminator_training import train_preset
    else:
        from zoo.forecasting.forecasting_training import train_preset
    keras.backend.clear_session(free_memory=False)
    model, metrics, metadata = train_preset(
        spec["preset"], out_dir=out_dir, seed=seed, verbose=0,
        **_plain(best))
    row = dict(
        common, config_of="best", split="test",
        metric=spec["test_metric"],
        value=f"{metrics[spec['test_metric']]:.4f}",
        param_count=model.count_params(), epochs=metadata["epochs"],
        seconds=f"{time.perf_counter() - start:.0f}",
        config=json.dumps(best, sort_keys=True),
        source="bundled recipe protocol (train_preset), retrained")
    print(row, flush=True)
    return row


def _bundled_test(spec, common):
    """The bundled preset's own test figure (its metadata.json)."""
    with open(os.path.join(ROOT, "zoo", "presets", spec["preset"],
                           "metadata.json")) as f:
        meta = json.load(f)
    return dict(
        common, algorithm="", config_of="bundled", split="test",
        metric=spec["test_metric"],
        value=f"{meta['metrics'][spec['test_metric']]:.4f}",
        param_count=meta["parameter_count"], epochs=meta["epochs"],
        seconds="", config="{}", backend=meta["backend"],
        source="bundled preset metadata.json: "
               + meta["training_command"], command=meta["training_command"])


def _plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = read_csv_rows(TRIALS_CSV)
    names = [n for n in RECIPES if any(t["recipe"] == n for t in trials)]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6),
                             squeeze=False)
    finals = {(r["recipe"], r["config_of"], r["split"]): r
              for r in read_csv_rows(CSV) if r["row"] == "final"}
    for ax, name in zip(axes[0], names):
        for algorithm in ALGORITHMS:
            rows = [t for t in trials
                    if t["recipe"] == name and t["algorithm"] == algorithm]
            xs = [int(t["trial"]) + 1 for t in rows if t["best_so_far"]]
            ys = [float(t["best_so_far"]) for t in rows if t["best_so_far"]]
            ax.step(xs, ys, where="post", marker="o", label=algorithm)
        metric = next(t["metric"] for t in trials if t["recipe"] == name)
        ax.set_title(f"{RECIPES[name]['preset']} "
                     f"({RECIPES[name]['epochs']}-epoch proxy)")
        ax.set_xlabel("trial")
        ax.set_ylabel(f"best-so-far {metric}")
        bundled = finals.get((name, "bundled", "val"))
        if bundled:
            ax.axhline(float(bundled["value"]), color="gray", ls="--",
                       label=f"bundled, full budget ({bundled['value']})")
        best = finals.get((name, "best", "val"))
        if best:
            ax.axhline(float(best["value"]), color="green", ls=":",
                       label=f"best, full budget ({best['value']})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, PNG, dpi=110)
    print(PNG)


def main(argv=None):
    """Runs one part of the benchmark.

    Args:
        argv: list of str or `None` (`sys.argv[1:]`).

    Example:

    ```python
    main(["--part", "search", "--recipe", "rhn"])
    ```
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("search", "final", "plot"),
                        required=True)
    parser.add_argument("--recipe", choices=tuple(RECIPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", choices=("all", "bundled", "best",
                                              "best_val", "best_test",
                                              "bundled_test"),
                        default="all",
                        help="--part final: which configs to train")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (1 on a loaded "
                        "shared CPU: spinning threads stall)")
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    if args.part != "plot" and args.recipe is None:
        parser.error("--recipe is required for --part search/final")
    if args.part == "search":
        _search(args.recipe, args.seed)
    elif args.part == "final":
        _final(args.recipe, args.seed, args.configs)
    else:
        _plot()


if __name__ == "__main__":
    main()
