"""Continual-learning benchmark of the HyperCL family, and its step time.

Two parts (both by default):

`--part accuracy` (one backend, the one of this process): every method
learns the task streams of `zoo.data.continual_digits` in turn and the test
accuracy on every task is recorded after every task.

- `hnet_chunked`: `HyperCLClassifier` with the preset's chunked
  hypernetwork (chunk 1000, hidden 100-100, task and chunk embeddings 8),
  beta 0.01;
- `hnet_chunked_small`: a compressive chunked hypernetwork (chunk 150,
  hidden 40-40, chunk embeddings 16: fewer parameters than the target);
- `hnet_recurrent`: the recurrent (LSTM) hypernetwork, chunk 1000, chunk
  embeddings of 8 as extra LSTM inputs, with the LSTM width chosen so
  that its parameter count is the closest to `hnet_chunked`'s (equal
  hypernet parameters);
- `finetune`, `ewc` (lambda from `--ewc-lambdas`, every value reported),
  `independent` (one fresh MLP per task: the upper bound), all with the
  same 64-100-100-10 target, data, epochs per task, batch 32, Adam 1e-3
  (`zoo.hyper_cl.baselines`).

Scenarios: permuted digits (10 tasks) and split digits (5 tasks),
task-incremental (task id given); for the hypernetworks also
class-incremental (task inferred by lowest predictive entropy).
Writes `scripts/results/hyper-cl-accuracy-matrix.csv` (long format:
scenario, method, after_task, task, accuracy),
`scripts/results/results-hyper-cl.csv` (one row per scenario and method:
average accuracy, forgetting, class-incremental accuracy, parameter
counts) and `scripts/results/hyper-cl-accuracy.png`.

`--part variants` (issue 22; permuted digits only): each `--variants`
entry is trained for each of `--seeds` with the same protocol as
`--part accuracy` (20 epochs per task by default, batch 32, Adam) and
evaluated task-incrementally and class-incrementally with several
task-inference scores of `HyperCLClassifier.infer_task` (entropy at
temperature 1, 2 and 0.5, max-softmax, energy), on test and (average
and entropy-CI accuracy) on the validation split. A variant is
`arch[:key=value,...]`: `arch` in `chunked`, `recurrent`,
`chunked_small`, `mlp`, or `independent` (one fresh MLP per task: the
entropy rule without a hypernetwork); keys `beta`, `lr`, `ood` (the
replay-free outlier weight `ood_weight`), `units` (LSTM width),
`hidden` (one hidden layer after the LSTM). Rows are
merged into `scripts/results/results-hyper-cl-variants.csv` (one per
variant, seed, epochs and backend; a rerun replaces its row), matrices
into `scripts/results/hyper-cl-variants-matrix.csv`, and mean / std
over seeds are rewritten to
`scripts/results/results-hyper-cl-variants-summary.csv`.

`--part speed`: training-step time of our hypernetwork against
hypnettorch's for the same sizes: an HMLP (one task embedding of 8,
hidden 100-100) generating every weight of a 64-100-100-10 MLP, batch
32, Adam 1e-3, cross-entropy. One child process per Keras backend; in
each, the Keras model (`layers.HyperNetwork` + `layers.FunctionalDense`,
trained by `model.fit` with `zoo.optimizers.InplaceAdam` (Keras's Adam
maths, in-place on torch), a callback stamping every step) and hypnettorch
(`HMLP` + `MLP(no_weights=True)`, a plain PyTorch loop timed per step)
are timed in interleaved rounds, so the ratio compares the two under
the same machine load. hypnettorch is imported from `--hypnettorch-path`
(install it there with `pip install --no-deps --target DIR
hypnettorch`; it is not a dependency of hyperzoo). Writes
`scripts/results/benchmark-train-hyper-cl-cpu.csv`: timm's
benchmark-train columns plus `backend`, `precision`,
`hypnettorch_step_time` (ms), `ratio_vs_hypnettorch` (median over rounds
of ours / theirs), `cpu`, `num_threads`, `keras_version`, `date`.

Usage (from the repository root):

    KERAS_BACKEND=jax PYTHONPATH=. .venv/bin/python scripts/bench_hyper_cl.py
    PYTHONPATH=. .venv/bin/python scripts/bench_hyper_cl.py --part speed
    KERAS_BACKEND=jax python scripts/bench_hyper_cl.py --part variants \
        --epochs 20 --seeds 0 1 2 --variants chunked recurrent
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import format_table  # noqa: E402
from scripts._bench_common import median  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import save_figure_atomic  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
SUMMARY_COLUMNS = (
    "scenario", "method", "average_accuracy", "forgetting",
    "class_incremental_accuracy", "param_count", "hypernet_param_count",
    "target_param_count", "compression_ratio", "epochs_per_task", "seed",
    "backend", "precision", "seconds", "command",
)
SPEED_COLUMNS = (
    "model", "backend", "precision", "jit_compile", "train_samples_per_sec",
    "train_step_time", "train_batch_size", "train_img_size", "param_count",
    "target_param_count", "hypnettorch_step_time", "ratio_vs_hypnettorch",
    "cpu", "num_threads", "keras_version", "date",
)


# ----------------------------------------------------------------------
# Accuracy
# ----------------------------------------------------------------------
def _matched_recurrent_units(target_params):
    """LSTM width whose recurrent hypernet is closest to `target_params`."""
    import keras

    from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier

    best = None
    for units in range(40, 129, 2):
        model = build_cl_classifier("permuted", "recurrent",
                                    recurrent_units=units)
        n = int(sum(keras.ops.size(w) for w in model.trainable_weights))
        if best is None or abs(n - target_params) < abs(best[1]
                                                        - target_params):
            best = (units, n)
    return best[0]


def run_accuracy(args):
    """Runs every method on every scenario; writes CSVs and the PNG."""
    import keras

    from zoo.data.continual_digits import SPLIT_TASK_LABELS
    from zoo.data.continual_digits import make_tasks
    from zoo.hyper_cl import continual
    from zoo.hyper_cl.baselines import train_baseline_continual
    from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier

    command = run_command(keras.backend.backend(), "bench_hyper_cl.py",
                          "--part accuracy", f"--epochs {args.epochs}",
                          f"--seed {args.seed}")
    chunked_params = None
    long_rows, summary = [], []
    for scenario in args.scenarios:
        train = make_tasks(scenario, "train")
        test = make_tasks(scenario, "test")
        labels = ([list(range(10))] * len(train) if scenario == "permuted"
                  else SPLIT_TASK_LABELS)
        methods = ["hnet_chunked", "hnet_chunked_small", "hnet_recurrent",
                   "finetune",
                   "independent"] + [f"ewc_{lam:g}" for lam in
                                     args.ewc_lambdas]
        for method in methods:
            if args.methods and method not in args.methods:
                continue
            start = time.perf_counter()
            row = dict(scenario=scenario, method=method,
                       epochs_per_task=args.epochs, seed=args.seed,
                       backend=keras.backend.backend(),
                       precision="float32", command=command,
                       class_incremental_accuracy="")
            if method.startswith("hnet"):
                arch = method.split("_", 1)[1]
                extra = {}
                if arch == "recurrent":
                    if chunked_params is None:
                        chunked_params = int(sum(
                            keras.ops.size(w) for w in build_cl_classifier(
                                "permuted", "chunked").trainable_weights))
                    extra["recurrent_units"] = _matched_recurrent_units(
                        chunked_params)
                model = build_cl_classifier(scenario, arch, seed=args.seed,
                                            **extra)
                matrix = continual.train_hypernet_continual(
                    model, train, test, args.epochs, seed=args.seed)
                ci = continual.class_incremental_accuracy(
                    model, test,
                    None if scenario == "permuted" else labels)
                row["class_incremental_accuracy"] = round(ci["accuracy"], 4)
                n_params = int(sum(keras.ops.size(w)
                                   for w in model.trainable_weights))
                row.update(param_count=n_params,
                           hypernet_param_count=n_params,
                           target_param_count=model.backbone
                           .num_target_params,
                           compression_ratio=round(
                               model.compression_ratio, 4))
            else:
                name = method.split("_")[0]
                lam = float(method.split("_")[1]) if name == "ewc" else 0.0
                matrix, _ = train_baseline_continual(
                    name, train, test, labels, epochs=args.epochs,
                    ewc_lambda=lam, seed=args.seed)
                target = 64 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10
                copies = len(train) if name == "independent" else 1
                row.update(param_count=target * copies,
                           hypernet_param_count="",
                           target_param_count=target,
                           compression_ratio="")
            metrics = continual.cl_metrics(matrix)
            row.update(average_accuracy=round(metrics["average_accuracy"],
                                              4),
                       forgetting=round(metrics["forgetting"], 4),
                       seconds=round(time.perf_counter() - start, 1))
            summary.append(row)
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    long_rows.append(dict(scenario=scenario, method=method,
                                          after_task=i, task=j,
                                          accuracy=round(matrix[i, j], 4)))
            print(f"{scenario:9s} {method:15s} avg "
                  f"{row['average_accuracy']:.4f} forgetting "
                  f"{row['forgetting']:.4f} ci "
                  f"{row['class_incremental_accuracy']} "
                  f"({row['seconds']} s)", flush=True)
    write_csv_atomic(os.path.join(args.results, "results-hyper-cl.csv"),
                     SUMMARY_COLUMNS, summary)
    write_csv_atomic(os.path.join(args.results,
                                  "hyper-cl-accuracy-matrix.csv"),
                     ("scenario", "method", "after_task", "task",
                      "accuracy"), long_rows)
    plot_accuracy(long_rows, os.path.join(args.results,
                                          "hyper-cl-accuracy.png"))


# ----------------------------------------------------------------------
# Variants (issue 22): seeds, recipe changes, task-inference scores
# ----------------------------------------------------------------------
VARIANT_COLUMNS = (
    "scenario", "variant", "architecture", "beta", "learning_rate",
    "ood_weight", "recurrent_units", "average_accuracy", "forgetting",
    "ci_entropy", "ci_max_softmax", "ci_energy", "ci_entropy_t2",
    "ci_entropy_t05", "task_inference_entropy", "val_average_accuracy",
    "val_ci_entropy", "weight_drift", "param_count", "epochs_per_task",
    "seed", "backend",
    "precision", "seconds", "command",
)
VARIANT_SUMMARY_COLUMNS = (
    "scenario", "variant", "epochs_per_task", "backend", "num_seeds",
    "seeds", "average_accuracy_mean", "average_accuracy_std",
    "forgetting_mean", "forgetting_std", "ci_entropy_mean",
    "ci_entropy_std", "ci_max_softmax_mean", "ci_energy_mean",
    "ci_entropy_t2_mean", "ci_entropy_t05_mean",
    "task_inference_entropy_mean", "val_average_accuracy_mean",
    "val_ci_entropy_mean", "weight_drift_mean", "just_learned_mean",
    "param_count", "command",
)
# Scores of `HyperCLClassifier.infer_task`: CSV column -> (score, T).
CI_SCORES = {
    "ci_entropy": ("entropy", 1.0),
    "ci_max_softmax": ("max_softmax", 1.0),
    "ci_energy": ("energy", 1.0),
    "ci_entropy_t2": ("entropy", 2.0),
    "ci_entropy_t05": ("entropy", 0.5),
}


def parse_variant(text):
    """`"arch[:key=value,...]"` -> (architecture, options dict).

    Keys: `beta`, `lr`, `ood` (floats), `units` (int, LSTM width),
    `hidden` (int: one hidden layer of that width after the LSTM). The
    architecture is a key of `CL_HYPERNETS` or `"independent"` (one MLP
    per task, the task-inference reference without a hypernetwork).
    """
    arch, _, rest = text.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in ("beta", "lr", "ood", "units", "hidden"):
            raise ValueError(f"Unknown variant option {key!r} in {text!r}")
        options[key] = (int(value) if key in ("units", "hidden")
                        else float(value))
    return arch, options


def _scores_from_logits(logits_per_task, labels_of_task):
    """CI accuracies of every `CI_SCORES` entry from per-task logits."""
    import numpy as np

    out = {}
    for column, (score, temperature) in CI_SCORES.items():
        values, local = [], []
        for logits in logits_per_task:
            z = logits.astype("float32") / np.float32(temperature)
            top = z.max(1, keepdims=True)
            p = np.exp(z - top)
            total = p.sum(1, keepdims=True)
            p /= total
            if score == "entropy":
                values.append(-(p * np.log(np.maximum(p, 1e-12))).sum(1))
            elif score == "max_softmax":
                values.append(-p.max(1))
            else:
                values.append(-(top[:, 0] + np.log(total[:, 0])))
            local.append(p.argmax(1))
        task = np.argmin(np.stack(values, 1), 1)
        out[column] = (task, np.stack(local, 1)[np.arange(len(task)),
                                                   task])
    return out


def _independent_ci(train, test, epochs, seed):
    """Task-incremental and CI numbers of one fresh MLP per task."""
    import keras
    import numpy as np

    from zoo.hyper_cl.baselines import MaskedMLP

    keras.utils.set_random_seed(seed)
    models = []
    for t, (x, y) in enumerate(train):
        model = MaskedMLP(64, (100, 100), 10, seed=seed + 100 * t)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True))
        model.fit(x, y, epochs=epochs, batch_size=32, shuffle=True,
                  verbose=0)
        models.append(model)
    n = len(train)
    matrix = np.zeros((n, n))
    logits = [[np.asarray(m.predict(x, verbose=0, batch_size=1024))
               for m in models] for x, _ in test]
    for j, (_, y) in enumerate(test):
        matrix[:, j] = float(np.mean(logits[j][j].argmax(1) == y))
    ci = {c: [0, 0] for c in CI_SCORES}
    task_ok = total = 0
    for t, (_, y) in enumerate(test):
        scored = _scores_from_logits(logits[t], None)
        for column, (task, label) in scored.items():
            ci[column][0] += int(np.sum(label == y))
            if column == "ci_entropy":
                task_ok += int(np.sum(task == t))
        total += len(y)
    row = {c: round(v[0] / total, 4) for c, v in ci.items()}
    row["task_inference_entropy"] = round(task_ok / total, 4)
    row["param_count"] = 17610 * n
    return matrix, row


def run_variants(args):
    """Trains each `--variants` entry for each `--seeds`; merges CSVs."""
    import csv

    import keras
    import numpy as np

    from zoo.data.continual_digits import make_tasks
    from zoo.hyper_cl import continual
    from zoo.hyper_cl.hyper_cl_presets import CL_BETA
    from zoo.hyper_cl.hyper_cl_presets import CL_HYPERNETS
    from zoo.hyper_cl.hyper_cl_presets import CL_LEARNING_RATE
    from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier

    backend = keras.backend.backend()
    path = os.path.join(args.results, "results-hyper-cl-variants.csv")
    old = []
    if os.path.exists(path):
        with open(path) as f:
            old = list(csv.DictReader(f))
    train = make_tasks("permuted", "train")
    test = make_tasks("permuted", "test")
    val = make_tasks("permuted", "val")
    for seed in args.seeds:
        for variant in args.variants:
            arch, opt = parse_variant(variant)
            command = run_command(backend, "bench_hyper_cl.py",
                                  "--part variants",
                                  f"--epochs {args.epochs}",
                                  f"--seeds {seed}",
                                  f"--variants {variant}")
            start = time.perf_counter()
            row = dict(scenario="permuted", variant=variant,
                       architecture=arch, epochs_per_task=args.epochs,
                       seed=seed, backend=backend, precision="float32",
                       command=command, recurrent_units="")
            if arch == "independent":
                matrix, extra = _independent_ci(train, test, args.epochs,
                                                seed)
                row.update(extra, beta="", learning_rate=1e-3,
                           ood_weight="")
            else:
                overrides = {}
                if "units" in opt:
                    overrides["recurrent_units"] = opt["units"]
                if "hidden" in opt:
                    overrides["hidden_units"] = (opt["hidden"],)
                model = build_cl_classifier(
                    "permuted", arch, seed=seed,
                    beta=opt.get("beta", CL_BETA),
                    learning_rate=opt.get("lr", CL_LEARNING_RATE),
                    ood_weight=opt.get("ood", 0.0), **overrides)
                matrix = continual.train_hypernet_continual(
                    model, train, test, args.epochs, seed=seed)
                for column, (score, temp) in CI_SCORES.items():
                    ci = continual.class_incremental_accuracy(
                        model, test, score=score, temperature=temp)
                    row[column] = round(ci["accuracy"], 4)
                    if column == "ci_entropy":
                        row["task_inference_entropy"] = round(
                            ci["task_accuracy"], 4)
                row["val_average_accuracy"] = round(float(np.mean([
                    np.mean(model.predict_task(x, t).argmax(1) == y)
                    for t, (x, y) in enumerate(val)])), 4)
                # Relative distance of each earlier task's generated
                # weights now from those stored right after it was
                # learned (what the output regulariser holds in place).
                now = np.asarray(keras.ops.convert_to_numpy(
                    model.backbone.hypernetwork.generate_all_tasks()))
                row["weight_drift"] = round(float(np.mean([
                    np.linalg.norm(now[t] - model.stored_weights(t))
                    / np.linalg.norm(model.stored_weights(t))
                    for t in model.regularizer.stored_tasks()])), 5)
                row["val_ci_entropy"] = round(
                    continual.class_incremental_accuracy(
                        model, val)["accuracy"], 4)
                row.update(
                    beta=opt.get("beta", CL_BETA),
                    learning_rate=opt.get("lr", CL_LEARNING_RATE),
                    ood_weight=opt.get("ood", 0.0),
                    param_count=int(sum(keras.ops.size(w) for w in
                                        model.trainable_weights)))
                if arch == "recurrent":
                    row["recurrent_units"] = opt.get(
                        "units", CL_HYPERNETS["recurrent"]
                        ["recurrent_units"])
            metrics = continual.cl_metrics(matrix)
            row.update(average_accuracy=round(metrics["average_accuracy"],
                                              4),
                       forgetting=round(metrics["forgetting"], 4),
                       seconds=round(time.perf_counter() - start, 1))
            key = (variant, str(seed), str(args.epochs), backend)
            old = [r for r in old if (r["variant"], r["seed"],
                                      r["epochs_per_task"],
                                      r["backend"]) != key]
            old.append({k: str(v) for k, v in row.items()})
            write_csv_atomic(path, VARIANT_COLUMNS, old)
            print(f"{variant:28s} seed {seed} avg "
                  f"{row['average_accuracy']:.4f} forgetting "
                  f"{row['forgetting']:.4f} ci "
                  + " ".join(f"{c[3:]}={row[c]}" for c in CI_SCORES)
                  + f" ({row['seconds']} s)", flush=True)
            matrix_rows = [dict(variant=variant, seed=seed, after_task=i,
                                task=j, accuracy=round(matrix[i, j], 4))
                           for i in range(len(matrix))
                           for j in range(len(matrix))]
            mpath = os.path.join(args.results,
                                 "hyper-cl-variants-matrix.csv")
            mold = []
            if os.path.exists(mpath):
                with open(mpath) as f:
                    mold = [r for r in csv.DictReader(f)
                            if (r["variant"], r["seed"]) != (variant,
                                                             str(seed))]
            write_csv_atomic(mpath, ("variant", "seed", "after_task",
                                     "task", "accuracy"),
                             mold + matrix_rows)
    summarize_variants(path, os.path.join(
        args.results, "results-hyper-cl-variants-summary.csv"))


def summarize_variants(path, out):
    """Mean and std over seeds of every variant of the variants CSV.

    Args:
        path: the variants CSV.
        out: the summary CSV to write.
    """
    import csv

    import numpy as np

    with open(path) as f:
        rows = list(csv.DictReader(f))
    groups = {}
    for r in rows:
        key = (r["scenario"], r["variant"], r["epochs_per_task"],
               r["backend"])
        groups.setdefault(key, []).append(r)
    summary = []
    for (scenario, variant, epochs, backend), rs in groups.items():
        rs = sorted(rs, key=lambda r: int(r["seed"]))

        def stat(col, rs=rs):
            v = np.array([float(r[col]) for r in rs])
            return round(float(v.mean()), 4), round(float(v.std()), 4)

        row = dict(scenario=scenario, variant=variant,
                   epochs_per_task=epochs, backend=backend,
                   num_seeds=len(rs),
                   seeds=" ".join(r["seed"] for r in rs),
                   param_count=rs[0]["param_count"],
                   command=rs[0]["command"].rsplit("--seeds", 1)[0]
                   + "--seeds " + " ".join(r["seed"] for r in rs)
                   + " --variants " + variant)
        for col in ("average_accuracy", "forgetting", "ci_entropy"):
            row[col + "_mean"], row[col + "_std"] = stat(col)
        # Mean accuracy right after learning each task (the diagonal of
        # the 10-task matrix): average accuracy + (T - 1) / T forgetting.
        row["just_learned_mean"] = round(
            row["average_accuracy_mean"] + 0.9 * row["forgetting_mean"], 4)
        for col in ("ci_max_softmax", "ci_energy", "ci_entropy_t2",
                    "ci_entropy_t05", "task_inference_entropy",
                    "val_average_accuracy", "val_ci_entropy",
                    "weight_drift"):
            if all(r.get(col) for r in rs):
                row[col + "_mean"] = stat(col)[0]
        summary.append(row)
        print(f"{variant:28s} ep {epochs} n={len(rs)} avg "
              f"{row['average_accuracy_mean']:.4f}"
              f"+-{row['average_accuracy_std']:.4f} ci_ent "
              f"{row['ci_entropy_mean']:.4f}", flush=True)
    write_csv_atomic(out, VARIANT_SUMMARY_COLUMNS, summary)


def plot_accuracy(long_rows, path):
    """Accuracy per task over the sequence, one panel per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scenarios = sorted({r["scenario"] for r in long_rows})
    fig, axes = plt.subplots(2, len(scenarios),
                             figsize=(6 * len(scenarios), 8), squeeze=False)
    for col, scenario in enumerate(scenarios):
        rows = [r for r in long_rows if r["scenario"] == scenario]
        methods = list(dict.fromkeys(r["method"] for r in rows))
        n = max(r["after_task"] for r in rows) + 1
        width = 0.8 / len(methods)
        for k, method in enumerate(methods):
            mat = np.zeros((n, n))
            for r in rows:
                if r["method"] == method:
                    mat[r["after_task"], r["task"]] = r["accuracy"]
            seen = [mat[i, :i + 1].mean() for i in range(n)]
            axes[0, col].plot(range(1, n + 1), seen, marker="o",
                              label=method)
            axes[1, col].bar(np.arange(n) + k * width, mat[n - 1], width,
                             label=method)
        axes[0, col].set_title(f"{scenario} digits: mean accuracy on the "
                               "tasks learned so far")
        axes[0, col].set_xlabel("tasks learned")
        axes[0, col].set_ylabel("test accuracy")
        axes[1, col].set_title(f"{scenario}: accuracy per task after the "
                               "last task")
        axes[1, col].set_xlabel("task")
        axes[1, col].set_ylim(0, 1.02)
        axes[0, col].legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------
