"""Training-step benchmark of `layers.HyperDense` against `keras.layers.Dense`.

Three models are timed on each Keras backend (tensorflow, jax, torch):

- `mlp_dense`: the target MLP 64-100-100-10 (ReLU hidden layers, logits
  head), built from `keras.layers.Dense` (17,610 parameters);
- `mlp_hyperdense_full`: the same MLP whose two hidden layers are
  `layers.HyperDense(100, conditioning="embedding", embedding_dim=8,
  hyper_units=(32,), generation="full")`;
- `mlp_hyperdense_chunked`: the same with `generation="chunked",
  chunk_size=100, hyper_units=(64,)`.

The 100-10 head stays a plain `Dense` (float32 under mixed precision).
A training step is forward + backward + Adam update (lr 1e-3, sparse
categorical cross-entropy on logits), timed inside `model.fit` (so the
loop overhead of `fit` is included, as in the anchors) on random data:
features `N(0, 1)`, labels uniform in 0-9.

How it is timed. The backend is fixed when `keras` is imported, so the
parent process starts one child process per backend (`KERAS_BACKEND`
set) and reads its result back as JSON. A child builds the three models,
warms each up with `--warmup` steps (tracing / XLA compilation happen
here; the time is reported as `warm-up s`), then runs `--repeats` rounds;
in each round every model trains `--steps` steps, in an order rotated
from round to round, so that the models are interleaved and see the same
machine load. A callback stamps the end of every batch; since it reads
the loss, `fit` waits for each step to finish (no asynchronous dispatch
runs ahead), and the time between stamps is one step including the data
iteration. `train_step_time` is the median over all timed steps, in ms;
`train_samples_per_sec` is `batch_size / train_step_time`;
`ratio_vs_dense` is the median over rounds of (median step of the model
in that round / median step of `mlp_dense` in the same round). Compare
ratios measured in one run, not absolute times from different runs
(`/work/shared/references/anchors.md`).

CSV columns (timm's `benchmark-train` columns plus ours): `model`,
`backend`, `precision`, `jit_compile`, `train_samples_per_sec`,
`train_step_time` (ms), `train_batch_size`, `train_img_size`,
`param_count`, `target_param_count`, `ratio_vs_dense`, `cpu`,
`num_threads`, `keras_version`, `date`.

- `train_img_size` is the input feature count (64): these models have
  no image, and the column is kept for timm compatibility.
- `param_count`: trainable parameters of the whole model (hypernetworks,
  embeddings and the Dense head); `target_param_count`: parameters of
  the target MLP 64-100-100-10 (17,610), the same for every row.
- `jit_compile`: `auto=<resolved>` when `"auto"` was passed to
  `compile()` (e.g. `auto=False` on TensorFlow with no GPU, where Keras
  turns XLA off, and `auto=True` on JAX), else the value passed.
- `num_threads`: the intra-op threads of the backend:
  `torch.get_num_threads()` on torch; on TensorFlow and JAX the value of
  `--threads`, else the number of CPUs the process may use (they size
  their thread pools from it).

Threads. By default each backend keeps its own thread count (2 on the
project's 2-core machines). `--threads N` sets `OMP_NUM_THREADS` and
`torch.set_num_threads(N)` on torch, the intra- and inter-op pools on
TensorFlow, and, for `N = 1` only, single-threaded XLA on JAX (XLA has
no other thread-count flag; other values leave JAX alone, with a
warning). The children run with `OMP_WAIT_POLICY=PASSIVE` unless the
variable is already set: on a shared 2-core machine with one busy core,
torch's spinning OpenMP threads made a step 10-30 times slower (and
the Dense/HyperDense ratio meaningless); passive waiting removed that.

Usage (from the repository root):

    PYTHONPATH=. .venv/bin/python scripts/bench_hyperdense.py
    PYTHONPATH=. .venv/bin/python scripts/bench_hyperdense.py \\
        --backends jax --precision mixed_bfloat16 --out /tmp/bf16.csv

Defaults: all three backends, float32, batch 32, 50 warm-up steps, 5
rounds of 50 steps, `jit_compile="auto"` on tensorflow / jax and `False`
on torch (`--jit-compile true` gives XLA on TensorFlow and
`torch.compile` on torch, which takes tens of seconds to compile).
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

# Runnable as `python scripts/bench_hyperdense.py` from anywhere.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import format_table  # noqa: E402
from scripts._bench_common import median  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
MODELS = ("mlp_dense", "mlp_hyperdense_full", "mlp_hyperdense_chunked")
FEATURES = 64
HIDDEN = (100, 100)
CLASSES = 10
DEFAULT_OUT = os.path.join(
    "scripts", "results", "benchmark-train-hyperdense-cpu.csv"
)
COLUMNS = (
    "model",
    "backend",
    "precision",
    "jit_compile",
    "train_samples_per_sec",
    "train_step_time",
    "train_batch_size",
    "train_img_size",
    "param_count",
    "target_param_count",
    "ratio_vs_dense",
    "cpu",
    "device",
    "num_threads",
    "keras_version",
    "date",
)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_param_count() -> int:
    """Returns the parameter count of the target MLP 64-100-100-10."""
    sizes = (FEATURES,) + HIDDEN + (CLASSES,)
    return sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))


# ----------------------------------------------------------------------
# Child: one backend
# ----------------------------------------------------------------------
def _hidden_layer(kind: str, units: int, index: int, seed: int):
    """Returns hidden layer `index` of model `kind`."""
    import keras

    from layers import HyperDense

    name = f"hidden_{index}"
    if kind == "mlp_dense":
        return keras.layers.Dense(units, activation="relu", name=name)
    common = dict(
        conditioning="embedding",
        embedding_dim=8,
        activation="relu",
        seed=seed + 100 * index,
        name=name,
    )
    if kind == "mlp_hyperdense_full":
        return HyperDense(units, hyper_units=(32,), generation="full", **common)
    if kind == "mlp_hyperdense_chunked":
        return HyperDense(
            units,
            hyper_units=(64,),
            generation="chunked",
            chunk_size=100,
            **common,
        )
    raise ValueError(f"Unknown model kind: {kind!r}")


def build_model(kind: str, jit_compile, seed: int = 0):
    """Builds and compiles model `kind` (one of `MODELS`)."""
    import keras

    inputs = keras.Input((FEATURES,), name="features")
    x = inputs
    for i, units in enumerate(HIDDEN):
        x = _hidden_layer(kind, units, i, seed)(x)
    outputs = keras.layers.Dense(CLASSES, dtype="float32", name="logits")(x)
    model = keras.Model(inputs, outputs, name=kind)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def _step_timer():
    """Returns a Keras callback that records the duration of every step."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        """Stamps the end of each batch; `times` holds the intervals."""

        def __init__(self):
            super().__init__()
            self.times = []
            self._last = None

        def on_train_batch_begin(self, batch, logs=None):
            if self._last is None:
                self._last = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # Overriding this hook makes Keras convert the logs to Python
            # floats before calling it, i.e. wait for the step to finish.
            now = time.perf_counter()
            self.times.append(now - self._last)
            self._last = now

    return StepTimer()


def _jit_for(backend: str, requested: str):
    if requested == "default":
        return False if backend == "torch" else "auto"
    return {"auto": "auto", "true": True, "false": False}[requested]


def run_child(args: argparse.Namespace) -> dict:
    """Times the three models on the backend of this process."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if args.threads and backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
    elif args.threads and backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.config.set_dtype_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n = args.steps * args.batch_size
    n_warm = max(args.warmup, 1) * args.batch_size
    x = rng.standard_normal((n, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, size=(n,)).astype("int32")
    x_warm = rng.standard_normal((n_warm, FEATURES), dtype=np.float32)
    y_warm = rng.integers(0, CLASSES, size=(n_warm,)).astype("int32")
    fit_kwargs = dict(
        batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0
    )

    jit = _jit_for(backend, args.jit_compile)
    models, warmup_s = {}, {}
    for kind in MODELS:
        model = build_model(kind, jit, seed=args.seed)
        start = time.perf_counter()
        model.fit(x_warm, y_warm, callbacks=[_step_timer()], **fit_kwargs)
        warmup_s[kind] = time.perf_counter() - start
        models[kind] = model

    rounds = {kind: [] for kind in MODELS}
    for r in range(args.repeats):
        shift = r % len(MODELS)
        for kind in MODELS[shift:] + MODELS[:shift]:
            gc.collect()
            timer = _step_timer()
            models[kind].fit(x, y, callbacks=[timer], **fit_kwargs)
            rounds[kind].append(timer.times)

    threads = args.threads or usable_cpus()
    if backend == "torch":
        import torch

        threads = torch.get_num_threads()
        backend_version = torch.__version__
    elif backend == "jax":
        import jax

        if args.threads != 1:
            threads = usable_cpus()
        backend_version = jax.__version__
    else:
        import tensorflow as tf

        backend_version = tf.__version__

    results = {}
    for kind, model in models.items():
        resolved = bool(model.jit_compile)
        results[kind] = {
            "jit_compile": (
                f"auto={resolved}" if jit == "auto" else str(resolved)
            ),
            "param_count": int(
                sum(int(np.prod(v.shape)) for v in model.trainable_weights)
            ),
            "warmup_s": warmup_s[kind],
            "rounds": rounds[kind],
        }
    return {
        "backend": backend,
        "backend_version": backend_version,
        "keras_version": keras.__version__,
        "num_threads": threads,
        "device": _device_name(keras),
        "results": results,
    }


# ----------------------------------------------------------------------
# Parent: one child per backend, then statistics and the CSV
# ----------------------------------------------------------------------
def _child_command(args: argparse.Namespace, json_out: str) -> list:
    return [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        "--json-out",
        json_out,
        "--precision",
        args.precision,
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--repeats",
        str(args.repeats),
        "--batch-size",
        str(args.batch_size),
        "--jit-compile",
        args.jit_compile,
        "--seed",
        str(args.seed),
        "--threads",
        str(args.threads),
    ]


def run_backend(backend: str, args: argparse.Namespace) -> dict:
    """Runs the child for `backend` and returns its decoded JSON."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = backend
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.threads:
        for name in (
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
        ):
            env[name] = str(args.threads)
        if backend == "jax" and args.threads == 1:
            env["XLA_FLAGS"] = " ".join(
                f
                for f in (
                    env.get("XLA_FLAGS"),
                    "--xla_cpu_multi_thread_eigen=false",
                    "intra_op_parallelism_threads=1",
                )
                if f
            )
        elif backend == "jax" and args.threads != usable_cpus():
            print(
                f"warning: jax cannot be limited to {args.threads} threads "
                "(only 1 is supported); using the XLA default",
                file=sys.stderr,
            )
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p
    )
    fd, json_out = tempfile.mkstemp(prefix="bench-hyperdense-", suffix=".json")
    os.close(fd)
    try:
        proc = subprocess.run(
            _child_command(args, json_out),
            env=env,
            cwd=REPO_ROOT,
            stdout=None if args.verbose else subprocess.PIPE,
            stderr=None if args.verbose else subprocess.STDOUT,
            text=True,
            timeout=args.timeout,
        )
        if proc.returncode != 0:
            tail = (proc.stdout or "")[-3000:]
            raise RuntimeError(
                f"{backend} child exited with {proc.returncode}:\n{tail}"
            )
        with open(json_out, encoding="utf-8") as f:
            return json.load(f)
    finally:
        os.unlink(json_out)


def _device_name(keras) -> str:
    """The accelerator (or CPU) the child's backend runs on."""
    if keras.backend.backend() == "torch":
        # keras.distribution has no torch implementation.
        import torch

        if torch.cuda.is_available():
            return f"cuda:0 ({torch.cuda.get_device_name(0)})"
        return "cpu:0"
    return str(keras.distribution.list_devices()[0])


def summarize(child: dict, args: argparse.Namespace, cpu: str) -> list:
    """Turns one child's raw step times into CSV rows."""
    results = child["results"]
    dense_rounds = [median(t) for t in results["mlp_dense"]["rounds"]]
    rows = []
    for kind in MODELS:
        res = results[kind]
        per_round = [median(t) for t in res["rounds"]]
        step = median(t for times in res["rounds"] for t in times)
        ratios = [m / d for m, d in zip(per_round, dense_rounds)]
        rows.append(
            {
                "model": kind,
                "backend": child["backend"],
                "precision": args.precision,
                "jit_compile": res["jit_compile"],
                "train_samples_per_sec": round(args.batch_size / step, 1),
                "train_step_time": round(step * 1e3, 4),
                "train_batch_size": args.batch_size,
                "train_img_size": FEATURES,
                "param_count": res["param_count"],
                "target_param_count": target_param_count(),
                "ratio_vs_dense": round(median(ratios), 3),
                "cpu": cpu,
                "num_threads": child["num_threads"],
                "device": child["device"],
                "keras_version": child["keras_version"],
                "date": today(),
                # Printed only, not written to the CSV:
                "ratio range": f"{min(ratios):.2f}-{max(ratios):.2f}",
                "round spread %": round(
                    100 * (max(per_round) - min(per_round)) / step, 1
                ),
                "warm-up s": round(res["warmup_s"], 2),
            }
        )
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        default=list(BACKENDS),
        choices=BACKENDS,
        help="Keras backends to time, one child process each.",
    )
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument(
        "--steps", type=int, default=50, help="Timed steps per round."
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="Interleaved rounds."
    )
    parser.add_argument(
        "--warmup", type=int, default=50, help="Untimed steps per model."
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--jit-compile",
        default="default",
        choices=("default", "auto", "true", "false"),
        help="'default': 'auto' on tensorflow/jax, False on torch.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="Intra-op threads per backend; 0 keeps the backend default.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=DEFAULT_OUT, help="CSV path.")
    parser.add_argument(
        "--timeout", type=float, default=900, help="Seconds per backend."
    )
    parser.add_argument(
        "--verbose", action="store_true", help="Show the children's output."
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 0:
        parser.error("--threads must be >= 0")
    for name in ("steps", "repeats", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.child and not args.json_out:
        parser.error("--child needs --json-out")
    return args


def main(argv=None) -> int:
    """Runs the benchmark; returns the process exit status."""
    args = parse_args(argv)
    if args.child:
        result = run_child(args)
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f)
        return 0

    cpu = cpu_model()
    print(
        f"CPU: {cpu}, {usable_cpus()} usable CPUs; precision "
        f"{args.precision}, batch {args.batch_size}, {args.warmup} warm-up "
        f"steps, {args.repeats} rounds x {args.steps} steps; threads "
        f"{args.threads or 'default'}, OMP_WAIT_POLICY="
        f"{os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}; load average "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    rows, failed = [], []
    for backend in args.backends:
        start = time.perf_counter()
        try:
            child = run_backend(backend, args)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"{backend}: FAILED\n{e}", file=sys.stderr)
            failed.append(backend)
            continue
        print(
            f"{backend} {child['backend_version']}: "
            f"{time.perf_counter() - start:.1f} s"
        )
        rows.extend(summarize(child, args, cpu))

    if rows:
        write_csv_atomic(
            args.out, COLUMNS, [{c: r[c] for c in COLUMNS} for r in rows]
        )
        print()
        print(
            format_table(
                rows,
                (
                    "backend",
                    "model",
                    "jit_compile",
                    "train_step_time",
                    "train_samples_per_sec",
                    "ratio_vs_dense",
                    "ratio range",
                    "round spread %",
                    "param_count",
                    "warm-up s",
                ),
            )
        )
        print(f"\ntrain_step_time in ms (median); wrote {args.out}")
    if failed:
        print(f"failed backends: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
