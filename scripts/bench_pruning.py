"""Pruning benchmark: accuracy vs sparsity; SAP vs lottery-ticket IMP.

Usage (what `make bench` runs; 5.5 minutes on 2 shared CPU threads with
jax: grid 2 minutes, sap 1.6, lth 1.8, plot a few seconds):

    KERAS_BACKEND=jax python scripts/bench_pruning.py

Parts (`--parts`, default all four, in this order):

- `grid`: three models are pruned once at each target sparsity with
  `zoo.pruning.prune_once`, by Global MP (`global_mp`), Global MP with
  Gupta et al.'s minimum threshold (`global_mp_mt`: every layer keeps
  at least `int(0.05 % of the prunable weights)`, at least 1, as the
  reference code's `MT = 0.05`) and uniform per-layer MP (`layer_mp`),
  then fine-tuned with fixed masks for `--epochs` epochs (Adam 1e-3, the
  model's batch size, train split) with seeds 0 and 1 (the seed orders
  the fine-tuning batches; the masks of a one-shot pass do not depend on
  it). The models:
  - `digits_cnn`: the bundled preset `cafa_digits_encoder` (conv 32 -
    pool - conv 64 - GAP - dense, 8x8 digits, batch 64);
  - `mnist1d_cnn`: MNIST-1D (`zoo.data.load_mnist1d`, signals of length
    40) with the CNN of `scripts/bench_filter_design.py`
    (`build_model("mnist1d_cnn", 5, "he_normal", 0)`: conv1d 32 - ReLU -
    conv1d 64 - ReLU, kernel 5, stride 2, no BatchNorm - GAP - dense 10).
    There is no bundled preset, so the grid first trains it densely,
    `--dense-epochs` epochs (default 60; Adam 1e-3, batch 64, train
    split, seed 0), and prunes that model;
  - `hyper_mlp_digits`: the bundled preset (its prunable weights are the
    kernels of the hypernetworks: their hidden layers, their
    kernel-generating heads, and the classifier kernel; the embeddings,
    the bias-generating heads and the biases stay dense; batch 32).
  The test split gives `top1_oneshot` (before fine-tuning) and `top1`;
  the sparsity is measured from the weights; `collapsed` names every
  prunable kernel left with no weight and `min_kept` is the fewest
  weights any prunable kernel keeps. The `dense` rows fine-tune the
  unpruned model for the same epochs. After pruning and again after
  fine-tuning, the BatchNormalization statistics are recomputed on the
  train split (one full-batch forward pass in training mode; only the
  digits CNN has BatchNorm): pruning shrinks the conv outputs, and a few
  fine-tuning epochs leave the moving averages (momentum 0.99) mostly at
  their stale values (in a trial, Global MP at 90 %: 12 % test accuracy
  one-shot with the preset's statistics, 93 % with recomputed ones).
- `sap`: Diao et al.'s SAP (`zoo.pruning.sap_prune`, p = 0.5, q = 1,
  eta = 0, gamma = 1, beta = 0.9, global scope, rewinding to the
  initial weights, `--sap-iterations` 30 rounds of `--sap-epochs` 30
  epochs, Adam 1e-3, batch 64) on a freshly initialised digits CNN
  (`DigitsCNNBackbone(seed=seed)`), seeds 0 and 1: the PQI, density and
  test accuracy of every iteration.
- `lth`: the baseline the paper compares SAP to, lottery-ticket-style
  iterative magnitude pruning (`zoo.pruning.imp_prune`, Frankle &
  Carbin: global magnitude ranking, a fixed fraction `rate` of the
  remaining weights pruned per round, rewinding to the initial weights,
  the same epochs per round), on the same fresh digits CNN (same seed,
  so the same initial weights and batch order), the same optimizer and
  the same number of rounds. Decision: IMP is matched to SAP's final
  density of the same seed: with `T` rounds and SAP's last trained
  density `D` (read from `results-pruning-sap.csv`, so `sap` must have
  run with the same `--sap-iterations`, `--sap-epochs` and backend),
  `rate = 1 - D ** (1 / (T - 1))`, so that IMP's round `T - 1` trains at
  `D` (to one weight) and the two final accuracies compare at the same
  density. IMP's global PQI (p = 0.5, q = 1) is recorded per round too.
  Iteration 0 (dense training) is the same run for both.
- `plot`: `scripts/results/pruning.png`: accuracy vs sparsity per model
  (the grid's methods; on the digits CNN also SAP's and IMP's rounds and
  tfmot's gradual per-layer pruning of the twin model, from
  `results-pruning-tfmot.csv`, `scripts/bench_tfmot.py`), and SAP vs
  IMP by round: PQI, test accuracy and density.

Rows are merged into `scripts/results/results-pruning.csv` (keyed by
model, method, target sparsity, seed and backend),
`scripts/results/results-pruning-sap.csv` (model, seed, iteration,
backend) and `scripts/results/results-pruning-lth.csv` (model, seed,
iteration, backend; with SAP's density and accuracy of the same seed
and iteration alongside); columns follow timm's results CSV plus
backend, precision and the command.
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
LTH_CSV = os.path.join(RESULTS, "results-pruning-lth.csv")
TFMOT_CSV = os.path.join(RESULTS, "results-pruning-tfmot.csv")
PNG = os.path.join(RESULTS, "pruning.png")
RUN_FIELDS = ("backend", "precision", "cpu", "keras_version", "date",
              "command")
FIELDS = ("model", "dataset", "split", "method", "target_sparsity",
          "sparsity", "seed", "top1_oneshot", "top1", "top1_err",
          "param_count", "prunable_count", "nonzero_count", "min_weights",
          "min_kept", "collapsed", "epochs", "batch_size", "dense_epochs",
          *RUN_FIELDS)
SAP_FIELDS = ("model", "dataset", "split", "seed", "iteration", "density",
              "sparsity", "pqi", "top1", "pruned_density", "collapsed",
              "p", "q", "eta", "gamma", "beta", "scope",
              "epochs_per_iteration", *RUN_FIELDS)
LTH_FIELDS = ("model", "dataset", "split", "method", "seed", "iteration",
              "density", "sparsity", "pqi", "top1", "pruned_density",
              "collapsed", "rate", "scope", "sap_final_density",
              "sap_density", "sap_top1", "epochs_per_iteration",
              *RUN_FIELDS)
PARTS = ("grid", "sap", "lth", "plot")
SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
# Gupta et al.'s MT: a percentage of all prunable weights.
MT_PERCENT = 0.05
# The digits CNN is the architecture of `cafa_digits_encoder`; the
# hypernetwork MLP's kernel generators are its `kernel_head` matrices;
# the MNIST-1D CNN (no preset) is trained densely by the grid first.
MODELS = {
    "digits_cnn": {"preset": "cafa_digits_encoder", "dataset": "digits",
                   "batch_size": 64, "include": None},
    "mnist1d_cnn": {"preset": None, "dataset": "mnist1d",
                    "batch_size": 64, "include": None},
    "hyper_mlp_digits": {"preset": "hyper_mlp_digits", "dataset": "digits",
                         "layout": "flat", "batch_size": 32,
                         "include": r"(^|/|_)kernel(_\d+|_head)?$"},
}
# The MNIST-1D CNN of the filter-design ablation, its best kernel size
# and initialiser there.
MNIST1D_KERNEL_SIZE = 5
MNIST1D_INITIALIZER = "he_normal"
MNIST1D_SEED = 0
# method: (scope, with MT)
METHODS = {"dense": None, "global_mp": ("global", False),
           "global_mp_mt": ("global", True), "layer_mp": ("layer", False)}
# Global MP with and without MT often coincide: MT as open squares.
METHOD_STYLES = {"global_mp": {"marker": "o", "ms": 4},
                 "global_mp_mt": {"marker": "s", "ms": 8, "mfc": "none",
                                  "ls": "--"},
                 "layer_mp": {"marker": "^", "ms": 4}}
SAP_ARGS = {"p": 0.5, "q": 1.0, "eta": 0.0, "gamma": 1.0, "beta": 0.9,
            "scope": "global"}
LTH_SCOPE = "global"


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


def _data(name, split):
    """`(x, y)` of a split, laid out for the model `name` of `MODELS`."""
    from scripts.bench_filter_design import _load
    from zoo.data import load_digits

    spec = MODELS[name]
    if spec["dataset"] == "digits":
        return load_digits(split, layout=spec.get("layout", "image"))
    return _load(spec["dataset"], split)


def _model(name, x, y, dense_epochs):
    """The compiled dense model of `name` and its optimizer's fresh state.

    A preset is loaded; the MNIST-1D CNN is built and trained here
    (`dense_epochs` epochs, seed `MNIST1D_SEED`, through the same
    `PruningOptimizer` with nothing pruned). The returned state is the
    inner optimizer's before any training.

    Args:
        name: a name of `MODELS`.
        x: the training inputs.
        y: the training labels.
        dense_epochs: int, epochs of the dense MNIST-1D training.

    Returns:
        `(model, optimizer, fresh)`.
    """
    import keras

    import zoo
    from scripts.bench_filter_design import build_model

    spec = MODELS[name]
    if spec["preset"] is not None:
        model = zoo.load(spec["preset"])
    else:
        keras.utils.set_random_seed(MNIST1D_SEED)
        model = build_model(name, MNIST1D_KERNEL_SIZE, MNIST1D_INITIALIZER,
                            MNIST1D_SEED)
    optimizer = _compile(model, spec["include"])
    fresh = [keras.ops.convert_to_numpy(v)
             for v in optimizer.inner_optimizer.variables]
    if spec["preset"] is None:
        model.fit(x, y, epochs=dense_epochs, batch_size=spec["batch_size"],
                  verbose=0)
    return model, optimizer, fresh


def _grid_model(name, args):
    """Every method, sparsity and seed on one model; returns the rows."""
    import keras
    import numpy as np

    from zoo.pruning import prune_once
    from zoo.pruning import recalibrate_batch_norm
    from zoo.pruning import sparsity_report

    spec = MODELS[name]
    x, y = _data(name, "train")
    x_test, y_test = _data(name, "test")
    dense_epochs = 0 if spec["preset"] else args.dense_epochs
    model, optimizer, fresh = _model(name, x, y, dense_epochs)
    dense = model.get_weights()
    ones = [np.ones(v.shape, "float32") for v in optimizer.masks]
    names = [v.path for v in optimizer.pruned_variables]
    prunable = sum(int(np.prod(v.shape)) for v in optimizer.masks)
    min_weights = max(1, int(prunable * MT_PERCENT / 100))
    report_kwargs = ({} if spec["include"] is None
                     else {"include": spec["include"]})
    command = run_command(keras.backend.backend(), "bench_pruning.py",
                          "--parts grid", f"--epochs {args.epochs}",
                          f"--dense-epochs {args.dense_epochs}")
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
                    "model": name, "dataset": spec["dataset"],
                    "split": "test", "method": method,
                    "target_sparsity": target,
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
                    "batch_size": spec["batch_size"],
                    "dense_epochs": dense_epochs, **run,
                })
                print({k: rows[-1][k] for k in FIELDS[:9]},
                      rows[-1]["collapsed"], flush=True)
    return rows


def _write_grid(rows):
    methods, models = list(METHODS), list(MODELS)
    merge_csv_rows(
        CSV, FIELDS, rows,
        key=lambda r: (r["model"], r["method"], str(r["target_sparsity"]),
                       str(r["seed"]), r["backend"]),
        sort_key=lambda r: (r["backend"], models.index(r["model"]),
                            methods.index(r["method"]),
                            float(r["target_sparsity"]), int(r["seed"])),
    )


def _fresh_digits_cnn(seed):
    """A freshly initialised digits CNN compiled for pruning, and names.

    The global seed is set first, so SAP and IMP of one seed start from
    the same weights and see the same batches.
    """
    import keras

    from zoo.baselines.digits_cnn import DigitsCNNBackbone
    from zoo.baselines.digits_cnn import DigitsCNNClassifier

    keras.utils.set_random_seed(seed)
    model = DigitsCNNClassifier(DigitsCNNBackbone(seed=seed), 10)
    optimizer = _compile(model, None)
    return model, [v.path for v in optimizer.pruned_variables]


def _trajectory_rows(history, names, common):
    """One row per iteration of a `sap_prune` / `imp_prune` history."""
    rows, previous = [], [1.0] * len(names)
    for i, density in enumerate(history["density"]):
        rows.append({
            **common, "iteration": i,
            "density": round(density, 5),
            "sparsity": round(1 - density, 5),
            "pqi": round(history["pqi"][i], 5),
            "top1": round(100 * history["accuracy"][i], 2),
            "pruned_density": round(history["pruned_density"][i], 5),
            "collapsed": _collapsed(names, previous),
        })
        previous = history["masks"][i]
    return rows


def _sap(args):
    """SAP iterations on a fresh digits CNN per seed; returns the rows."""
    import keras

    from zoo.pruning import sap_prune

    x, y = _data("digits_cnn", "train")
    test = _data("digits_cnn", "test")
    command = run_command(
        keras.backend.backend(), "bench_pruning.py", "--parts sap",
        f"--sap-iterations {args.sap_iterations}",
        f"--sap-epochs {args.sap_epochs}")
    run = _run_fields(command)
    rows = []
    for seed in args.seeds:
        model, names = _fresh_digits_cnn(seed)
        history = sap_prune(
            model, x, y, args.sap_iterations, args.sap_epochs,
            batch_size=MODELS["digits_cnn"]["batch_size"],
            evaluation_data=test, **SAP_ARGS)
        rows += _trajectory_rows(history, names, {
            "model": "digits_cnn", "dataset": "digits", "split": "test",
            "seed": seed, "epochs_per_iteration": args.sap_epochs,
            **SAP_ARGS, **run})
        for row in rows[-args.sap_iterations:]:
            print({k: row[k] for k in SAP_FIELDS[3:10]}, flush=True)
    merge_csv_rows(
        SAP_CSV, SAP_FIELDS, rows,
        key=lambda r: (r["model"], str(r["seed"]), str(r["iteration"]),
                       r["backend"]),
        sort_key=lambda r: (r["backend"], r["model"], int(r["seed"]),
                            int(r["iteration"])),
    )
    return rows


def _sap_runs(args, backend):
    """SAP's rows per seed, checked against the IMP run asked for.

    Args:
        args: the parsed options (seeds, SAP iterations and epochs).
        backend: the Keras backend of this run.

    Returns:
        `{seed: [row of iteration 0, 1, ...]}` from `SAP_CSV`.
    """
    runs = {}
    for seed in args.seeds:
        mine = sorted((r for r in read_csv_rows(SAP_CSV)
                       if r["model"] == "digits_cnn"
                       and r["backend"] == backend
                       and int(r["seed"]) == seed),
                      key=lambda r: int(r["iteration"]))
        if ([int(r["iteration"]) for r in mine]
                != list(range(args.sap_iterations))
                or any(int(r["epochs_per_iteration"]) != args.sap_epochs
                       for r in mine)):
            raise SystemExit(
                f"lth: {SAP_CSV} has no SAP run of seed {seed} on "
                f"{backend} with {args.sap_iterations} iterations of "
                f"{args.sap_epochs} epochs; run `--parts sap` with the "
                "same options first")
        runs[seed] = mine
    return runs


def _lth(args):
    """IMP on a fresh digits CNN per seed at SAP's final density."""
    import keras

    from zoo.pruning import imp_prune

    if args.sap_iterations < 2:
        raise SystemExit("lth: --sap-iterations must be at least 2")
    backend = keras.backend.backend()
    sap = _sap_runs(args, backend)
    x, y = _data("digits_cnn", "train")
    test = _data("digits_cnn", "test")
    command = run_command(
        backend, "bench_pruning.py", "--parts lth",
        f"--sap-iterations {args.sap_iterations}",
        f"--sap-epochs {args.sap_epochs}")
    run = _run_fields(command)
    rows = []
    for seed in args.seeds:
        final = float(sap[seed][-1]["density"])
        rate = 1.0 - final ** (1.0 / (args.sap_iterations - 1))
        model, names = _fresh_digits_cnn(seed)
        history = imp_prune(
            model, x, y, args.sap_iterations, args.sap_epochs, rate=rate,
            scope=LTH_SCOPE, batch_size=MODELS["digits_cnn"]["batch_size"],
            evaluation_data=test, p=SAP_ARGS["p"], q=SAP_ARGS["q"])
        mine = _trajectory_rows(history, names, {
            "model": "digits_cnn", "dataset": "digits", "split": "test",
            "method": "imp", "seed": seed, "rate": round(rate, 6),
            "scope": LTH_SCOPE, "sap_final_density": final,
            "epochs_per_iteration": args.sap_epochs, **run})
        for row, other in zip(mine, sap[seed]):
            row["sap_density"] = other["density"]
            row["sap_top1"] = other["top1"]
            print({k: row[k] for k in LTH_FIELDS[4:10]}, "SAP",
                  other["density"], other["top1"], flush=True)
        rows += mine
    merge_csv_rows(
        LTH_CSV, LTH_FIELDS, rows,
        key=lambda r: (r["model"], r["method"], str(r["seed"]),
                       str(r["iteration"]), r["backend"]),
        sort_key=lambda r: (r["backend"], r["model"], r["method"],
                            int(r["seed"]), int(r["iteration"])),
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


def _mean_curve(rows, value="top1"):
    """Per iteration: mean sparsity and mean `value` over the seeds."""
    groups = {}
    for r in rows:
        groups.setdefault(int(r["iteration"]), []).append(r)
    its = sorted(groups)
    return (its,
            [sum(float(r["sparsity"]) for r in groups[i]) / len(groups[i])
             for i in its],
            [sum(float(r[value]) for r in groups[i]) / len(groups[i])
             for i in its])


def _plot_model(ax, model, rows, sap, lth, tfmot):
    """Accuracy vs sparsity of one model: the grid, SAP, IMP, tfmot."""
    mine = [r for r in rows if r["model"] == model]
    for method in METHODS:
        if method == "dense":
            continue
        groups = _mean_by((r for r in mine if r["method"] == method),
                          lambda r: _position(r["sparsity"]))
        if not groups:
            continue
        means = [sum(v) / len(v) for v in groups.values()]
        ax.errorbar(
            list(groups), means,
            yerr=[[m - min(v) for m, v in zip(means, groups.values())],
                  [max(v) - m for m, v in zip(means, groups.values())]],
            capsize=2, label=method, **METHOD_STYLES[method])
    dense = [float(r["top1"]) for r in mine if r["method"] == "dense"]
    if dense:
        ax.axhline(sum(dense) / len(dense), color="grey", ls="--", lw=1,
                   label="dense, fine-tuned")
    if model == "digits_cnn":
        for label, trajectory, style in (
                ("SAP rounds (fresh CNN, rewound)", sap, "k:"),
                ("IMP rounds (fresh CNN, rewound)", lth, "m:")):
            if trajectory:
                _, sparsity, top1 = _mean_curve(trajectory)
                ax.plot([_position(s) for s in sparsity], top1, style,
                        marker="x", ms=4, label=label)
        theirs = [r for r in tfmot if r["library"].startswith("tfmot")
                  and r["method"] != "dense"]
        if theirs:
            groups = _mean_by(theirs, lambda r: _position(r["sparsity"]))
            ax.plot(list(groups), [sum(v) / len(v) for v in groups.values()],
                    color="black", marker="s", mfc="none", ms=7, ls="none",
                    label=f"{theirs[0]['library']} gradual layer MP "
                          "(twin, bench_tfmot)")
    ticks = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
    ax.set_xticks([_position(t) for t in ticks])
    ax.set_xticklabels([f"{100 * t:g}" for t in ticks])
    ax.set_xlabel("sparsity of the prunable weights (%)")
    ax.set_ylabel("test accuracy (%), mean of seeds")
    ax.set_ylim(0, 100)
    ax.set_title(f"{model} ({mine[0]['dataset']}), one-shot + "
                 f"{mine[0]['epochs']} epochs fine-tuning", fontsize=9)
    ax.legend(fontsize=6, loc="lower left")


def _plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    sap = read_csv_rows(SAP_CSV)
    lth = read_csv_rows(LTH_CSV)
    tfmot = read_csv_rows(TFMOT_CSV)
    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), squeeze=False)
    for ax, model in zip(axes[0], models):
        _plot_model(ax, model, rows, sap, lth, tfmot)
    for ax in axes[0][len(models):]:
        ax.axis("off")
    panels = (("pqi", "global PQI(p=0.5, q=1) of the trained kernels"),
              ("top1", "test accuracy (%)"),
              ("density", "density of the prunable weights"))
    for ax, (value, label) in zip(axes[1], panels):
        for name, trajectory, color in (("SAP", sap, "tab:blue"),
                                        ("IMP", lth, "tab:red")):
            for seed, ls in zip(sorted({r["seed"] for r in trajectory}),
                                ("-", "--")):
                mine = [r for r in trajectory if r["seed"] == seed]
                ax.plot([int(r["iteration"]) for r in mine],
                        [float(r[value]) for r in mine], color=color,
                        ls=ls, marker="o", ms=2,
                        label=f"{name}, seed {seed}")
        ax.set_xlabel("round (train, then prune; rewound to the init)")
        ax.set_ylabel(label)
        if value == "density":
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    if sap:
        s = sap[0]
        axes[1][0].set_title(
            f"digits CNN: SAP (p={s['p']}, q={s['q']}, gamma={s['gamma']},"
            f" beta={s['beta']}) vs IMP at SAP's final density", fontsize=9)
        axes[1][1].set_title(
            f"{s['epochs_per_iteration']} epochs per round", fontsize=9)
    write_plot(fig, PNG)


def main():
    """Runs the chosen parts of the pruning benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=list(PARTS))
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    add_sweep_options(parser, METHODS, SPARSITIES, (0, 1), 10,
                      "fine-tuning epochs after one-shot pruning")
    parser.add_argument("--dense-epochs", type=int, default=60,
                        help="epochs of the dense MNIST-1D CNN's training")
    parser.add_argument("--sap-iterations", type=int, default=30)
    parser.add_argument("--sap-epochs", type=int, default=30,
                        help="training epochs per SAP (and IMP) iteration")
    args = parser.parse_args()
    check_names(parser, parts=(args.parts, PARTS),
                models=(args.models, MODELS),
                methods=(args.methods, METHODS))
    return run_parts(args.parts, [
        ("grid", lambda: [_write_grid(_grid_model(name, args))
                          for name in args.models]),
        ("sap", lambda: _sap(args)),
        ("lth", lambda: _lth(args)),
        ("plot", _plot),
    ])


if __name__ == "__main__":
    sys.exit(main())
