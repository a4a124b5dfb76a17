"""Benchmarks the DyVTE preset `token_exit_vlm_digits`.

Usage:

    KERAS_BACKEND=jax python scripts/bench_token_exit.py --part accuracy
    KERAS_BACKEND=jax python scripts/bench_token_exit.py --part latency
    KERAS_BACKEND=torch python scripts/bench_token_exit.py --part latency
    KERAS_BACKEND=tensorflow python scripts/bench_token_exit.py \
        --part latency
    KERAS_BACKEND=jax python scripts/bench_token_exit.py --part latency \
        --preset token_exit_vlm_scenes

`accuracy` (test split, 540 images x 4 questions; the preset's threshold):
- per question type: accuracy of the full and the exited model, mean exit
  layer, FLOPs saved and the histogram of exit layers
  (`benchmark-token-exit.csv`);
- baselines: static exit after every layer k (`-1` = no image at all) and
  FastV-style pruning of the half of the image tokens that receive the
  least attention from the last token in layer 1, from layer 2 on
  (`benchmark-token-exit-baselines.csv`);
- a PNG (`token-exit.png`): accuracy vs FLOPs saved, exit histograms.

`latency` (one backend and preset per run, `--preset`, default
`token_exit_vlm_digits`; rows of other backends or presets kept): batch-1
prefill with the physical-removal path on test questions, full model vs
dynamic exit (preset threshold), interleaved, median of the repeats
(`benchmark-token-exit-latency.csv`), in three executions:
- `eager`: `TokenExitVLMBackbone.prefill_with_exit` for both (full:
  threshold 1, the routers never fire; every op dispatched from Python,
  on tiny models dispatch overhead dominates);
- `compiled` (JAX `jax.jit`, TensorFlow `tf.function(jit_compile=True)`;
  not run on torch, where it would be eager): the full model as ONE
  compiled function (no routers) vs `token_exit_fast.CompiledPrefill`
  (fused): one compiled call whose nested conditionals run layer +
  router on the full sequence until the first router fires, then the
  tail of that exit layer on the short sequence (kept position ids);
  what `zoo eval` reports as `prefill_speedup_batch1`;
- `compiled_split`: the same in two calls (the conditionals stop at
  the exit, then the compiled tail of that exit layer);
- `compiled_steps`: one compiled call per full-length layer + router
  with a host read of `p(exit)`, then the tail.
Compare ratios, not absolute times. FLOPs are analytic
(`TokenExitVLMBackbone.prefill_flops`).
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import median  # noqa: E402
from scripts._bench_common import read_csv_rows  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import save_figure_atomic  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.data.digits_vqa import QUESTION_TYPES  # noqa: E402
from zoo.data.digits_vqa import make_vqa  # noqa: E402
from zoo.token_exit.token_exit_eval import exit_logits  # noqa: E402
from zoo.token_exit.token_exit_eval import flops_saved  # noqa: E402
from zoo.token_exit.token_exit_presets import PRESET_NAME  # noqa: E402

PER_TYPE_CSV = os.path.join(RESULTS, "benchmark-token-exit.csv")
BASELINE_CSV = os.path.join(RESULTS, "benchmark-token-exit-baselines.csv")
LATENCY_CSV = os.path.join(RESULTS, "benchmark-token-exit-latency.csv")
PNG = os.path.join(RESULTS, "token-exit.png")
PRESET = PRESET_NAME
PER_TYPE_FIELDS = ("model", "question_type", "num_examples", "top1_full",
                   "top1_exit", "top1_drop", "mean_exit_layer",
                   "flops_saved", "exit_histogram", "threshold", "backend",
                   "precision", "command")
BASELINE_FIELDS = ("model", "method", "exit_layer", "top1", "top1_drop",
                   "flops_saved", "backend", "precision", "command")
LATENCY_FIELDS = ("model", "backend", "execution", "precision",
                  "batch_size",
                  "num_questions", "repeats", "full_ms", "exit_ms",
                  "speedup", "mean_exit_layer", "flops_saved", "cpu",
                  "threads", "keras", "date", "command")


def _pct(v):
    return round(100 * float(v), 2) + 0.0  # no "-0.0"


def per_type(model, x, y, info, command):
    """Rows of the per-question-type table."""
    out = model.predict_with_exit(x)
    last = model.backbone.num_layers
    rows = []
    groups = [(t, info["qtype"] == i)
              for i, t in enumerate(QUESTION_TYPES)]
    groups.append(("all", np.ones(len(y), bool)))
    for name, sel in groups:
        full = np.mean(out["full_logits"][sel].argmax(-1) == y[sel])
        ex = np.mean(out["logits"][sel].argmax(-1) == y[sel])
        k = out["exit_layers"][sel]
        hist = np.bincount(k + 1, minlength=last + 1)[1:]
        rows.append({
            "model": PRESET, "question_type": name,
            "num_examples": int(sel.sum()),
            "top1_full": _pct(full), "top1_exit": _pct(ex),
            "top1_drop": _pct(full - ex),
            "mean_exit_layer": round(float(k.mean()), 3),
            "flops_saved": round(flops_saved(model.backbone, k), 4),
            "exit_histogram": " ".join(str(int(c)) for c in hist),
            "threshold": model.exit_threshold,
            "backend": keras.backend.backend(), "precision": "float32",
            "command": command,
        })
    return rows, out


def fastv_logits(model, x, prune_layer=2, keep_ratio=0.5, batch_size=256):
    """FastV-style pruning as a key mask (static shapes).

    At layer `prune_layer - 1` the attention that the last token pays to
    each image token (mean over heads) ranks them; the lowest
    `1 - keep_ratio` are masked as keys from layer `prune_layer` on.
    """
    b = model.backbone
    start, m = b.num_prefix_tokens, b.num_image_tokens
    keep = int(round(keep_ratio * m))
    outs = []
    for s in range(0, len(x["images"]), batch_size):
        images = ops.convert_to_tensor(x["images"][s:s + batch_size])
        tokens = ops.convert_to_tensor(x["token_ids"][s:s + batch_size])
        h = b.embed(images, tokens)
        mask = None
        for i, layer in enumerate(b.transformer_layers):
            if i == prune_layer - 1:
                probs = ops.convert_to_numpy(layer.attention_probs(h))
                score = probs[:, :, -1, start:start + m].mean(axis=1)
                order = np.argsort(-score, axis=1)
                img_keep = np.zeros_like(score, bool)
                np.put_along_axis(img_keep, order[:, :keep], True, axis=1)
                mask = np.ones((len(score), b.sequence_length), bool)
                mask[:, start:start + m] = img_keep
            use = mask if (mask is not None and i >= prune_layer) else None
            h = layer(h, key_mask=use)
        h = b.final_norm(h)
        outs.append(ops.convert_to_numpy(
            ops.cast(model.answer_head(h[:, -1]), "float32")))
    return np.concatenate(outs)


def fastv_flops_saved(b, prune_layer=2, keep_ratio=0.5):
    t, m = b.sequence_length, b.num_image_tokens
    pruned = t - m + int(round(keep_ratio * m))
    flops = (prune_layer * b.layer_flops(t)
             + (b.num_layers - prune_layer) * b.layer_flops(pruned))
    return 1.0 - flops / (b.num_layers * b.layer_flops(t))


def baselines(model, x, y, full_acc, command, dynamic):
    """Static exits at every layer, FastV, and the dynamic exit."""
    b = model.backbone
    rows = []
    common = {"model": PRESET, "backend": keras.backend.backend(),
              "precision": "float32", "command": command}
    for k in range(-1, b.num_layers):
        acc = np.mean(exit_logits(model, x, k).argmax(-1) == y)
        rows.append(dict(common, method="static_exit", exit_layer=k,
                         top1=_pct(acc), top1_drop=_pct(full_acc - acc),
                         flops_saved=round(flops_saved(
                             b, np.full(len(y), k), router_calls=False), 4)))
    acc = np.mean(fastv_logits(model, x).argmax(-1) == y)
    rows.append(dict(common, method="fastv_half_at_layer2", exit_layer="",
                     top1=_pct(acc), top1_drop=_pct(full_acc - acc),
                     flops_saved=round(fastv_flops_saved(b), 4)))
    rows.append(dict(common, method="dyvte_router", exit_layer="",
                     top1=_pct(dynamic["top1_exit"] / 100),
                     top1_drop=dynamic["top1_drop"],
                     flops_saved=dynamic["flops_saved"]))
    return rows


def plot(per_type_rows, baseline_rows, num_layers):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 2, 1)
    static = [r for r in baseline_rows if r["method"] == "static_exit"]
    ax.plot([r["flops_saved"] for r in static], [r["top1"] for r in static],
            "o-", color="#6baed6", label="static exit after layer k")
    for r in static:
        ax.annotate(str(r["exit_layer"]), (r["flops_saved"], r["top1"]),
                    fontsize=7, xytext=(3, 3), textcoords="offset points")
    for r, marker, colour in (
        ([r for r in baseline_rows if r["method"] == "fastv_half_at_layer2"][
            0], "s", "#31a354"),
        ([r for r in baseline_rows if r["method"] == "dyvte_router"][0],
         "*", "#cb181d"),
    ):
        ax.plot([r["flops_saved"]], [r["top1"]], marker, color=colour,
                markersize=10, label=r["method"])
    ax.set_xlabel("decoder FLOPs saved (analytic)")
    ax.set_ylabel("test accuracy %")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    types = [r for r in per_type_rows if r["question_type"] != "all"]
    width = 0.8 / len(types)
    for i, r in enumerate(types):
        hist = np.array([int(c) for c in r["exit_histogram"].split()])
        ax.bar(np.arange(num_layers) + i * width, hist / hist.sum(), width,
               label=f"{r['question_type']} (mean {r['mean_exit_layer']})")
    ax.set_xlabel(f"exit layer ({num_layers - 1} = no exit)")
    ax.set_ylabel("share of test questions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, PNG)


COMPILED = {"compiled": "fused", "compiled_split": "split",
            "compiled_steps": "steps"}


def latency(model, x, num, repeats, command, execution="eager",
            preset=PRESET):
    """One row of the latency table (see the module docstring)."""
    from zoo.token_exit.token_exit_fast import measure_prefill_speedup

    b = model.backbone
    common = {
        "model": preset, "backend": keras.backend.backend(),
        "execution": execution, "precision": "float32", "batch_size": 1,
        "num_questions": num, "repeats": repeats,
    }
    if execution in COMPILED:
        if keras.backend.backend() == "torch":
            return None  # `CompiledPrefill` is eager on torch.
        out = measure_prefill_speedup(model, x, num, repeats,
                                      execution=COMPILED[execution])
        exits = out["exit_layers"]
        full_ms, exit_ms = out["full_ms"], out["exit_ms"]
    else:
        singles = [
            {"images": ops.convert_to_tensor(x["images"][i:i + 1]),
             "token_ids": ops.convert_to_tensor(x["token_ids"][i:i + 1])}
            for i in range(num)]

        def run(inp, threshold):
            out = b.prefill_with_exit(inp, threshold)
            logits = model.answer_head(out["hidden_states"][:, -1])
            ops.convert_to_numpy(logits)
            return out["exit_layer"]

        exits = [run(s, model.exit_threshold) for s in singles]  # warm-up
        for s in singles:
            run(s, 1.0)
        full_t, exit_t = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for s in singles:
                run(s, 1.0)
            t1 = time.perf_counter()
            for s in singles:
                run(s, model.exit_threshold)
            t2 = time.perf_counter()
            full_t.append((t1 - t0) / num)
            exit_t.append((t2 - t1) / num)
        full_ms, exit_ms = 1000 * median(full_t), 1000 * median(exit_t)
    return dict(common, **{
        "full_ms": round(full_ms, 3),
        "exit_ms": round(exit_ms, 3), "speedup": round(full_ms / exit_ms, 3),
        "mean_exit_layer": round(float(np.mean(exits)), 3),
        "flops_saved": round(flops_saved(b, exits), 4),
        "cpu": cpu_model(), "threads": usable_cpus(),
        "keras": keras.__version__, "date": today(), "command": command,
    })


def test_questions(preset):
    """`(x, y, info)` of the preset's test split."""
    if preset == PRESET:
        return make_vqa("test", seed=0)
    from zoo.token_exit.token_exit_scenes import scenes_split

    return scenes_split("test")


