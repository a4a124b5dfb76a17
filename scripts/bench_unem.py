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

`--part NAME` runs one seeded study instead (`--seeds`, default 3, seeds
of meta-training: task sampling and Keras seed), one row per seed plus a
`seed=mean` row with `top1_std`:

- `digits-protocol` -> `scripts/results/results-unem-digits-protocol.csv`:
  why UNEM trails nearest prototype on digits features. One change at a
  time from the `all` protocol: features raw or centred on the base-class
  mean and L2-normalised (`cl2n`); meta-train tasks from the encoder's own
  classes (`base`), from classes the extractor never saw (`mirror`: digits
  0-4 through an encoder trained on 5-9, as the reference meta-trains on
  unseen validation classes) or, as a diagnostic upper bound, from the
  test classes themselves (`oracle`); the 64-d hidden layer as features.
  Per-task whitening (`whiten`: `baselines.whiten_episodes`, the
  support's shrunk within-class covariance, so that the isotropic
  Gaussian model of UNEM holds better). Validation tasks (digits 0-4
  test split through the mirror encoder) choose the protocol and the
  shrinkage. Control: the same task shape in a 5-class
  Gaussian world.
- `dirichlet-seeds` -> `scripts/results/results-unem-dirichlet-seeds.csv`:
  UNEM-Dirichlet meta-trained from the reference and from the small
  initialisation, test and val tasks.
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
from zoo.data.few_shot_episodes import GaussianClassWorld  # noqa: E402
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
            args.num_tasks != 1000 and f"--num-tasks {args.num_tasks}",
            args.part != "all" and f"--part {args.part}",
            args.part != "all" and args.seeds != 3
            and f"--seeds {args.seeds}"),
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


def _digits_encoder(first_class=0, both_layers=False):
    """MLP 64-64-32 trained on digits first_class..first_class+4.

    Returns the model of the 32-d layer's features, or of both hidden
    layers `[64-d, 32-d]` with `both_layers`.
    """
    keras.utils.set_random_seed(0)
    x, y = load_digits("train")
    keep = (y >= first_class) & (y < first_class + 5)
    inputs = keras.Input((64,))
    h = keras.layers.Dense(64, activation="relu")(inputs)
    feats = keras.layers.Dense(32, activation="relu")(h)
    model = keras.Model(inputs, keras.layers.Dense(5)(feats))
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.
                  SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[keep], y[keep] - first_class, epochs=40, batch_size=32,
              verbose=0)
    return keras.Model(inputs, [h, feats] if both_layers else feats)


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


# Controlled digits runs (`--part digits-protocol`): (feature layer,
# normalisation, meta-train source); one change at a time from the
# first (the `all` part's protocol).
DIGITS_CONDITIONS = (
    ("dense32", "raw", "base"),
    ("dense32", "raw", "mirror"),
    ("dense32", "cl2n", "base"),
    ("dense32", "cl2n", "mirror"),
    ("dense32", "raw", "oracle"),
    ("dense32", "cl2n", "oracle"),
    ("dense64", "cl2n", "mirror"),
    ("dense32", "whiten", "base"),
    ("dense32", "whiten", "mirror"),
)
# Shrinkage of the per-task whitening (`baselines.whiten_episodes`):
# the grid's best for nearest prototype on the validation tasks.
WHITEN_SHRINKAGE_GRID = (0.02, 0.05, 0.1, 0.2)
WHITEN_SHRINKAGE = 0.05
DIGITS_META_TASKS = 300
DIGITS_META_STEPS = 100
_META_TRAIN_NOTES = {
    "base": "meta-trained on the encoder's own classes 0-4",
    "mirror": "meta-trained on digits 0-4 through a mirror encoder "
              "(trained on 5-9)",
    "oracle": "DIAGNOSTIC: meta-trained on the test classes 5-9 "
              "themselves (other tasks)",
}


