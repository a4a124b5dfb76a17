"""Benchmarks the DyVTE preset `token_exit_vlm_scenes` (accuracy, FLOPs).

Usage:

    KERAS_BACKEND=jax python scripts/bench_token_exit_scenes.py \
        --part accuracy
    KERAS_BACKEND=jax python scripts/bench_token_exit_scenes.py \
        --part text-only

`accuracy` (the preset's 5000 fixed test questions, its threshold):
- per question family: accuracy of the full and the exited model, mean
  and std of the exit layer, FLOPs saved, exit histogram
  (`benchmark-token-exit-scenes.csv`);
- baselines (`benchmark-token-exit-scenes-baselines.csv`): static exit
  after every layer k (`-1` = no image), FastV-style pruning (the image
  tokens receiving the least attention from the last token in layer 1
  are masked from layer 2 on) at keep ratios 0.5 down to 0, a random
  exit with the SAME exit layers as DyVTE shuffled across the test
  questions (equal FLOPs by construction; mean and std over 5 shuffles),
  and DyVTE;
- a PNG (`token-exit-scenes.png`): accuracy vs FLOPs saved of every
  method, and the exit-layer histogram per family.

`routers`: does longer router training help? The preset's routers get
`--extra-chunks` more chunks of fresh training questions (the recipe's
`train_routers`, one random exit layer per batch); after each chunk the
threshold is chosen again on the validation questions and the test
questions give DyVTE's accuracy and FLOPs and the random exit with the
same exit layers (`benchmark-token-exit-scenes-routers.csv`; row 0 is
the preset as bundled). The preset itself is not changed.

`text-only`: the best any text-only model can do on these templated
questions, i.e. the majority training answer of every distinct question
(token sequence) over 50 000 training questions, scored on the test
questions per family (`benchmark-token-exit-scenes-text-only.csv`).

FLOPs are analytic (`TokenExitVLMBackbone.prefill_flops`); the batch-1
latency table is `scripts/bench_token_exit.py --part latency --preset
token_exit_vlm_scenes`.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import save_figure_atomic  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts.bench_token_exit import fastv_flops_saved  # noqa: E402
from scripts.bench_token_exit import fastv_logits  # noqa: E402
from zoo.data import tiny_scenes as scenes  # noqa: E402
from zoo.token_exit.token_exit_eval import exit_logits  # noqa: E402
from zoo.token_exit.token_exit_eval import flops_saved  # noqa: E402
from zoo.token_exit.token_exit_presets import SCENES_PRESET_NAME  # noqa
from zoo.token_exit.token_exit_scenes import scenes_split  # noqa: E402

PRESET = SCENES_PRESET_NAME
FAMILY_CSV = os.path.join(RESULTS, "benchmark-token-exit-scenes.csv")
BASELINE_CSV = os.path.join(RESULTS,
                            "benchmark-token-exit-scenes-baselines.csv")
TEXT_CSV = os.path.join(RESULTS, "benchmark-token-exit-scenes-text-only.csv")
PNG = os.path.join(RESULTS, "token-exit-scenes.png")
FAMILY_FIELDS = ("model", "family", "num_examples", "top1_full",
                 "top1_exit", "top1_drop", "mean_exit_layer",
                 "std_exit_layer", "flops_saved", "exit_histogram",
                 "threshold", "backend", "precision", "command")
BASELINE_FIELDS = ("model", "method", "setting", "top1", "top1_std",
                   "top1_drop", "flops_saved", "backend", "precision",
                   "command")
ROUTER_CSV = os.path.join(RESULTS,
                          "benchmark-token-exit-scenes-routers.csv")
ROUTER_FIELDS = ("model", "router_chunks", "threshold", "val_drop",
                 "top1_full", "top1_exit", "top1_drop", "flops_saved",
                 "mean_exit_layer", "top1_random_exit", "top1_random_std",
                 "backend", "precision", "command")
TEXT_FIELDS = ("model", "family", "num_examples", "top1_text_only",
               "train_questions", "backend", "command")
KEEP_RATIOS = (0.5, 0.25, 0.125, 0.0)
SHUFFLES = 5


def _pct(v):
    return round(100 * float(v), 2) + 0.0  # no "-0.0"


def family_rows(model, x, y, info, command):
    """Rows of the per-family table and the `predict_with_exit` output."""
    out = model.predict_with_exit(x)
    layers_count = model.backbone.num_layers
    groups = [(f, info["family"] == i)
              for i, f in enumerate(scenes.FAMILIES)]
    groups.append(("all", np.ones(len(y), bool)))
    rows = []
    for name, sel in groups:
        full = np.mean(out["full_logits"][sel].argmax(-1) == y[sel])
        ex = np.mean(out["logits"][sel].argmax(-1) == y[sel])
        k = out["exit_layers"][sel]
        hist = np.bincount(k, minlength=layers_count)
        rows.append({
            "model": PRESET, "family": name, "num_examples": int(sel.sum()),
            "top1_full": _pct(full), "top1_exit": _pct(ex),
            "top1_drop": _pct(full - ex),
            "mean_exit_layer": round(float(k.mean()), 3),
            "std_exit_layer": round(float(k.std()), 3),
            "flops_saved": round(flops_saved(model.backbone, k), 4),
            "exit_histogram": " ".join(str(int(c)) for c in hist),
            "threshold": model.exit_threshold,
            "backend": keras.backend.backend(), "precision": "float32",
            "command": command,
        })
    return rows, out


def per_example_logits(model, x, exit_layers, batch_size=500):
    """Answer logits with one exit layer per example (masked path)."""
    out = []
    for s in range(0, len(exit_layers), batch_size):
        batch = {"images": x["images"][s:s + batch_size],
                 "token_ids": x["token_ids"][s:s + batch_size]}
        out.append(keras.ops.convert_to_numpy(model.answer_logits(
            batch, exit_layers[s:s + batch_size].astype("int32"))))
    return np.concatenate(out)


def baseline_rows(model, x, y, out, command):
    """Static exits, FastV, random exits with DyVTE's layers, DyVTE."""
    b = model.backbone
    full_acc = np.mean(out["full_logits"].argmax(-1) == y)
    common = {"model": PRESET, "backend": keras.backend.backend(),
              "precision": "float32", "command": command, "top1_std": ""}
    rows = []

    def add(method, setting, acc, saved, std=""):
        rows.append(dict(common, method=method, setting=setting,
                         top1=_pct(acc), top1_std=std,
                         top1_drop=_pct(full_acc - acc),
                         flops_saved=round(float(saved), 4)))

    for k in range(-1, b.num_layers):
        acc = np.mean(exit_logits(model, x, k).argmax(-1) == y)
        add("static_exit", f"layer {k}", acc,
            flops_saved(b, np.full(len(y), k), router_calls=False))
    for ratio in KEEP_RATIOS:
        acc = np.mean(fastv_logits(model, x, keep_ratio=ratio).argmax(-1)
                      == y)
        add("fastv", f"keep {ratio} from layer 2", acc,
            fastv_flops_saved(b, keep_ratio=ratio))
    accs = []
    rng = np.random.default_rng(0)
    for _ in range(SHUFFLES):
        shuffled = rng.permutation(out["exit_layers"])
        accs.append(np.mean(
            per_example_logits(model, x, shuffled).argmax(-1) == y))
    add("random_exit", f"DyVTE's exit layers shuffled ({SHUFFLES}x)",
        np.mean(accs), flops_saved(b, out["exit_layers"]),
        std=_pct(np.std(accs, ddof=1)))
    add("dyvte_router", f"threshold {model.exit_threshold}",
        np.mean(out["logits"].argmax(-1) == y),
        flops_saved(b, out["exit_layers"]))
    return rows


