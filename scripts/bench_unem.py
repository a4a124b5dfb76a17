"""Accuracy benchmark of UNEM (few-shot) and CAFA (test-time adaptation).

    KERAS_BACKEND=jax python scripts/bench_unem.py [--num-tasks 1000]

Everything is an accuracy on held-out data (no timing), computed in one
process on the current Keras backend (results do not depend on it beyond
float32 rounding; the `backend` column records it). Writes, atomically:

- `scripts/results/results-unem-lambda-curve.csv`: accuracy of the
  fixed-lambda EM (T = 1) against lambda in [0, 150] on 5-shot meta-test
  tasks of the Gaussian world, with 10 iterations (the UNEM depth) and
  with 100 (the reference PADDLE setting);
- `scripts/results/results-unem-learned-params.csv`: learned lambda_l,
  T_l and the feature scale per layer, for 1, 5 and 10 shots;
- `scripts/results/results-unem-fewshot.csv`: UNEM against the baselines
  (fixed lambda at the reference default 75, best lambda of the grid on
  the test tasks themselves (oracle), lambda selected on meta-val tasks,
  nearest prototype, inductive softmax) for 1/5/10 shots on the Gaussian
  world; 5 shots with the reference's double-softmax loss; digits
  features (an MLP encoder trained on digits 0-4, tasks on 5-9); and
  UNEM-Dirichlet (3 layers, 5 MM steps each, meta-trained 30 steps on 100
  4-shot tasks: a CPU-sized budget) on synthetic zero-shot logits, from
  the reference initialisation and from a small one (lambda 1, feature
  temperature 1), each also untrained (the fixed EM-Dirichlet);
- `scripts/results/results-cafa-digits.csv`: the `cafa_digits_encoder`
  preset on shifted test digits: no adaptation, test-batch BN
  statistics, entropy minimisation (TENT) and CAFA;
- `scripts/results/unem-cafa.png`: the four panels.

The 5-shot Gaussian UNEM is the bundled `unem_gaussian_5shot` preset;
the 1- and 10-shot ones are trained here with the same recipe and seed.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _bench_common import RESULTS  # noqa: E402
from _bench_common import cpu_model  # noqa: E402
from _bench_common import run_command  # noqa: E402
from _bench_common import save_figure_atomic  # noqa: E402
from _bench_common import today  # noqa: E402
from _bench_common import write_csv_atomic  # noqa: E402

import zoo  # noqa: E402
from zoo.data import load_digits  # noqa: E402
from zoo.data.few_shot_episodes import FeatureBankWorld  # noqa: E402
from zoo.data.few_shot_episodes import ZeroShotLogitsWorld  # noqa: E402
from zoo.data.few_shot_episodes import sample_episodes  # noqa: E402
from zoo.unem import baselines  # noqa: E402
from zoo.unem import cafa  # noqa: E402
from zoo.unem import unem_presets  # noqa: E402
from zoo.unem.unem_backbone import UNEMBackbone  # noqa: E402
from zoo.unem.unem_classifier import UNEMFewShotClassifier  # noqa: E402
from zoo.unem.unem_eval import predict_labels  # noqa: E402
from zoo.unem.unem_training import train_unem_gaussian  # noqa: E402

CURVE_GRID = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5, 10.0, 12.5, 15.0,
              17.5, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 75.0, 100.0, 125.0,
              150.0)
DIRICHLET_LAYERS = 3
DIRICHLET_MM_STEPS = 5


def _common(args) -> dict:
    return {
        "backend": keras.backend.backend(),
        "precision": "float32",
        "cpu": cpu_model(),
        "keras_version": keras.version(),
        "date": today(),
        "command": run_command(
            keras.backend.backend(), "bench_unem.py",
            args.num_tasks != 1000 and f"--num-tasks {args.num_tasks}"),
    }


def _pct(x: float) -> float:
    return round(100.0 * x, 2)


def lambda_curve(args, rows_out: list) -> None:
    world = unem_presets.gaussian_world()
    batch, yq = world.episodes("test", args.num_tasks, 5,
                               seed=unem_presets.TEST_TASK_SEED)
    for iterations in (10, 100):
        for lam, acc in baselines.lambda_curve(batch, yq, 16, CURVE_GRID,
                                               iterations):
            rows_out.append({
                "model": "fixed_lambda_em", "dataset": "gaussian_world",
                "split": "meta-test", "shots": 5, "lambda": lam,
                "iterations": iterations, "top1": _pct(acc),
                "num_tasks": args.num_tasks, **_common(args),
            })
        print(f"curve ({iterations} iterations) done", flush=True)


def _unem_rows(name, model, batch, yq, k, shots, dataset, args,
               val=None) -> list:
    """UNEM and every baseline on one batch of tasks."""
    acc = baselines.accuracy
    curve = baselines.lambda_curve(batch, yq, k)
    best_lam, best_acc = max(curve, key=lambda p: p[1])
    results = [
        (name, acc(predict_labels(model, batch), yq), ""),
        ("fixed_lambda_em_default", dict(curve)[baselines.DEFAULT_LAMBDA],
         f"lambda={baselines.DEFAULT_LAMBDA:g}"),
        ("fixed_lambda_em_oracle", best_acc, f"lambda={best_lam:g}"),
    ]
    if val is not None:
        vcurve = baselines.lambda_curve(*val, k)
        vlam = max(vcurve, key=lambda p: p[1])[0]
        results.append(("fixed_lambda_em_val_selected", dict(curve)[vlam],
                        f"lambda={vlam:g}"))
    results += [
        ("nearest_prototype", acc(baselines.nearest_prototype(batch, k), yq),
         "inductive"),
        ("inductive_softmax", acc(baselines.inductive_softmax(batch, k), yq),
         "inductive"),
    ]
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return [{
        "model": m, "dataset": dataset, "split": "meta-test",
        "shots": shots, "top1": _pct(a), "top1_err": _pct(1 - a),
        "param_count": params if m.startswith("unem") else 0,
        "note": note, "num_tasks": len(yq), **_common(args),
    } for m, a, note in results]


def gaussian_fewshot(args, rows: list, params_rows: list) -> None:
    world = unem_presets.gaussian_world()
    for shots in (1, 5, 10):
        keras.utils.set_random_seed(0)
        if shots == 5:
            model = zoo.load("unem_gaussian_5shot")
        else:
            model = train_unem_gaussian(shots=shots, seed=0)
        batch, yq = world.episodes("test", args.num_tasks, shots,
                                   seed=unem_presets.TEST_TASK_SEED)
        val = world.episodes("val", args.num_tasks, shots,
                             seed=unem_presets.VAL_TASK_SEED)
        rows += _unem_rows("unem_gaussian", model, batch, yq, 16, shots,
                           "gaussian_world", args, val)
        p = model.layer_parameters()
        for layer, (lam, t) in enumerate(zip(p["lambdas"],
                                             p["temperatures"])):
            params_rows.append({
                "model": "unem_gaussian", "shots": shots, "layer": layer + 1,
                "lambda": round(float(lam), 4),
                "temperature": round(float(t), 4),
                "scale": round(float(p["scale"]), 4), **_common(args),
            })
        if shots == 5:
            keras.utils.set_random_seed(0)
            ref = train_unem_gaussian(shots=5, seed=0,
                                      loss_mode="reference")
            a = baselines.accuracy(predict_labels(ref, batch), yq)
            rows.append({
                "model": "unem_gaussian_reference_loss",
                "dataset": "gaussian_world", "split": "meta-test",
                "shots": 5, "top1": _pct(a), "top1_err": _pct(1 - a),
                "param_count": 21, "note": "double-softmax loss",
                "num_tasks": args.num_tasks, **_common(args),
            })
        print(f"gaussian {shots}-shot done", flush=True)


def _digits_encoder():
    """MLP 64-64-32 trained on digits 0-4; features of the 32-d layer."""
    keras.utils.set_random_seed(0)
    x, y = load_digits("train")
    keep = y < 5
    inputs = keras.Input((64,))
    h = keras.layers.Dense(64, activation="relu")(inputs)
    feats = keras.layers.Dense(32, activation="relu")(h)
    model = keras.Model(inputs, keras.layers.Dense(5)(feats))
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.
                  SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[keep], y[keep], epochs=40, batch_size=32, verbose=0)
    return keras.Model(inputs, feats)


def digits_fewshot(args, rows: list) -> None:
    encoder = _digits_encoder()
    bank = {}
    for split, cls in (("train", slice(0, 5)), ("test", slice(5, 10))):
        x, y = load_digits("all")
        keep = (y >= cls.start) & (y < cls.stop)
        f = np.asarray(encoder.predict(x[keep], verbose=0))
        bank[split] = (f, y[keep] - cls.start)
    world = FeatureBankWorld({k: v[0] for k, v in bank.items()},
                             {k: v[1] for k, v in bank.items()})
    # The train classes are the encoder's own (0-4; all their samples,
    # as the reference meta-trains on the feature extractor's
    # validation split); tasks are evaluated on digits 5-9.
    keras.utils.set_random_seed(0)
    train, ytrain = sample_episodes(world, "train", 300, 5, k_eff=3,
                                    seed=unem_presets.TRAIN_TASK_SEED)
    model = unem_presets.build_unem_gaussian(num_classes=5)
    model.fit(train, ytrain, batch_size=300, epochs=100, verbose=0)
    batch, yq = sample_episodes(world, "test", args.num_tasks, 5, k_eff=3,
                                seed=unem_presets.TEST_TASK_SEED)
    rows += _unem_rows("unem_gaussian", model, batch, yq, 5, 5,
                       "digits_5-9_features", args)
    print("digits done", flush=True)


def dirichlet_fewshot(args, rows: list) -> None:
    world = ZeroShotLogitsWorld(seed=0)
    k = world.split_classes("test")
    train, ytrain = sample_episodes(world, "train", 100, 4,
                                    seed=unem_presets.TRAIN_TASK_SEED)
    batch, yq = sample_episodes(world, "test", args.num_tasks, 4,
                                seed=unem_presets.TEST_TASK_SEED)
    acc = baselines.accuracy
    results = []
    # The reference initialisation (lambda = softplus(20), feature
    # temperature 30) and a small one (lambda = 1, temperature 1).
    for tag, head_kwargs in (("", {}),
                             ("_small_init", dict(
                                 initial_lambda=1.0,
                                 initial_feature_temperature=1.0))):
        keras.utils.set_random_seed(0)

        def build():
            return UNEMFewShotClassifier(
                UNEMBackbone(feature_dim=k), num_classes=k,
                head="dirichlet", num_layers=DIRICHLET_LAYERS,
                mm_steps=DIRICHLET_MM_STEPS, head_kwargs=head_kwargs)

        init = "reference init" if not tag else "init lambda 1, tau 1"
        untrained = build()
        results.append((f"em_dirichlet_fixed{tag}",
                        acc(predict_labels(untrained, batch), yq),
                        f"untrained, {init}"))
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(0.1))
        model.fit(train, ytrain, batch_size=100, epochs=30, verbose=0)
        results.append((f"unem_dirichlet{tag}",
                        acc(predict_labels(model, batch), yq),
                        f"meta-trained, {init}"))
    results += [
        ("zero_shot_argmax", acc(batch["query"].argmax(-1), yq),
         "no support"),
        ("nearest_prototype", acc(baselines.nearest_prototype(batch, k),
                                  yq), "inductive, on logits"),
    ]
    for m, a, note in results:
        rows.append({
            "model": m, "dataset": "zero_shot_logits", "split": "meta-test",
            "shots": 4, "top1": _pct(a), "top1_err": _pct(1 - a),
            "param_count": 2 * DIRICHLET_LAYERS + 1
            if m.startswith(("unem", "em_")) else 0,
            "note": note, "num_tasks": len(yq), **_common(args),
        })
    print("dirichlet done", flush=True)


def cafa_shifts(args, rows: list) -> None:
    model = zoo.load("cafa_digits_encoder")
    for r in cafa.evaluate_shifts(model, "test"):
        rows.append({
            "model": "cafa_digits_encoder", "dataset": "digits",
            "split": "test", "shift": r["shift"], "method": r["method"],
            "top1": _pct(r["accuracy"]),
            "adapt_epochs": cafa.ADAPT_EPOCHS
            if r["method"] in ("tent", "cafa") else 0,
            "adapt_batch_size": cafa.ADAPT_BATCH_SIZE, **_common(args),
        })
    print("cafa done", flush=True)


def plot(curve, params, fewshot, cafa_rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    ax = axes[0, 0]
    for it in (10, 100):
        pts = [(r["lambda"], r["top1"]) for r in curve
               if r["iterations"] == it]
        ax.plot(*zip(*pts), marker="o", ms=3,
                label=f"fixed-lambda EM, {it} iterations")
    unem5 = [r["top1"] for r in fewshot if r["model"] == "unem_gaussian"
             and r["dataset"] == "gaussian_world" and r["shots"] == 5]
    if unem5:
        ax.axhline(unem5[0], color="k", ls="--", label="UNEM (learned)")
    ax.set(xlabel="lambda", ylabel="top-1 %", title="5-shot, meta-test")
    ax.legend()
    ax = axes[0, 1]
    for shots in (1, 5, 10):
        pr = [r for r in params if r["shots"] == shots]
        ax.plot([r["layer"] for r in pr], [r["lambda"] for r in pr],
                marker="o", label=f"lambda, {shots}-shot")
        ax.plot([r["layer"] for r in pr], [r["temperature"] for r in pr],
                marker="x", ls=":", label=f"T, {shots}-shot")
    ax.set(xlabel="layer", title="learned per-layer parameters")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    models = ["unem_gaussian", "fixed_lambda_em_default",
              "fixed_lambda_em_oracle", "fixed_lambda_em_val_selected",
              "nearest_prototype", "inductive_softmax"]
    width = 0.13
    for i, m in enumerate(models):
        vals = [next((r["top1"] for r in fewshot if r["model"] == m
                      and r["dataset"] == "gaussian_world"
                      and r["shots"] == s), 0) for s in (1, 5, 10)]
        ax.bar(np.arange(3) + i * width, vals, width, label=m)
    ax.set_xticks(np.arange(3) + 2.5 * width, ["1-shot", "5-shot",
                                               "10-shot"])
    ax.set(ylabel="top-1 %", title="Gaussian world, meta-test")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    shifts = ["rotation", "noise", "contrast"]
    for i, m in enumerate(cafa.METHODS):
        vals = [next(r["top1"] for r in cafa_rows if r["shift"] == s
                     and r["method"] == m) for s in shifts]
        ax.bar(np.arange(3) + i * 0.2, vals, 0.2, label=m)
    ax.set_xticks(np.arange(3) + 0.3, shifts)
    ax.set(ylabel="top-1 %", title="CAFA on shifted test digits")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=90)


def main() -> int:
    """Runs every benchmark part and writes the CSVs and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-tasks", type=int, default=1000)
    args = parser.parse_args()
    start = time.time()
    curve, params, fewshot, cafa_rows = [], [], [], []
    lambda_curve(args, curve)
    gaussian_fewshot(args, fewshot, params)
    digits_fewshot(args, fewshot)
    dirichlet_fewshot(args, fewshot)
    cafa_shifts(args, cafa_rows)
    for name, rows in (("results-unem-lambda-curve.csv", curve),
                       ("results-unem-learned-params.csv", params),
                       ("results-unem-fewshot.csv", fewshot),
                       ("results-cafa-digits.csv", cafa_rows)):
        write_csv_atomic(os.path.join(RESULTS, name), list(rows[0]), rows)
    plot(curve, params, fewshot, cafa_rows,
         os.path.join(RESULTS, "unem-cafa.png"))
    print(f"done in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
