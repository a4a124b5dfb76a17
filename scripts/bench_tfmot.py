"""tfmot vs zoo.pruning: gradual pruning of the twin digits CNN.

Usage (about 5 minutes on 2 shared CPU cores; tfmot runs alongside):

    KERAS_BACKEND=jax python scripts/bench_tfmot.py

The bundled dense preset `cafa_digits_encoder` (the digits CNN: conv 3x3
32 - BN - ReLU - max-pool - conv 3x3 64 - BN - ReLU - GAP - dense 10) is
fine-tuned with gradual magnitude pruning twice, from the same weights,
on the same batches:

- by tensorflow-model-optimization 0.8.1 (`prune_low_magnitude`, which
  prunes every layer to the same sparsity), on its tf_keras twin, in a
  separate process (`scripts/tfmot_oracle.py --mode train`: tfmot
  switches its process to tf_keras);
- by `zoo.pruning.PruningOptimizer` on the current Keras 3 backend, with
  per-layer scope (`layer_mp`: tfmot's rule), Global MP (`global_mp`)
  and Global MP with Gupta et al.'s minimum threshold (`global_mp_mt`:
  every layer keeps at least `int(0.05 %` of the prunable weights`)`,
  as `scripts/bench_pruning.py`).

Both use the schedule `PolynomialDecay(0, s, begin_step=0, end_step,
power=3, frequency)` with `frequency = int(0.6 * steps / 10)` and
`end_step = 10 * frequency` (the ramp: the first ~60 % of the steps,
ten mask updates, the last at exactly `s`), Adam 3e-4, batch 64, 10
epochs on the train split (1077 digits) in the same batch order (a
permutation per epoch from `numpy.random.default_rng(seed)`, seeds 0
and 1, `shuffle=False` on both sides). Afterwards the BatchNorm
statistics are recomputed on the train split (one training-mode pass
with momentum 0: `zoo.pruning.recalibrate_batch_norm`, the same in
tf_keras), the pruning is stripped, and the test accuracy (540 digits)
and the sparsity of the prunable kernels (the two conv kernels and the
dense kernel) are measured from the weights. `mask_agreement` is the
fraction of prunable weights on which a run's final mask equals tfmot's
(same target and seed). The `dense` rows fine-tune without pruning.

Rows are merged into `scripts/results/results-pruning-tfmot.csv` (keyed
by library, method, target sparsity, seed and backend); the plot is
`scripts/results/pruning-tfmot.png`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import add_sweep_options  # noqa: E402
from scripts._bench_common import check_names  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from scripts.bench_pruning import MT_PERCENT  # noqa: E402
from scripts.bench_pruning import _accuracy  # noqa: E402
from scripts.bench_pruning import _collapsed  # noqa: E402
from scripts.bench_pruning import _run_fields  # noqa: E402

CSV = os.path.join(RESULTS, "results-pruning-tfmot.csv")
PNG = os.path.join(RESULTS, "pruning-tfmot.png")
ORACLE = os.path.join(ROOT, "scripts", "tfmot_oracle.py")
PRESET = "cafa_digits_encoder"
FIELDS = ("model", "dataset", "split", "library", "method",
          "target_sparsity", "sparsity", "seed", "top1", "top1_err",
          "mask_agreement", "prunable_count", "nonzero_count",
          "min_weights", "min_kept", "collapsed", "steps", "end_step",
          "frequency", "epochs", "batch_size", "learning_rate", "backend",
          "precision", "cpu", "keras_version", "date", "command")
SPARSITIES = (0.5, 0.8, 0.9, 0.95)
# method: (scope, with MT); tfmot prunes per layer (`layer_mp`).
METHODS = {"dense": None, "layer_mp": ("layer", False),
           "global_mp": ("global", False), "global_mp_mt": ("global", True)}
LEARNING_RATE = 3e-4
BATCH_SIZE = 64


def _schedule(steps):
    """`(end_step, frequency)`: ten mask updates over ~60 % of `steps`."""
    frequency = max(1, int(0.6 * steps) // 10)
    return 10 * frequency, frequency


def _inputs(args, model, x, y, x_test, y_test, path):
    """Writes the oracle's `--inputs` file; returns its config."""
    import numpy as np

    steps = args.epochs * -(-len(x) // BATCH_SIZE)
    end_step, frequency = _schedule(steps)
    weights = model.get_weights()
    config = {"weights": len(weights), "seeds": list(args.seeds),
              "targets": [0.0, *args.sparsities],
              "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE,
              "end_step": end_step, "frequency": frequency,
              "epochs": args.epochs, "steps": steps}
    orders = np.stack([
        np.stack([rng.permutation(len(x)) for _ in range(args.epochs)])
        for rng in map(np.random.default_rng, args.seeds)])
    np.savez(path, x=x, y=y, x_test=x_test, y_test=y_test, orders=orders,
             config=json.dumps(config),
             **{f"weight_{i}": w for i, w in enumerate(weights)})
    return config, orders


def _start_oracle(inputs, out):
    """Starts the tfmot process (CPU only, its own tf_keras process)."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1",
               TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env.pop("KERAS_BACKEND", None)
    return subprocess.Popen(
        [sys.executable, ORACLE, "--mode", "train", "--inputs", inputs,
         "--out", out], cwd=ROOT, env=env)


def _ours(model, dense, data, config, orders, method, target, seed,
          min_weights):
    """One fine-tuning run with `PruningOptimizer`; returns its steps."""
    import keras

    from zoo.pruning import PolynomialDecay
    from zoo.pruning import PruningOptimizer
    from zoo.pruning import recalibrate_batch_norm
    from zoo.pruning import strip_pruning

    x, y = data
    model.set_weights(dense)
    kwargs = {"schedule": None}
    if method != "dense":
        scope, mt = METHODS[method]
        kwargs = {"schedule": PolynomialDecay(
                      0.0, target, 0, config["end_step"],
                      frequency=config["frequency"]),
                  "scope": scope, "min_weights": min_weights if mt else 0}
    optimizer = PruningOptimizer(keras.optimizers.Adam(LEARNING_RATE),
                                 **kwargs)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras.utils.set_random_seed(seed)
    for order in orders[config["seeds"].index(seed)]:
        model.fit(x[order], y[order], batch_size=BATCH_SIZE, epochs=1,
                  shuffle=False, verbose=0)
    steps = int(optimizer.iterations.numpy())
    recalibrate_batch_norm(model, x)
    strip_pruning(model)
    return steps


def _row(method, library, target, seed, top1, masks, reference, steps,
         config, min_weights, names, run):
    """A CSV row from a run's accuracy and final masks (bool arrays)."""
    import numpy as np

    prunable = sum(m.size for m in masks)
    nonzero = sum(int(m.sum()) for m in masks)
    agreement = "" if reference is None else round(
        sum(int(np.sum(m == r)) for m, r in zip(masks, reference))
        / prunable, 5)
    return {
        "model": "digits_cnn", "dataset": "digits", "split": "test",
        "library": library, "method": method, "target_sparsity": target,
        "sparsity": round(1 - nonzero / prunable, 5), "seed": seed,
        "top1": round(100 * top1, 2), "top1_err": round(100 * (1 - top1), 2),
        "mask_agreement": agreement, "prunable_count": prunable,
        "nonzero_count": nonzero,
        "min_weights": min_weights if method == "global_mp_mt" else 0,
        "min_kept": min(int(m.sum()) for m in masks),
        "collapsed": _collapsed(names, masks), "steps": steps,
        "end_step": config["end_step"], "frequency": config["frequency"],
        "epochs": config["epochs"], "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE, **run,
    }


def _tfmot_rows(out, config, names, command):
    """The oracle's runs: `({(target, seed): masks}, CSV rows)`."""
    import numpy as np

    with np.load(out) as data:
        oracle = dict(data)
    run = dict(_run_fields(command), backend="tensorflow",
               keras_version=f"tf_keras {oracle['tf_keras_version']}")
    library = f"tfmot {oracle['tfmot_version']}"
    masks, rows = {}, []
    for i, (target, seed) in enumerate(json.loads(str(oracle["train_runs"]))):
        mine = [oracle[f"train_masks_{i}_{j}"] for j in range(len(names))]
        masks[(target, seed)] = mine
        rows.append(_row("dense" if target == 0 else "layer_mp", library,
                         target, seed, float(oracle["train_top1"][i]), mine,
                         None, int(oracle["train_step"][i]), config, 0,
                         names, run))
    return masks, rows


def _bench(args):
    """Runs tfmot (in a subprocess) and ours; returns the CSV rows."""
    import keras
    import numpy as np

    import zoo
    from zoo.data import load_digits

    x, y = load_digits("train", layout="image")
    x_test, y_test = load_digits("test", layout="image")
    model = zoo.load(PRESET)
    dense = model.get_weights()
    work = tempfile.mkdtemp(prefix="bench_tfmot_")
    inputs = os.path.join(work, "inputs.npz")
    out = os.path.join(work, "tfmot.npz")
    config, orders = _inputs(args, model, x, y, x_test, y_test, inputs)
    print(json.dumps(config), flush=True)
    oracle = _start_oracle(inputs, out)
    command = run_command(keras.backend.backend(), "bench_tfmot.py",
                          f"--epochs {args.epochs}")
    run = _run_fields(command)
    kernels = [w for w in model.weights if w.path.endswith("kernel")]
    names = [w.path for w in kernels]
    prunable = sum(int(np.prod(w.shape)) for w in kernels)
    min_weights = max(1, int(prunable * MT_PERCENT / 100))
    ours = []
    try:
        for method in args.methods:
            for target in ([0.0] if method == "dense"
                           else args.sparsities):
                for seed in args.seeds:
                    steps = _ours(model, dense, (x, y), config, orders,
                                  method, target, seed, min_weights)
                    top1 = _accuracy(model, x_test, y_test)
                    masks = [keras.ops.convert_to_numpy(w) != 0
                             for w in kernels]
                    ours.append((method, target, seed, top1, masks, steps))
                    print("zoo", method, target, seed,
                          f"{100 * top1:.2f} %", flush=True)
    finally:
        if oracle.wait() != 0:
            raise RuntimeError(f"{ORACLE} failed: {oracle.returncode}")
    reference, rows = _tfmot_rows(out, config, names, command)
    for method, target, seed, top1, masks, steps in ours:
        rows.append(_row(method, "zoo", target, seed, top1, masks,
                         reference.get((target, seed)) if target else None,
                         steps, config, min_weights, names, run))
    return rows


def _plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scripts.bench_pruning import _mean_by
    from scripts.bench_pruning import _position

    rows = read_csv_rows(CSV)
    fig, ax = plt.subplots(figsize=(6, 4))
    curves = {(r["library"], r["method"]): None for r in rows}
    for library, method in curves:
        mine = [r for r in rows
                if (r["library"], r["method"]) == (library, method)]
        groups = _mean_by(mine, lambda r: _position(r["target_sparsity"]))
        means = [sum(v) / len(v) for v in groups.values()]
        if method == "dense":
            ax.axhline(means[0], ls="--", lw=1,
                       color="grey" if library == "zoo" else "black",
                       label=f"{library} dense, fine-tuned")
            continue
        # Curves that coincide stay visible: tfmot as black crosses,
        # MT as open squares.
        style = ({"color": "black", "marker": "x", "ms": 8, "ls": ":"}
                 if library != "zoo" else
                 {"marker": "s", "ms": 8, "mfc": "none"}
                 if method == "global_mp_mt" else {"marker": "o", "ms": 4})
        ax.plot(list(groups), means, label=f"{library} {method}",
                zorder=3 if library != "zoo" else 2, **style)
    ticks = [0.5, 0.8, 0.9, 0.95]
    ax.set_xticks([_position(t) for t in ticks])
    ax.set_xticklabels([f"{100 * t:g}" for t in ticks])
    ax.set_xlabel("target sparsity of the prunable kernels (%)")
    ax.set_ylabel("test accuracy (%), mean of seeds")
    ax.set_title("digits CNN, gradual pruning: tfmot vs zoo.pruning")
    ax.legend(fontsize=7, loc="lower left")
    write_plot(fig, PNG)


def main():
    """Runs the benchmark, merges its rows into the CSV, plots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_options(parser, METHODS, SPARSITIES, (0, 1), 10,
                      "fine-tuning epochs")
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args()
    check_names(parser, methods=(args.methods, METHODS))
    start = time.perf_counter()
    if not args.plot_only:
        libraries = ["tfmot", "zoo"]
        methods = list(METHODS)
        merge_csv_rows(
            CSV, FIELDS, _bench(args),
            key=lambda r: (r["library"], r["method"],
                           str(r["target_sparsity"]), str(r["seed"]),
                           r["backend"]),
            sort_key=lambda r: (libraries.index(r["library"].split()[0]),
                                methods.index(r["method"]),
                                float(r["target_sparsity"]), int(r["seed"]),
                                r["backend"]))
        print(f"wall time {time.perf_counter() - start:.0f} s", flush=True)
    _plot()
    return 0


if __name__ == "__main__":
    sys.exit(main())