def _digits_banks():
    """Feature banks of the controlled digits protocol.

    Encoder A is the `all` part's (digits 0-4, train split); the test
    tasks are A's features of digits 5-9 (all samples), as before. A
    mirror encoder B (same recipe on digits 5-9) turns digits 0-4 into
    classes it never saw, as the reference meta-trains on classes the
    feature extractor did not see: its train+val samples of 0-4 give the
    "mirror" meta-train tasks and its test samples of 0-4 the validation
    tasks that choose the protocol. Returns `{(layer, norm): {split: (f,
    y)}}` with splits test, val, base, mirror, oracle.
    """
    x_all, y_all = load_digits("all")
    x_tv, y_tv = load_digits("trainval")
    x_te, y_te = load_digits("test")
    x_tr, y_tr = load_digits("train")
    enc = {c: _digits_encoder(c, both_layers=True) for c in (0, 5)}

    def feats(c, x):
        return [np.asarray(f) for f in enc[c].predict(x, verbose=0)]

    lo_all, hi_all = y_all < 5, y_all >= 5
    raw = {
        "test": (feats(0, x_all[hi_all]), y_all[hi_all] - 5),
        "base": (feats(0, x_all[lo_all]), y_all[lo_all]),
        "mirror": (feats(5, x_tv[y_tv < 5]), y_tv[y_tv < 5]),
        "val": (feats(5, x_te[y_te < 5]), y_te[y_te < 5]),
    }
    raw["oracle"] = raw["test"]
    # Base-class features of each encoder: its own training samples.
    own = {0: feats(0, x_tr[y_tr < 5]), 5: feats(5, x_tr[y_tr >= 5])}
    banks = {}
    for li, layer in enumerate(("dense64", "dense32")):
        for norm in ("raw", "cl2n"):
            bank = {}
            for split, (f, y) in raw.items():
                f = f[li]
                if norm == "cl2n":
                    c = 5 if split in ("mirror", "val") else 0
                    f = baselines.center_l2_normalize(
                        f, base_features=own[c][li])
                bank[split] = (f, y)
            banks[(layer, norm)] = bank
    return banks


def _seed_rows(name, accs, common, **fields) -> list:
    """One row per seed and a mean +- std row (`seed` = "mean")."""
    out = [dict(fields, model=name, seed=s, top1=_pct(a), top1_std="",
                n_seeds=1, top1_err=_pct(1 - a), **common)
           for s, a in enumerate(accs)]
    if len(accs) > 1:
        mean = float(np.mean(accs))
        out.append(dict(fields, model=name, seed="mean", top1=_pct(mean),
                        top1_std=_pct(float(np.std(accs))),
                        n_seeds=len(accs), top1_err=_pct(1 - mean),
                        **common))
    return out


