"""Pruning benchmark: accuracy vs sparsity (Global MP, MT, per layer, SAP).

Usage (what `make bench` runs; about 3.5 minutes on 2 CPU threads):

    KERAS_BACKEND=jax python scripts/bench_pruning.py

Parts (`--parts`, default all three):

- `grid`: the bundled presets `cafa_digits_encoder` (the digits CNN:
  conv 32 - pool - conv 64 - GAP - dense) and `hyper_mlp_digits` (its
  prunable weights are the kernels of the hypernetworks: their hidden
  layers, their kernel-generating heads, and the classifier kernel; the
  embeddings, the bias-generating heads and the biases stay dense) are
  pruned once at each target sparsity with `zoo.pruning.prune_once`, by
  Global MP (`global_mp`), Global MP with
  Gupta et al.'s minimum threshold (`global_mp_mt`: every layer keeps
  at least `int(0.05 % of the prunable weights)`, at least 1, as the
  reference code's `MT = 0.05`) and uniform per-layer MP (`layer_mp`),
  then fine-tuned with fixed masks for `--epochs` epochs (the preset's
  Adam 1e-3 and batch size, train split) with seeds 0 and 1 (the seed
  orders the fine-tuning batches; the masks of a one-shot pass do not
  depend on it). The test split gives `top1_oneshot` (before
  fine-tuning) and `top1`; the sparsity is measured from the weights;
  `collapsed` names every prunable kernel left with no weight and
  `min_kept` is the fewest weights any prunable kernel keeps. The
  `dense` rows fine-tune the unpruned preset for the same epochs. After
  pruning and again after fine-tuning, the BatchNormalization statistics
  are recomputed on the train split (one full-batch forward pass in
  training mode; the digits CNN only): pruning shrinks the conv outputs,
  and a few fine-tuning epochs leave the moving averages (momentum
  0.99) mostly at their stale values (in a trial, Global MP at 90 %:
  12 % test accuracy one-shot with the preset's statistics, 93 % with
  recomputed ones).
- `sap`: Diao et al.'s SAP (`zoo.pruning.sap_prune`, p = 0.5, q = 1,
  eta = 0, gamma = 1, beta = 0.9, global scope, rewinding to the
  initial weights) on a freshly initialised digits CNN, seeds 0 and 1:
  the PQI, density and test accuracy of every iteration.
- `plot`: `scripts/results/pruning.png` from the two CSVs.

Rows are merged into `scripts/results/results-pruning.csv` (keyed by
model, method, target sparsity, seed and backend) and
`scripts/results/results-pruning-sap.csv` (model, seed, iteration,
backend); columns follow timm's results CSV plus backend, precision and
the command.
"""

import argparse
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import add_sweep_options  # noqa: E402
from scripts._bench_common import check_names  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import run_parts  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402

CSV = os.path.join(RESULTS, "results-pruning.csv")
SAP_CSV = os.path.join(RESULTS, "results-pruning-sap.csv")
PNG = os.path.join(RESULTS, "pruning.png")
RUN_FIELDS = ("backend", "precision", "cpu", "keras_version", "date",
              "command")
FIELDS = ("model", "dataset", "split", "method", "target_sparsity",
          "sparsity", "seed", "top1_oneshot", "top1", "top1_err",
          "param_count", "prunable_count", "nonzero_count", "min_weights",
          "min_kept", "collapsed", "epochs", "batch_size", *RUN_FIELDS)
SAP_FIELDS = ("model", "dataset", "split", "seed", "iteration", "density",
              "sparsity", "pqi", "top1", "pruned_density", "collapsed",
              "p", "q", "eta", "gamma", "beta", "scope",
              "epochs_per_iteration", *RUN_FIELDS)
PARTS = ("grid", "sap", "plot")
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
# Gupta et al.'s MT: a percentage of all prunable weights.
MT_PERCENT = 0.05
# The digits CNN is the architecture of `cafa_digits_encoder`; the
# hypernetwork MLP's kernel generators are its `kernel_head` matrices.
MODELS = {
    "digits_cnn": {"preset": "cafa_digits_encoder", "layout": "image",
                   "batch_size": 64, "include": None},
    "hyper_mlp_digits": {"preset": "hyper_mlp_digits", "layout": "flat",
                         "batch_size": 32,
                         "include": r"(^|/|_)kernel(_\d+|_head)?$"},
}
# method: (scope, with MT)
METHODS = {"dense": None, "global_mp": ("global", False),
           "global_mp_mt": ("global", True), "layer_mp": ("layer", False)}
SAP_ARGS = {"p": 0.5, "q": 1.0, "eta": 0.0, "gamma": 1.0, "beta": 0.9,
            "scope": "global"}


def _run_fields(command):
    import keras

    return {"backend": keras.backend.backend(), "precision": "float32",
            "cpu": cpu_model(), "keras_version": keras.version(),
            "date": today(), "command": command}