def main():
    """Runs the chosen part and writes its CSVs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("accuracy", "latency"),
                        required=True)
    parser.add_argument("--num-questions", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--preset", default=PRESET,
                        help="preset of the latency part")
    args = parser.parse_args()
    backend = keras.backend.backend()
    if args.part == "accuracy" and args.preset != PRESET:
        parser.error(f"--part accuracy runs on {PRESET} only (the scenes "
                     "preset: scripts/bench_token_exit_scenes.py)")
    extra = "" if args.preset == PRESET else f" --preset {args.preset}"
    command = run_command(backend, "bench_token_exit.py",
                          f"--part {args.part}{extra}")
    model = zoo.load(args.preset)
    x, y, info = test_questions(args.preset)
    if args.part == "accuracy":
        rows, _ = per_type(model, x, y, info, command)
        write_csv_atomic(PER_TYPE_CSV, PER_TYPE_FIELDS, rows)
        dynamic = [r for r in rows if r["question_type"] == "all"][0]
        base = baselines(model, x, y, dynamic["top1_full"] / 100, command,
                         dynamic)
        write_csv_atomic(BASELINE_CSV, BASELINE_FIELDS, base)
        plot(rows, base, model.backbone.num_layers)
        for r in rows + base:
            print(r)
        return 0
    # Latency: a spread of question types (every 4th question is one).
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(y))[:args.num_questions]
    sub = {k: v[pick] for k, v in x.items()}
    new = [latency(model, sub, args.num_questions, args.repeats, command,
                   execution, args.preset)
           for execution in ("eager", *COMPILED)]
    new = [r for r in new if r is not None]
    kept = [r for r in read_csv_rows(LATENCY_CSV)
            if (r["backend"], r["model"]) != (backend, args.preset)
            and r.get("execution")]
    order = {"tensorflow": 0, "jax": 1, "torch": 2}
    executions = {e: i for i, e in enumerate(("eager", *COMPILED))}
    rows = sorted(kept + new, key=lambda r: (
        r["model"] != PRESET, r["model"], order.get(r["backend"], 9),
        executions.get(r["execution"], 9)))
    write_csv_atomic(LATENCY_CSV, LATENCY_FIELDS, rows)
    for r in new:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