def digits_protocol(args, rows: list) -> None:
    """Controlled runs: why UNEM trails nearest prototype on digits."""
    banks = _digits_banks()
    acc = baselines.accuracy
    common = _common(args)
    done_baselines = set()
    for layer, norm, source in DIGITS_CONDITIONS:
        bank = banks[(layer, "raw" if norm == "whiten" else norm)]

        def prep(batch, norm=norm):
            if norm != "whiten":
                return batch
            return baselines.whiten_episodes(batch, 5, WHITEN_SHRINKAGE)

        world = FeatureBankWorld({k: v[0] for k, v in bank.items()},
                                 {k: v[1] for k, v in bank.items()})
        dim = bank["test"][0].shape[-1]
        raw_evals = {
            split: sample_episodes(world, split, args.num_tasks, 5,
                                   k_eff=3, seed=seed)
            for split, seed in (("test", unem_presets.TEST_TASK_SEED),
                                ("val", unem_presets.VAL_TASK_SEED))
        }
        evals = {k: (prep(b), y) for k, (b, y) in raw_evals.items()}
        dataset = f"digits_5-9_{layer}"
        base = dict(shots=5, features=f"{layer} {norm}" + (
                        f" (shrinkage {WHITEN_SHRINKAGE:g})"
                        if norm == "whiten" else ""),
                    num_tasks=args.num_tasks)
        if (layer, norm) not in done_baselines:
            done_baselines.add((layer, norm))
            for split, (batch, yq) in evals.items():
                ds = (dataset if split == "test"
                      else f"digits_0-4_{layer}_mirror")
                curve = baselines.lambda_curve(batch, yq, 5)
                lam, best = max(curve, key=lambda p: p[1])
                for m, a, note in (
                    ("nearest_prototype",
                     acc(baselines.nearest_prototype(batch, 5), yq),
                     "inductive"),
                    ("inductive_softmax",
                     acc(baselines.inductive_softmax(batch, 5), yq),
                     "inductive"),
                    ("fixed_lambda_em_oracle", best,
                     f"lambda={lam:g}, best on these tasks")):
                    rows += _seed_rows(m, [a], common, **base,
                                       dataset=ds, split=f"meta-{split}",
                                       meta_train="", param_count=0,
                                       note=note)
                if norm != "whiten":
                    continue
                batch, yq = raw_evals[split]
                for shrink in WHITEN_SHRINKAGE_GRID:
                    white = baselines.whiten_episodes(batch, 5, shrink)
                    a = acc(baselines.nearest_prototype(white, 5), yq)
                    rows += _seed_rows(
                        "nearest_prototype_shrinkage_grid", [a], common,
                        **base, dataset=ds, split=f"meta-{split}",
                        meta_train="", param_count=0,
                        note=f"inductive, shrinkage={shrink:g}")
        accs = {"test": [], "val": []}
        for seed in range(args.seeds):
            keras.utils.set_random_seed(seed)
            offset = 777 if source == "oracle" else 0
            train, ytrain = sample_episodes(
                world, source, DIGITS_META_TASKS, 5, k_eff=3,
                seed=unem_presets.TRAIN_TASK_SEED + seed + offset)
            model = unem_presets.build_unem_gaussian(num_classes=5,
                                                     feature_dim=dim)
            model.fit(prep(train), ytrain, batch_size=DIGITS_META_TASKS,
                      epochs=DIGITS_META_STEPS, verbose=0)
            for split, (batch, yq) in evals.items():
                accs[split].append(acc(predict_labels(model, batch), yq))
            print(f"digits {layer} {norm} {source} seed {seed}: "
                  f"test {accs['test'][-1]:.4f} val {accs['val'][-1]:.4f}",
                  flush=True)
        for split in ("test", "val"):
            ds = dataset if split == "test" else f"digits_0-4_{layer}_mirror"
            rows += _seed_rows("unem_gaussian", accs[split], common, **base,
                               dataset=ds, split=f"meta-{split}",
                               meta_train=source, param_count=21,
                               note=_META_TRAIN_NOTES[source])
    # Control: the same task shape (K = 5, queries from 3, 5 shots) in a
    # world where the isotropic Gaussian model holds.
    gworld = GaussianClassWorld(num_classes=(5, 5, 5))
    batch, yq = sample_episodes(gworld, "test", args.num_tasks, 5, k_eff=3,
                                seed=unem_presets.TEST_TASK_SEED)
    base = dict(shots=5, features="gaussian", num_tasks=args.num_tasks,
                dataset="gaussian_world_K5", split="meta-test")
    gaccs = []
    for seed in range(args.seeds):
        keras.utils.set_random_seed(seed)
        train, ytrain = sample_episodes(
            gworld, "train", DIGITS_META_TASKS, 5, k_eff=3,
            seed=unem_presets.TRAIN_TASK_SEED + seed)
        model = unem_presets.build_unem_gaussian(num_classes=5)
        model.fit(train, ytrain, batch_size=DIGITS_META_TASKS,
                  epochs=DIGITS_META_STEPS, verbose=0)
        gaccs.append(acc(predict_labels(model, batch), yq))
    rows += _seed_rows("unem_gaussian", gaccs, common, **base,
                       meta_train="base", param_count=21,
                       note="control: Gaussian world, same task shape")
    for m, pred in (("nearest_prototype",
                     baselines.nearest_prototype(batch, 5)),
                    ("inductive_softmax",
                     baselines.inductive_softmax(batch, 5))):
        rows += _seed_rows(m, [acc(pred, yq)], common, **base,
                           meta_train="", param_count=0, note="inductive")
    print("digits protocol done", flush=True)


DIRICHLET_INITS = (
    ("_reference_init", {}, "reference init (lambda softplus(20), tau 30)"),
    ("", dict(initial_lambda=1.0, initial_feature_temperature=1.0),
     "init lambda 1, tau 1 (the bench default)"),
)