def _accuracy(model, x, y):
    import numpy as np

    logits = model.predict(x, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def _compile(model, include):
    """Compiles `model` for fixed-mask fine-tuning (the presets' Adam)."""
    import keras

    from zoo.pruning import PruningOptimizer

    kwargs = {} if include is None else {"include": include}
    optimizer = PruningOptimizer(keras.optimizers.Adam(1e-3), **kwargs)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    optimizer.build(model.trainable_variables)
    return optimizer


def _collapsed(names, masks):
    """`;`-joined names of the kernels whose mask keeps nothing."""
    import numpy as np

    return ";".join(n for n, m in zip(names, masks)
                    if not np.any(np.asarray(m)))


def _grid_model(name, args):
    """Every method, sparsity and seed on one preset; returns the rows."""
    import keras
    import numpy as np

    import zoo
    from zoo.data import load_digits
    from zoo.pruning import prune_once
    from zoo.pruning import recalibrate_batch_norm
    from zoo.pruning import sparsity_report

    spec = MODELS[name]
    x, y = load_digits("train", layout=spec["layout"])
    x_test, y_test = load_digits("test", layout=spec["layout"])
    model = zoo.load(spec["preset"])
    optimizer = _compile(model, spec["include"])
    dense = model.get_weights()
    fresh = [keras.ops.convert_to_numpy(v)
             for v in optimizer.inner_optimizer.variables]
    ones = [np.ones(v.shape, "float32") for v in optimizer.masks]
    names = [v.path for v in optimizer.pruned_variables]
    prunable = sum(int(np.prod(v.shape)) for v in optimizer.masks)
    min_weights = max(1, int(prunable * MT_PERCENT / 100))
    report_kwargs = ({} if spec["include"] is None
                     else {"include": spec["include"]})
    command = run_command(keras.backend.backend(), "bench_pruning.py",
                          "--parts grid", f"--epochs {args.epochs}")
    run = _run_fields(command)
    rows = []
    for method in args.methods:
        for target in ([0.0] if method == "dense" else args.sparsities):
            masks = None
            for seed in args.seeds:
                model.set_weights(dense)
                for variable, value in zip(
                        optimizer.inner_optimizer.variables, fresh):
                    variable.assign(value)
                optimizer.set_masks(ones)
                if method != "dense":
                    scope, mt = METHODS[method]
                    masks = prune_once(model, target, scope,
                                       min_weights if mt else 0)
                recalibrate_batch_norm(model, x)
                oneshot = _accuracy(model, x_test, y_test)
                keras.utils.set_random_seed(seed)
                model.fit(x, y, epochs=args.epochs,
                          batch_size=spec["batch_size"], verbose=0)
                recalibrate_batch_norm(model, x)
                top1 = _accuracy(model, x_test, y_test)
                report = sparsity_report(model, **report_kwargs)
                rows.append({
                    "model": name, "dataset": "digits", "split": "test",
                    "method": method, "target_sparsity": target,
                    "sparsity": round(report["sparsity"], 5),
                    "seed": seed,
                    "top1_oneshot": round(100 * oneshot, 2),
                    "top1": round(100 * top1, 2),
                    "top1_err": round(100 * (1 - top1), 2),
                    "param_count": report["parameters"],
                    "prunable_count": report["prunable_parameters"],
                    "nonzero_count": (report["prunable_parameters"]
                                      - report["zero_parameters"]),
                    "min_weights": (min_weights if method == "global_mp_mt"
                                    else 0),
                    "min_kept": min(int(np.sum(m)) for m in masks or ones),
                    "collapsed": _collapsed(names, masks or ones),
                    "epochs": args.epochs,
                    "batch_size": spec["batch_size"], **run,
                })
                print({k: rows[-1][k] for k in FIELDS[:9]},
                      rows[-1]["collapsed"], flush=True)
    return rows


def _write_grid(rows):
    methods = list(METHODS)
    merge_csv_rows(
        CSV, FIELDS, rows,
        key=lambda r: (r["model"], r["method"], str(r["target_sparsity"]),
                       str(r["seed"]), r["backend"]),
        sort_key=lambda r: (r["backend"], r["model"],
                            methods.index(r["method"]),
                            float(r["target_sparsity"]), int(r["seed"])),
    )


def _sap(args):
    """SAP iterations on a fresh digits CNN per seed; returns the rows."""
    import keras

    from zoo.baselines.digits_cnn import DigitsCNNBackbone
    from zoo.baselines.digits_cnn import DigitsCNNClassifier
    from zoo.data import load_digits
    from zoo.pruning import sap_prune

    x, y = load_digits("train", layout="image")
    test = load_digits("test", layout="image")
    command = run_command(
        keras.backend.backend(), "bench_pruning.py", "--parts sap",
        f"--sap-iterations {args.sap_iterations}",
        f"--sap-epochs {args.sap_epochs}")
    run = _run_fields(command)
    rows = []
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        model = DigitsCNNClassifier(DigitsCNNBackbone(seed=seed), 10)
        optimizer = _compile(model, None)
        names = [v.path for v in optimizer.pruned_variables]
        history = sap_prune(
            model, x, y, args.sap_iterations, args.sap_epochs,
            batch_size=MODELS["digits_cnn"]["batch_size"],
            evaluation_data=test, **SAP_ARGS)
        previous = [1.0] * len(names)
        for i, density in enumerate(history["density"]):
            rows.append({
                "model": "digits_cnn", "dataset": "digits",
                "split": "test", "seed": seed, "iteration": i,
                "density": round(density, 5),
                "sparsity": round(1 - density, 5),
                "pqi": round(history["pqi"][i], 5),
                "top1": round(100 * history["accuracy"][i], 2),
                "pruned_density": round(history["pruned_density"][i], 5),
                "collapsed": _collapsed(names, previous),
                "epochs_per_iteration": args.sap_epochs,
                **SAP_ARGS, **run,
            })
            previous = history["masks"][i]
            print({k: rows[-1][k] for k in SAP_FIELDS[3:10]}, flush=True)
    merge_csv_rows(
        SAP_CSV, SAP_FIELDS, rows,
        key=lambda r: (r["model"], str(r["seed"]), str(r["iteration"]),
                       r["backend"]),
        sort_key=lambda r: (r["backend"], r["model"], int(r["seed"]),
                            int(r["iteration"])),
    )
    return rows


def _position(sparsity):
    """Plot abscissa: -log10(density), so 90 % -> 1 and 99 % -> 2."""
    return -math.log10(max(1.0 - float(sparsity), 1e-6))


def _mean_by(rows, key):
    """`{key(row): [top1, ...]}` over `rows`, in first-seen order."""
    groups = {}
    for r in rows:
        groups.setdefault(key(r), []).append(float(r["top1"]))
    return groups


def _plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    sap = read_csv_rows(SAP_CSV)
    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    fig, axes = plt.subplots(1, len(models) + 1,
                             figsize=(5 * (len(models) + 1), 4))
    ticks = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
    for ax, model in zip(axes, models):
        mine = [r for r in rows if r["model"] == model]
        for method in METHODS:
            if method == "dense":
                continue
            groups = _mean_by(
                (r for r in mine if r["method"] == method),
                lambda r: _position(r["sparsity"]))
            if not groups:
                continue
            xs = list(groups)
            ax.errorbar(
                xs, [sum(v) / len(v) for v in groups.values()],
                yerr=[[sum(v) / len(v) - min(v) for v in groups.values()],
                      [max(v) - sum(v) / len(v) for v in groups.values()]],
                marker="o", ms=4, capsize=2, label=method)
        dense = [float(r["top1"]) for r in mine if r["method"] == "dense"]
        if dense:
            ax.axhline(sum(dense) / len(dense), color="grey", ls="--",
                       lw=1, label="dense, fine-tuned")
        if model == "digits_cnn" and sap:
            groups = _mean_by(sap, lambda r: int(r["iteration"]))
            xs = [_position(1 - sum(float(r["density"]) for r in sap
                                    if int(r["iteration"]) == i)
                            / len(v)) for i, v in groups.items()]
            ax.plot(xs, [sum(v) / len(v) for v in groups.values()], "k:",
                    marker="x", ms=4, label="SAP (rewound, retrained)")
        ax.set_xticks([_position(t) for t in ticks])
        ax.set_xticklabels([f"{100 * t:g}" for t in ticks])
        ax.set_xlabel("sparsity of the prunable weights (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"{model}, one-shot + {mine[0]['epochs']} epochs "
                     "fine-tuning")
        ax.legend(fontsize=7, loc="lower left")
    ax = axes[-1]
    if sap:
        right = ax.twinx()
        for color, seed in zip(("tab:blue", "tab:red"),
                               sorted({r["seed"] for r in sap})):
            mine = [r for r in sap if r["seed"] == seed]
            its = [int(r["iteration"]) for r in mine]
            ax.plot(its, [float(r["pqi"]) for r in mine], color=color,
                    marker="o", ms=3, label=f"PQI, seed {seed}")
            right.plot(its, [float(r["density"]) for r in mine],
                       color=color, ls="--", label=f"density, seed {seed}")
        ax.set_xlabel("SAP iteration")
        ax.set_ylabel("PQI of the trained kernels (solid)")
        right.set_ylabel("density (dashed)")
        right.set_ylim(0, 1.05)
        ax.set_title("SAP on the digits CNN: PQI(p=0.5, q=1), density")
        ax.legend(fontsize=7, loc="upper center")
    write_plot(fig, PNG)


def main():
    """Runs the chosen parts of the pruning benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=list(PARTS))
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    add_sweep_options(parser, METHODS, SPARSITIES, (0, 1), 10,
                      "fine-tuning epochs after one-shot pruning")
    parser.add_argument("--sap-iterations", type=int, default=30)
    parser.add_argument("--sap-epochs", type=int, default=30,
                        help="training epochs per SAP iteration")
    args = parser.parse_args()
    check_names(parser, parts=(args.parts, PARTS),
                models=(args.models, MODELS),
                methods=(args.methods, METHODS))
    return run_parts(args.parts, [
        ("grid", lambda: [_write_grid(_grid_model(name, args))
                          for name in args.models]),
        ("sap", lambda: _sap(args)),
        ("plot", _plot),
    ])


if __name__ == "__main__":
    sys.exit(main())