# Speed
# ----------------------------------------------------------------------
def _build_keras_hmlp(seed):
    import keras
    from keras import ops

    import layers
    from zoo.optimizers import InplaceAdam

    class HMLPTarget(keras.Model):
        """One-embedding HMLP generating a 64-100-100-10 MLP."""

        def __init__(self):
            super().__init__()
            self.hnet = layers.HyperNetwork(
                layers.mlp_specs(64, (100, 100), 10), num_tasks=1,
                embedding_dim=8, architecture="mlp",
                hidden_units=(100, 100), seed=seed)
            self.dense = [layers.FunctionalDense(activation="relu"),
                          layers.FunctionalDense(activation="relu"),
                          layers.FunctionalDense()]

        def call(self, x):
            params = self.hnet(ops.zeros((), "int32"))
            for i, layer in enumerate(self.dense):
                x = layer(x, params[f"dense_{i}/kernel"],
                          bias=params[f"dense_{i}/bias"])
            return x

    model = HMLPTarget()
    model.compile(
        optimizer=InplaceAdam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # XLA on TensorFlow and JAX (Keras's "auto" turns it off for
        # TensorFlow on CPU); eager on torch.
        jit_compile=keras.backend.backend() != "torch",
    )
    return model


def _build_hypnettorch(path, seed):
    sys.path.insert(0, path)
    import torch
    from hypnettorch.hnets import HMLP
    from hypnettorch.mnets import MLP

    torch.manual_seed(seed)
    mnet = MLP(n_in=64, n_out=10, hidden_layers=[100, 100],
               no_weights=True, verbose=False)
    hnet = HMLP(mnet.param_shapes, uncond_in_size=0, cond_in_size=8,
                layers=[100, 100], num_cond_embs=1, verbose=False)
    opt = torch.optim.Adam(hnet.parameters(), lr=1e-3)

    def step(x, y):
        opt.zero_grad()
        weights = hnet.forward(cond_id=0)
        loss = torch.nn.functional.cross_entropy(
            mnet.forward(x, weights=weights), y)
        loss.backward()
        opt.step()
        return loss.detach().item()

    return step, hnet.num_params, mnet.num_params