def dirichlet_seeds(args, rows: list) -> None:
    """UNEM-Dirichlet over meta-training seeds, test and val tasks."""
    world = ZeroShotLogitsWorld(seed=0)
    k = world.split_classes("test")
    acc = baselines.accuracy
    common = _common(args)
    evals = {
        split: sample_episodes(world, split, args.num_tasks, 4, seed=seed)
        for split, seed in (("test", unem_presets.TEST_TASK_SEED),
                            ("val", unem_presets.VAL_TASK_SEED))
    }
    base = dict(shots=4, features="logits", meta_train="train classes",
                num_tasks=args.num_tasks, dataset="zero_shot_logits")

    def build(head_kwargs):
        return UNEMFewShotClassifier(
            UNEMBackbone(feature_dim=k), num_classes=k, head="dirichlet",
            num_layers=DIRICHLET_LAYERS, mm_steps=DIRICHLET_MM_STEPS,
            head_kwargs=head_kwargs)

    params = 2 * DIRICHLET_LAYERS + 1
    for tag, head_kwargs, note in DIRICHLET_INITS:
        untrained = build(head_kwargs)
        accs = {"test": [], "val": []}
        for seed in range(args.seeds):
            keras.utils.set_random_seed(seed)
            train, ytrain = sample_episodes(
                world, "train", 100, 4,
                seed=unem_presets.TRAIN_TASK_SEED + seed)
            model = build(head_kwargs)
            model.compile(optimizer=keras.optimizers.Adam(0.1))
            model.fit(train, ytrain, batch_size=100, epochs=30, verbose=0)
            for split, (batch, yq) in evals.items():
                accs[split].append(acc(predict_labels(model, batch), yq))
            print(f"dirichlet{tag} seed {seed}: test {accs['test'][-1]:.4f}"
                  f" val {accs['val'][-1]:.4f}", flush=True)
        for split, (batch, yq) in evals.items():
            rows += _seed_rows(
                f"em_dirichlet_fixed{tag}",
                [acc(predict_labels(untrained, batch), yq)], common, **base,
                split=f"meta-{split}", param_count=params,
                note=f"untrained, {note}")
            rows += _seed_rows(f"unem_dirichlet{tag}", accs[split], common,
                               **base, split=f"meta-{split}",
                               param_count=params,
                               note=f"meta-trained, {note}")
    for split, (batch, yq) in evals.items():
        for m, a, note in (
                ("zero_shot_argmax", acc(batch["query"].argmax(-1), yq),
                 "no support"),
                ("nearest_prototype",
                 acc(baselines.nearest_prototype(batch, k), yq),
                 "inductive, on logits")):
            rows += _seed_rows(m, [a], common, **base,
                               split=f"meta-{split}", param_count=0,
                               note=note)
    print("dirichlet seeds done", flush=True)


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


PART_COLUMNS = ("model", "dataset", "split", "shots", "features",
                "meta_train", "seed", "n_seeds", "top1", "top1_std",
                "top1_err", "param_count", "note", "num_tasks", "backend",
                "precision", "cpu", "keras_version", "date", "command")
PARTS = {
    "all": None,
    "digits-protocol": (digits_protocol, "results-unem-digits-protocol.csv"),
    "dirichlet-seeds": (dirichlet_seeds, "results-unem-dirichlet-seeds.csv"),
}


def main() -> int:
    """Runs every benchmark part and writes the CSVs and the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-tasks", type=int, default=1000)
    parser.add_argument("--part", choices=PARTS, default="all")
    parser.add_argument("--seeds", type=int, default=3,
                        help="meta-training seeds of the seeded parts")
    args = parser.parse_args()
    start = time.time()
    if args.part != "all":
        fn, name = PARTS[args.part]
        rows = []
        fn(args, rows)
        keys = [k for k in PART_COLUMNS if any(k in r for r in rows)]
        write_csv_atomic(os.path.join(RESULTS, name), keys, rows)
        print(f"done in {time.time() - start:.0f} s")
        return 0
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
