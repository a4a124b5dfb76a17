"""Terminator ablations: accuracy and time per epoch, CSV and PNG.

Usage (what `make bench` runs):

    KERAS_BACKEND=jax python scripts/bench_terminator.py --part accuracy
    for b in jax tensorflow torch; do
        KERAS_BACKEND=$b python scripts/bench_terminator.py --part speed
    done
    python scripts/bench_terminator.py --part plot

Variants, all with the architecture of `--preset` (default
`terminator_2d_digits`): the preset recipe (`full`, Kar3), `no_slow_loss`
(slow-loss weight 0), `no_global` (global HyperZ·Z·W branches removed),
`no_local` (local branches removed) and `adam` (the preset trained with
Adam instead of Kar3, same schedule).

- `--part accuracy` trains every variant for `--epochs` on the preset's
  train+val split and reports test accuracy (one seed, this backend).
- `--part speed` times one training epoch of `full`, `no_global` and
  `no_local` on this backend (after one warm-up epoch that includes
  compilation); `no_slow_loss` and `adam` run the same forward graph as
  `full` (the slow loss costs a few hundred kernel values per step) and
  are timed only when named with `--variants`.
- `--part seeds` retrains the preset itself (its full budget, train+val
  split) with seeds `--first-seed` (1), ... (`--num-seeds` of them) and
  reports each test accuracy, to show the run-to-run spread of the
  bundled preset's figure (seed 0); rows of other seeds stay.
- `--part shuffled` (issue 22) compares recipes for shuffled MNIST-1D
  (`--preset terminator_1d_mnist1d_shuffled`): every `--variants` entry
  of `SHUFFLED_VARIANTS` (the preset with overrides, or an MLP baseline)
  with every `--seeds` entry, trained for `--epochs` (default: the
  preset's) on the train split and scored on validation (`--split val`,
  for choosing), or on train+val and scored on test (`--split test`,
  for the chosen recipe and the baselines). Rows go to
  `scripts/results/benchmark-terminator-shuffled.csv`, keyed by
  (model, split, epochs, seed, backend); the mean and sample std over
  seeds of each (model, split, epochs, backend) go to
  `scripts/results/benchmark-terminator-shuffled-summary.csv`.
- `--part plot` draws `scripts/results/terminator-ablation.png` from the
  CSV.

Rows are merged into `scripts/results/benchmark-terminator-ablation.csv`
keyed by (model, part, backend); columns follow timm's benchmark CSV plus
backend, precision and the command.
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import check_names  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402

CSV = os.path.join(RESULTS, "benchmark-terminator-ablation.csv")
SEEDS_CSV = os.path.join(RESULTS, "benchmark-terminator-seeds.csv")
SEEDS_FIELDS = ("model", "dataset", "seed", "top1", "top1_batch100",
                "param_count",
                "epochs", "backend", "precision", "date", "command")
PNG = os.path.join(RESULTS, "terminator-ablation.png")
FIELDS = ("model", "part", "dataset", "top1", "param_count", "epochs",
          "train_batch_size", "sec_per_epoch", "train_samples_per_sec",
          "backend", "precision", "cpu", "num_threads", "keras_version",
          "date", "command")
SHUFFLED_CSV = os.path.join(RESULTS, "benchmark-terminator-shuffled.csv")
SHUFFLED_FIELDS = ("model", "overrides", "train_split", "split", "seed",
                   "top1", "top1_batch100", "param_count", "epochs",
                   "batch_size", "backend", "precision", "cpu",
                   "num_threads", "keras_version", "date", "command")
SHUFFLED_SUMMARY_CSV = os.path.join(
    RESULTS, "benchmark-terminator-shuffled-summary.csv")
SHUFFLED_SUMMARY_FIELDS = ("model", "overrides", "split", "epochs", "seeds",
                           "num_seeds", "top1_mean", "top1_std",
                           "param_count", "backend", "precision", "cpu",
                           "commands")
# `--part shuffled`: the preset with overrides (`build_terminator`), or a
# baseline (`baseline` kind with its recipe, Adam, warm-up + cosine at
# the preset's epochs and batch unless `recipe` says otherwise).
SHUFFLED_VARIANTS = {
    # The recipe of the issue-18 preset (global average pooling, last
    # block 48 channels) and its flattened read-out.
    "average_pool": {"pooling": "average", "hidden_dims": (24, 32, 48)},
    "flatten_head": {"pooling": "flatten", "hidden_dims": (24, 32, 48)},
    # The flattened read-out with a last block of 24 channels: 90,891
    # parameters, the preset's size (90,843) and within the 100k budget.
    "flatten_24": {"pooling": "flatten", "hidden_dims": (24, 32, 24)},
    "flatten_24_dropout": {"pooling": "flatten",
                           "hidden_dims": (24, 32, 24), "dropout": 0.3,
                           "head_dropout": 0.3},
    "flatten_24_no_global": {"pooling": "flatten",
                             "hidden_dims": (24, 32, 24),
                             "global_branch": False},
    "flatten_24_local_k1": {"pooling": "flatten",
                            "hidden_dims": (24, 32, 24),
                            "local_kernel_sizes": (1,)},
    # Issue 22 follow-up: regularisers of the flatten_24 recipe (decoupled
    # weight decay through Kar3, stronger label smoothing, input mixup).
    "flatten_24_wd": {"pooling": "flatten", "hidden_dims": (24, 32, 24),
                      "weight_decay": 0.1},
    "flatten_24_ls02": {"pooling": "flatten", "hidden_dims": (24, 32, 24),
                        "label_smoothing": 0.2},
    "flatten_24_mixup": {"pooling": "flatten", "hidden_dims": (24, 32, 24),
                         "mixup_alpha": 0.2},
    "mlp": {"baseline": "mnist1d_mlp"},
    "mlp_paper_recipe": {"baseline": "mnist1d_mlp",
                         "recipe": "paper"},
    "strong_mlp": {"baseline": "strong_mlp"},
}
VARIANTS = {
    "full": {},
    "no_slow_loss": {"slow_loss_weight": 0.0},
    "no_global": {"global_branch": False},
    "no_local": {"local_branches": False},
    "adam": {"optimizer": "adam"},
}


def _write(new_rows):
    order = list(VARIANTS)
    merge_csv_rows(
        CSV, FIELDS, new_rows,
        key=lambda r: (r["model"], r["part"], r["backend"]),
        sort_key=lambda r: (r["part"], r["backend"], order.index(r["model"])
                            if r["model"] in order else 99),
    )


def _setup(args, options):
    """Preset config, dataset label, backend and the command line."""
    import keras

    from zoo.terminator import terminator_presets

    cfg = terminator_presets.preset_config(args.preset)
    dataset = terminator_presets.dataset_label(cfg)
    backend = keras.backend.backend()
    command = run_command(backend, "bench_terminator.py",
                          f"--part {args.part}", f"--preset {args.preset}",
                          options)
    return cfg, dataset, backend, command


def _run(args, part):
    import keras

    from zoo.terminator.terminator_presets import build_terminator
    from zoo.terminator.terminator_presets import load_data
    from zoo.terminator.terminator_training import fit_model

    cfg, dataset, backend, command = _setup(
        args, f"--epochs {args.epochs}"
    )
    x, y = load_data(cfg["dataset"], "trainval", cfg["shuffled"])
    rows = []
    for name in args.variants:
        keras.utils.set_random_seed(args.seed)
        overrides = dict(VARIANTS[name], epochs=args.epochs)
        model = build_terminator(args.preset, seed=args.seed,
                                 num_train=len(x), **overrides)
        row = {
            "model": name, "part": part, "dataset": dataset,
            "param_count": model.count_params(), "epochs": args.epochs,
            "train_batch_size": cfg["batch_size"], "backend": backend,
            "precision": "float32", "cpu": cpu_model(),
            "num_threads": usable_cpus(),
            "keras_version": keras.version(), "date": today(),
            "command": command, "top1": "", "sec_per_epoch": "",
            "train_samples_per_sec": "",
        }
        if part == "accuracy":
            # No timing here: `--part speed` times epochs on an idle
            # machine; this part may share the CPU with other runs.
            metrics = fit_model(
                model, cfg["dataset"], cfg["shuffled"], args.epochs,
                cfg["batch_size"], tempfile.mkdtemp(prefix="abl-"),
                verbose=0, data=(x, y),
            )
            row["top1"] = round(100 * metrics["accuracy"], 2)
        else:
            model.fit(x, y, batch_size=cfg["batch_size"], epochs=1,
                      verbose=0)  # compile + warm-up
            start = time.perf_counter()
            model.fit(x, y, batch_size=cfg["batch_size"], epochs=1,
                      verbose=0)
            seconds = time.perf_counter() - start
            row["sec_per_epoch"] = round(seconds, 3)
            row["train_samples_per_sec"] = round(len(x) / seconds, 1)
        print(row, flush=True)
        rows.append(row)
        _write([row])
    return rows


def _seeds(args):
    import keras

    from zoo.terminator.terminator_training import train_preset

    seeds = range(args.first_seed, args.first_seed + args.num_seeds)
    cfg, dataset, backend, command = _setup(
        args, f"--num-seeds {args.num_seeds}" + (
            f" --first-seed {args.first_seed}" if args.first_seed != 1
            else "")
    )
    rows = [r for r in read_csv_rows(SEEDS_CSV)
            if (r["model"], r["backend"]) != (args.preset, backend)
            or int(r["seed"]) not in seeds]
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model, metrics, _ = train_preset(
            args.preset, out_dir=tempfile.mkdtemp(prefix="seed-"),
            seed=seed, verbose=0,
        )
        rows.append({
            "model": args.preset, "dataset": dataset, "seed": seed,
            "top1": round(100 * metrics["accuracy"], 2),
            "top1_batch100": round(100 * metrics["accuracy_batch100"], 2),
            "param_count": metrics["parameters"], "epochs": cfg["epochs"],
            "backend": backend, "precision": "float32", "date": today(),
            "command": command,
        })
        print(rows[-1], flush=True)
        rows.sort(key=lambda r: (r["model"], r["backend"], int(r["seed"])))
        write_csv_atomic(SEEDS_CSV, SEEDS_FIELDS, rows)


def _shuffled_run(args, name, seed, x, y, cfg):
    """Trains one `SHUFFLED_VARIANTS` entry; returns (metrics, epochs)."""
    from zoo.terminator.terminator_baselines import PAPER_RECIPE
    from zoo.terminator.terminator_baselines import build_baseline
    from zoo.terminator.terminator_training import fit_model
    from zoo.terminator.terminator_training import train_preset

    spec = dict(SHUFFLED_VARIANTS[name])
    eval_split = args.split
    train_split = "train" if eval_split == "val" else "trainval"
    out_dir = tempfile.mkdtemp(prefix="shuf-")
    epochs = args.epochs or cfg["epochs"]
    if "baseline" not in spec:
        _, metrics, _ = train_preset(
            args.preset, epochs=epochs, out_dir=out_dir, seed=seed,
            verbose=0, train_split=train_split, eval_split=eval_split,
            **spec)
        return metrics, epochs, cfg["batch_size"]
    recipe = dict(epochs=epochs, learning_rate=cfg["baseline_learning_rate"],
                  batch_size=cfg["batch_size"])
    if spec.get("recipe") == "paper":
        recipe = dict(PAPER_RECIPE)
    model = build_baseline(spec["baseline"], seed=seed, num_train=len(y),
                           **recipe)
    metrics = fit_model(model, cfg["dataset"], cfg["shuffled"],
                        recipe["epochs"], recipe["batch_size"], out_dir,
                        verbose=0, data=(x, y), eval_split=eval_split)
    return metrics, recipe["epochs"], recipe["batch_size"]


def _shuffled_summary():
    """Mean and sample std over seeds of `SHUFFLED_CSV`'s rows, by
    (model, split, epochs, backend), into `SHUFFLED_SUMMARY_CSV`."""
    import numpy as np

    groups = {}
    for r in read_csv_rows(SHUFFLED_CSV):
        key = (r["model"], r["split"], r["epochs"], r["backend"])
        groups.setdefault(key, []).append(r)
    rows = []
    for (model, split, epochs, backend), group in sorted(groups.items()):
        top1 = np.array([float(r["top1"]) for r in group])
        rows.append({
            "model": model, "overrides": group[0]["overrides"],
            "split": split, "epochs": epochs,
            "seeds": " ".join(sorted(r["seed"] for r in group)),
            "num_seeds": len(group), "top1_mean": round(top1.mean(), 2),
            "top1_std": round(top1.std(ddof=1), 2) if len(group) > 1
            else "",
            "param_count": group[0]["param_count"], "backend": backend,
            "precision": group[0]["precision"], "cpu": group[0]["cpu"],
            "commands": " ; ".join(sorted({r["command"] for r in group})),
        })
    write_csv_atomic(SHUFFLED_SUMMARY_CSV, SHUFFLED_SUMMARY_FIELDS, rows)


def _shuffled(args):
    import keras

    from zoo.terminator.terminator_presets import load_data

    cfg, dataset, backend, command = _setup(
        args, " ".join(
            [f"--split {args.split}", "--variants " + " ".join(args.variants),
             "--seeds " + " ".join(str(s) for s in args.seeds)]
            + ([f"--epochs {args.epochs}"] if args.epochs else [])))
    train_split = "train" if args.split == "val" else "trainval"
    x, y = load_data(cfg["dataset"], train_split, cfg["shuffled"])
    for name in args.variants:
        for seed in args.seeds:
            keras.utils.set_random_seed(seed)
            metrics, epochs, batch = _shuffled_run(args, name, seed, x, y,
                                                   cfg)
            row = {
                "model": name,
                "overrides": " ".join(
                    f"{k}={v}" for k, v in SHUFFLED_VARIANTS[name].items()),
                "train_split": train_split, "split": args.split,
                "seed": seed, "top1": round(100 * metrics["accuracy"], 2),
                "top1_batch100": round(
                    100 * metrics["accuracy_batch100"], 2),
                "param_count": metrics["parameters"], "epochs": epochs,
                "batch_size": batch, "backend": backend,
                "precision": "float32", "cpu": cpu_model(),
                "num_threads": usable_cpus(),
                "keras_version": keras.version(), "date": today(),
                "command": command,
            }
            print(row, flush=True)
            merge_csv_rows(
                SHUFFLED_CSV, SHUFFLED_FIELDS, [row],
                key=lambda r: (r["model"], r["split"], str(r["epochs"]),
                               str(r["seed"]), r["backend"]),
                sort_key=lambda r: (r["split"], r["model"],
                                    int(r["epochs"]), int(r["seed"])))
            _shuffled_summary()


def _plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_csv_rows(CSV)
    acc = [r for r in rows if r["part"] == "accuracy"]
    speed = [r for r in rows if r["part"] == "speed"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if acc:
        names = [r["model"] for r in acc]
        vals = [float(r["top1"]) for r in acc]
        axes[0].bar(names, vals, color="tab:blue")
        axes[0].set_ylim(min(vals) - 2, 100)
        for i, v in enumerate(vals):
            axes[0].text(i, v + 0.1, f"{v:.2f}", ha="center", fontsize=8)
        axes[0].set_ylabel("test accuracy (%)")
        axes[0].set_title(f"Ablations, {acc[0]['dataset']}, "
                          f"{acc[0]['epochs']} epochs ({acc[0]['backend']})")
    if speed:
        backends = sorted({r["backend"] for r in speed})
        names = [n for n in VARIANTS if any(r["model"] == n for r in speed)]
        width = 0.8 / max(1, len(backends))
        for j, b in enumerate(backends):
            vals = [next((float(r["sec_per_epoch"]) for r in speed
                          if r["model"] == n and r["backend"] == b), 0.0)
                    for n in names]
            axes[1].bar([i + j * width for i in range(len(names))], vals,
                        width, label=b)
        axes[1].set_xticks([i + width * (len(backends) - 1) / 2
                            for i in range(len(names))])
        axes[1].set_xticklabels(names)
        axes[1].set_ylabel("seconds per training epoch (CPU)")
        axes[1].set_title("Time per epoch, float32, "
                          f"{speed[0]['num_threads']} CPU threads")
        axes[1].legend()
    write_plot(fig, PNG)


def main():
    """Runs one part of the ablation benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", required=True,
                        choices=("accuracy", "speed", "seeds", "shuffled",
                                 "plot"))
    parser.add_argument("--num-seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1,
                        help="--part seeds trains seeds first-seed, ... "
                        "(rows of other seeds are kept)")
    parser.add_argument("--preset", default="terminator_2d_digits")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="*", default=None)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0],
                        help="--part shuffled: training seeds")
    parser.add_argument("--split", default="val", choices=("val", "test"),
                        help="--part shuffled: score on validation "
                        "(train split) or on test (train+val)")
    args = parser.parse_args()
    if args.part == "shuffled":
        if args.variants is None:
            args.variants = list(SHUFFLED_VARIANTS)
        check_names(parser, variants=(args.variants, SHUFFLED_VARIANTS))
        _shuffled(args)
        return 0
    if args.variants is None:
        args.variants = (list(VARIANTS) if args.part != "speed"
                         else ["full", "no_global", "no_local"])
    check_names(parser, variants=(args.variants, VARIANTS))
    if args.part == "plot":
        _plot()
    elif args.part == "seeds":
        _seeds(args)
    else:
        if args.epochs is None:
            args.epochs = 30 if args.part == "accuracy" else 1
        _run(args, args.part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