def run_speed_child(args):
    """Times ours and hypnettorch's, interleaved, in this process."""
    import keras
    import numpy as np
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_hyperdense import _step_timer

    rng = np.random.default_rng(args.seed)
    n = args.steps * args.batch_size
    x = rng.standard_normal((n, 64), dtype=np.float32)
    y = rng.integers(0, 10, n).astype("int32")
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y.astype("int64"))
    keras.utils.set_random_seed(args.seed)
    model = _build_keras_hmlp(args.seed)
    fit_kwargs = dict(batch_size=args.batch_size, epochs=1, shuffle=False,
                      verbose=0)
    model.fit(x[: args.batch_size * args.warmup],
              y[: args.batch_size * args.warmup], **fit_kwargs)
    step, theirs_params, target = _build_hypnettorch(args.hypnettorch_path,
                                                     args.seed)
    batches = [(xt[i:i + args.batch_size], yt[i:i + args.batch_size])
               for i in range(0, n, args.batch_size)]
    for xb, yb in batches[: args.warmup]:
        step(xb, yb)
    ours, theirs = [], []
    for r in range(args.repeats):
        order = ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours")
        for who in order:
            gc.collect()
            if who == "ours":
                timer = _step_timer()
                model.fit(x, y, callbacks=[timer], **fit_kwargs)
                ours.append(timer.times)
            else:
                times = []
                for xb, yb in batches:
                    t0 = time.perf_counter()
                    step(xb, yb)
                    times.append(time.perf_counter() - t0)
                theirs.append(times)
    backend = keras.backend.backend()
    threads = torch.get_num_threads() if backend == "torch" else (
        usable_cpus())
    return {
        "backend": backend,
        "keras_version": keras.__version__,
        "jit_compile": str(bool(model.jit_compile)),
        "param_count": int(sum(int(np.prod(w.shape))
                               for w in model.trainable_weights)),
        "hypnettorch_param_count": int(theirs_params),
        "target_param_count": int(target),
        "num_threads": threads,
        "ours": ours,
        "theirs": theirs,
    }


