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
    p.add_argument("--part", choices=("accuracy", "speed", "all"),
                   default="all")
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