def plot(fam_rows, base_rows, num_layers):
    """Accuracy vs FLOPs saved, and exit histograms per family."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 1)
    styles = {"static_exit": ("o-", "#6baed6"), "fastv": ("s-", "#31a354"),
              "random_exit": ("D", "#756bb1"),
              "dyvte_router": ("*", "#cb181d")}
    for method, (marker, colour) in styles.items():
        sel = [r for r in base_rows if r["method"] == method]
        ax.plot([r["flops_saved"] for r in sel], [r["top1"] for r in sel],
                marker, color=colour, markersize=9 if len(sel) == 1 else 5,
                label=method)
    ax.set_xlabel("decoder FLOPs saved (analytic)")
    ax.set_ylabel("test accuracy %")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    fams = [r for r in fam_rows if r["family"] != "all"]
    width = 0.8 / len(fams)
    for i, r in enumerate(fams):
        hist = np.array([int(c) for c in r["exit_histogram"].split()])
        ax.bar(np.arange(num_layers) + i * width, hist / hist.sum(), width,
               label=f"{r['family']} (mean {r['mean_exit_layer']})")
    ax.set_xlabel(f"exit layer ({num_layers - 1} = no exit)")
    ax.set_ylabel("share of test questions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, PNG)


def router_rows(model, extra_chunks, command):
    """Longer router training on the bundled preset (see `routers`)."""
    from zoo.token_exit.token_exit_training import select_threshold
    from zoo.token_exit.token_exit_training import train_routers

    meta = zoo.read_metadata(PRESET)
    first = int(meta["vlm_epochs"]) + int(meta["router_epochs"])
    xv, yv, _ = scenes_split("val")
    x, y, _ = scenes_split("test")
    rows = []
    for extra in range(extra_chunks + 1):
        if extra:
            xr, yr, _ = scenes.make_scenes_vqa(
                "train", int(meta["chunk_size"]), 0, chunk=first + extra - 1)
            train_routers(model, xr, yr, 1, 128, 1e-3, seed=extra,
                          verbose=0)
            model.set_stage("vlm")
            model.compile()
            threshold, val_rows = select_threshold(model, xv, yv)
            model.exit_threshold = float(threshold)
        else:
            threshold = model.exit_threshold
        out = model.predict_with_exit(x)
        val = model.predict_with_exit(xv)
        full = np.mean(out["full_logits"].argmax(-1) == y)
        ex = np.mean(out["logits"].argmax(-1) == y)
        val_drop = (np.mean(val["full_logits"].argmax(-1) == yv)
                    - np.mean(val["logits"].argmax(-1) == yv))
        rng = np.random.default_rng(0)
        accs = [np.mean(per_example_logits(
            model, x, rng.permutation(out["exit_layers"])).argmax(-1) == y)
            for _ in range(SHUFFLES)]
        rows.append({
            "model": PRESET,
            "router_chunks": int(meta["router_epochs"]) + extra,
            "threshold": threshold, "val_drop": _pct(val_drop),
            "top1_full": _pct(full), "top1_exit": _pct(ex),
            "top1_drop": _pct(full - ex),
            "flops_saved": round(flops_saved(model.backbone,
                                             out["exit_layers"]), 4),
            "mean_exit_layer": round(float(out["exit_layers"].mean()), 3),
            "top1_random_exit": _pct(np.mean(accs)),
            "top1_random_std": _pct(np.std(accs, ddof=1)),
            "backend": keras.backend.backend(), "precision": "float32",
            "command": command,
        })
        print(rows[-1], flush=True)
        write_csv_atomic(ROUTER_CSV, ROUTER_FIELDS, rows)
    return rows


def text_only_rows(command, train_questions=50000):
    """Majority answer per distinct question, scored on the test split."""
    x_tr, y_tr, _ = scenes.make_scenes_vqa("train", train_questions, 0,
                                           chunk=10_000)
    x_te, y_te, info = scenes_split("test")
    table = {}
    for tokens, answer in zip(map(bytes, x_tr["token_ids"]), y_tr):
        table.setdefault(tokens, []).append(answer)
    majority = {k: np.bincount(v).argmax() for k, v in table.items()}
    overall = np.bincount(y_tr).argmax()
    pred = np.array([majority.get(bytes(t), overall)
                     for t in x_te["token_ids"]])
    rows = []
    for i, family in enumerate(scenes.FAMILIES + ("all",)):
        sel = (info["family"] == i) if family != "all" else slice(None)
        rows.append({"model": "text_only_majority", "family": family,
                     "num_examples": int(np.size(y_te[sel])),
                     "top1_text_only": _pct(np.mean(pred[sel] == y_te[sel])),
                     "train_questions": train_questions,
                     "backend": "numpy", "command": command})
    return rows


def main():
    """Runs the chosen part and writes its CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("accuracy", "text-only",
                                           "routers"),
                        default="accuracy")
    parser.add_argument("--extra-chunks", type=int, default=3,
                        help="routers: more chunks of router training")
    parser.add_argument("--preset", default=PRESET,
                        help="preset name or directory")
    args = parser.parse_args()
    backend = keras.backend.backend()
    command = run_command(
        backend, "bench_token_exit_scenes.py", f"--part {args.part}",
        args.part == "routers" and f"--extra-chunks {args.extra_chunks}")
    if args.part == "text-only":
        rows = text_only_rows(command)
        write_csv_atomic(TEXT_CSV, TEXT_FIELDS, rows)
        for r in rows:
            print(r["family"], r["top1_text_only"], flush=True)
        return 0
    model = zoo.load(args.preset)
    if args.part == "routers":
        router_rows(model, args.extra_chunks, command)
        return 0
    x, y, info = scenes_split("test")
    fam, out = family_rows(model, x, y, info, command)
    write_csv_atomic(FAMILY_CSV, FAMILY_FIELDS, fam)
    base = baseline_rows(model, x, y, out, command)
    write_csv_atomic(BASELINE_CSV, BASELINE_FIELDS, base)
    plot(fam, base, model.backbone.num_layers)
    for r in fam + base:
        print({k: r[k] for k in r if k != "command"}, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