def run_speed(args):
    """One child per backend; writes the speed CSV."""
    rows = []
    cpu = cpu_model()
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "child.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--child",
                   "--json-out", out, "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--repeats",
                   str(args.repeats), "--batch-size", str(args.batch_size),
                   "--seed", str(args.seed), "--hypnettorch-path",
                   args.hypnettorch_path]
            env = dict(os.environ, KERAS_BACKEND=backend,
                       PYTHONPATH=ROOT)
            env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            subprocess.run(cmd, env=env, check=True)
            with open(out) as f:
                child = json.load(f)
        ours = [median(r) * 1e3 for r in child["ours"]]
        theirs = [median(r) * 1e3 for r in child["theirs"]]
        ratio = median([a / b for a, b in zip(ours, theirs)])
        step_ms = median([t * 1e3 for r in child["ours"] for t in r])
        their_ms = median([t * 1e3 for r in child["theirs"] for t in r])
        if child["param_count"] != child["hypnettorch_param_count"]:
            raise RuntimeError(
                "Parameter counts differ: ours "
                f"{child['param_count']}, hypnettorch "
                f"{child['hypnettorch_param_count']}")
        rows.append(dict(
            model="hmlp_8_100x100_to_mlp_64_100_100_10",
            backend=backend, precision="float32",
            jit_compile=child["jit_compile"],
            train_samples_per_sec=round(args.batch_size / step_ms * 1e3, 1),
            train_step_time=round(step_ms, 3),
            train_batch_size=args.batch_size, train_img_size=64,
            param_count=child["param_count"],
            target_param_count=child["target_param_count"],
            hypnettorch_step_time=round(their_ms, 3),
            ratio_vs_hypnettorch=round(ratio, 3),
            cpu=cpu, num_threads=child["num_threads"],
            keras_version=child["keras_version"], date=today(),
        ))
        print(format_table(rows[-1:], ("backend", "train_step_time",
                                       "hypnettorch_step_time",
                                       "ratio_vs_hypnettorch")), flush=True)
    write_csv_atomic(os.path.join(args.results,
                                  "benchmark-train-hyper-cl-cpu.csv"),
                     SPEED_COLUMNS, rows)


def parse_args(argv=None):
    """Command-line arguments (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("accuracy", "speed", "all",
                                      "variants"),
                   default="all")
    p.add_argument("--variants", nargs="+", default=["chunked",
                                                     "recurrent"],
                   help="variants part: arch[:beta=..,lr=..,ood=..,"
                   "units=..] or independent")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="variants part: training seeds")
    p.add_argument("--epochs", type=int, default=20,
                   help="epochs per task (accuracy part)")
    p.add_argument("--scenarios", nargs="+", default=["permuted", "split"],
                   choices=["permuted", "split"])
    p.add_argument("--methods", nargs="*", default=None,
                   help="subset of methods (default: all)")
    p.add_argument("--ewc-lambdas", type=float, nargs="+",
                   default=[10.0, 100.0, 1000.0])
    p.add_argument("--backends", nargs="+", default=list(BACKENDS),
                   choices=BACKENDS)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hypnettorch-path", default="/tmp/hypnettorch-bench")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    """Runs the requested parts."""
    args = parse_args(argv)
    if args.child:
        result = run_speed_child(args)
        with open(args.json_out, "w") as f:
            json.dump(result, f)
        return 0
    if args.part == "variants":
        run_variants(args)
        return 0
    if args.part in ("accuracy", "all"):
        run_accuracy(args)
    if args.part in ("speed", "all"):
        if not os.path.isdir(os.path.join(args.hypnettorch_path,
                                          "hypnettorch")):
            raise SystemExit(
                f"hypnettorch is not installed in {args.hypnettorch_path}:"
                " pip install --no-deps --target "
                f"{args.hypnettorch_path} hypnettorch")
        run_speed(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
