"""Regenerates the measured tables of README.md from scripts/results/.

    python scripts/update_readme.py          # rewrite README.md
    python scripts/update_readme.py --check  # exit 1 if README is stale

Every figure in the README's tables is read from a CSV written by a
training or benchmark script; nothing in them is typed by hand.
"""

import argparse
import csv
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "scripts", "results")
README = os.path.join(ROOT, "README.md")
BEGIN = "<!-- BEGIN GENERATED: {name} (scripts/update_readme.py) -->"
END = "<!-- END GENERATED: {name} -->"


def _rows(name: str) -> list[dict]:
    path = os.path.join(RESULTS, name)
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def models_table() -> str:
    """The model table: test accuracy from results-digits.csv."""
    lines = [
        "| model | preset | dataset (split) | top-1 % | params | "
        "backend / precision | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in _rows("results-digits.csv"):
        preset = r["model"] if r["model"] != "dense_mlp_baseline" else "—"
        lines.append(
            f"| {r['model']} | {preset} | {r['dataset']} ({r['split']}) | "
            f"{float(r['top1']):.2f} | {int(r['param_count']):,} | "
            f"{r['backend']} / {r['precision']} | `{r['command']}` |"
        )
    return "\n".join(lines)


def bench_table() -> str:
    """Training-step times from benchmark-train-hyperdense-cpu.csv."""
    rows = _rows("benchmark-train-hyperdense-cpu.csv")
    lines = [
        "| model | backend | precision | jit | step ms (batch 32) | "
        "x Dense | params |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['backend']} | {r['precision']} | "
            f"{r['jit_compile']} | {float(r['train_step_time']):.3f} | "
            f"{float(r['ratio_vs_dense']):.2f} | "
            f"{int(r['param_count']):,} |"
        )
    if rows:
        lines.append("")
        lines.append(
            f"Machine: {rows[0].get('cpu', '?')}, "
            f"{rows[0].get('num_threads', '?')} threads, "
            f"keras {rows[0].get('keras_version', '?')}, "
            f"{rows[0].get('date', '?')}. Command: "
            "`python scripts/bench_hyperdense.py`."
        )
    return "\n".join(lines)


def gpu_bench_table() -> str:
    """GPU training-step times, all precisions (benchmark-*-h200.csv)."""
    rows = _rows("benchmark-train-hyperdense-h200.csv")
    lines = [
        "| model | backend | precision | step ms (batch 1024) | x Dense "
        "| samples/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['backend']} | {r['precision']} | "
            f"{float(r['train_step_time']):.3f} | "
            f"{float(r['ratio_vs_dense']):.2f} | "
            f"{float(r['train_samples_per_sec']):,.0f} |"
        )
    if rows:
        lines.append("")
        lines.append(
            f"Device: NVIDIA H200 ({rows[0].get('device', '?')}), keras "
            f"{rows[0].get('keras_version', '?')}, {rows[0].get('date')}. "
            "Command, once per precision: `python "
            "scripts/bench_hyperdense.py --backends jax torch --precision P "
            "--batch-size 1024`."
        )
    return "\n".join(lines)


def hyper_cl_table() -> str:
    """Continual learning: the preset and the method comparison."""
    lines = [
        "| model / method | scenario | avg accuracy % | forgetting (pts) "
        "| class-incr. % | params | hypernet / target | backend | command |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in _rows("results-hyper-cl-preset.csv"):
        lines.append(
            f"| **{r['model']}** (preset) | permuted (10 tasks) | "
            f"{100 * float(r['average_accuracy']):.2f} | "
            f"{100 * float(r['forgetting']):.2f} | "
            f"{100 * float(r['class_incremental_accuracy']):.2f} | "
            f"{int(r['param_count']):,} | "
            f"{float(r['compression_ratio']):.2f} | {r['backend']} | "
            f"`{r['command']}` |"
        )
    for r in _rows("results-hyper-cl.csv"):
        ci = r["class_incremental_accuracy"]
        ratio = r["compression_ratio"]
        lines.append(
            f"| {r['method']} | {r['scenario']} | "
            f"{100 * float(r['average_accuracy']):.2f} | "
            f"{100 * float(r['forgetting']):.2f} | "
            f"{'%.2f' % (100 * float(ci)) if ci else '—'} | "
            f"{int(r['param_count']):,} | "
            f"{'%.2f' % float(ratio) if ratio else '—'} | {r['backend']} | "
            f"`{r['command']}` |"
        )
    return "\n".join(lines)


def hyper_cl_speed_table() -> str:
    """Training-step time of our HMLP against hypnettorch's."""
    rows = _rows("benchmark-train-hyper-cl-cpu.csv")
    lines = [
        "| backend | jit | ours ms | hypnettorch ms | ours / hypnettorch "
        "| params |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['jit_compile']} | "
            f"{float(r['train_step_time']):.2f} | "
            f"{float(r['hypnettorch_step_time']):.2f} | "
            f"{float(r['ratio_vs_hypnettorch']):.2f} | "
            f"{int(r['param_count']):,} |"
        )
    if rows:
        lines.append("")
        lines.append(
            f"Machine: {rows[0].get('cpu', '?')}, keras "
            f"{rows[0].get('keras_version', '?')}, {rows[0].get('date')}. "
            "Command: `python scripts/bench_hyper_cl.py --part speed`."
        )
    return "\n".join(lines)


UNEM_COLUMNS = (
    ("unem_gaussian", "UNEM"),
    ("unem_dirichlet", "UNEM"),
    ("fixed_lambda_em_default", "fixed lambda 75 (default)"),
    ("fixed_lambda_em_val_selected", "fixed lambda (val-selected)"),
    ("fixed_lambda_em_oracle", "fixed lambda (oracle best)"),
    ("nearest_prototype", "nearest prototype"),
    ("inductive_softmax", "inductive softmax"),
)


def unem_table() -> str:
    """UNEM vs baselines per data set and shots (results-unem-fewshot)."""
    rows = _rows("results-unem-fewshot.csv")
    headers = []
    for _, title in UNEM_COLUMNS:
        if title not in headers:
            headers.append(title)
    lines = [
        "| data (meta-test) | shots | " + " | ".join(headers) + " |",
        "|---|---|" + "---|" * len(headers),
    ]
    keys = []
    for r in rows:
        key = (r["dataset"], r["shots"])
        if key not in keys:
            keys.append(key)
    for dataset, shots in keys:
        cells = {}
        for r in rows:
            if (r["dataset"], r["shots"]) != (dataset, shots):
                continue
            for model, title in UNEM_COLUMNS:
                if r["model"] == model:
                    note = r["note"].replace("lambda=", "λ=")
                    value = f"{float(r['top1']):.2f}"
                    if note.startswith("λ=") and "oracle" in title or \
                            note.startswith("λ=") and "val" in title:
                        value += f" ({note})"
                    cells[title] = value
        lines.append(
            f"| {dataset} | {shots} | "
            + " | ".join(cells.get(h, "—") for h in headers) + " |"
        )
    extra = [r for r in rows if r["model"] not in dict(UNEM_COLUMNS)]
    if extra:
        lines.append("")
        for r in extra:
            lines.append(
                f"- {r['model']} ({r['dataset']}, {r['shots']}-shot): "
                f"{float(r['top1']):.2f}%"
                + (f" ({r['note']})" if r["note"] else "")
            )
    if rows:
        lines.append("")
        lines.append(
            f"{rows[0]['num_tasks']} meta-test tasks per row; top-1 % of "
            "the queries, averaged over tasks. Backend "
            f"{rows[0]['backend']}, {rows[0]['precision']}, "
            f"{rows[0]['cpu']}, keras {rows[0]['keras_version']}, "
            f"{rows[0]['date']}. Command: `{rows[0]['command']}`."
        )
    return "\n".join(lines)


def unem_params_table() -> str:
    """Learned per-layer lambda and T (results-unem-learned-params)."""
    rows = _rows("results-unem-learned-params.csv")
    shots = sorted({int(r["shots"]) for r in rows})
    lines = [
        "| layer | " + " | ".join(
            f"λ ({s}-shot) | T ({s}-shot)" for s in shots) + " |",
        "|---|" + "---|---|" * len(shots),
    ]
    layers = sorted({int(r["layer"]) for r in rows})
    for layer in layers:
        cells = []
        for s in shots:
            r = next(r for r in rows if int(r["shots"]) == s
                     and int(r["layer"]) == layer)
            cells += [f"{float(r['lambda']):.2f}",
                      f"{float(r['temperature']):.2f}"]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    if rows:
        scales = ", ".join(
            f"{s}-shot {float(next(r['scale'] for r in rows if int(r['shots']) == s)):.3f}"  # noqa: E501
            for s in shots)
        lines.append("")
        lines.append(f"Learned feature scale: {scales}.")
    return "\n".join(lines)


def cafa_table() -> str:
    """CAFA before/after per shift (results-cafa-digits.csv)."""
    rows = _rows("results-cafa-digits.csv")
    methods = ["source", "bn_adapt", "tent", "cafa"]
    titles = ["no adaptation", "test-batch BN stats", "TENT (entropy)",
              "CAFA"]
    lines = [
        "| shift (540 test digits) | " + " | ".join(titles) + " |",
        "|---|" + "---|" * len(titles),
    ]
    for shift in [r["shift"] for r in rows if r["method"] == "source"]:
        cells = []
        for m in methods:
            r = next((r for r in rows if r["shift"] == shift
                      and r["method"] == m), None)
            cells.append(f"{float(r['top1']):.2f}" if r else "—")
        lines.append(f"| {shift} | " + " | ".join(cells) + " |")
    if rows:
        lines.append("")
        lines.append(
            f"Preset `cafa_digits_encoder`; TENT and CAFA adapt only the "
            f"BatchNorm scales and shifts for {rows[-1]['adapt_epochs']} "
            f"epochs (batch {rows[-1]['adapt_batch_size']}). Backend "
            f"{rows[0]['backend']}, {rows[0]['date']}. Command: "
            f"`{rows[0]['command']}`."
        )
    return "\n".join(lines)


def terminator_table() -> str:
    """Terminator presets and baselines (results-terminator.csv)."""
    rows = _rows("results-terminator.csv")
    presets = {r["model"] for r in rows if r["model"].startswith(
        "terminator_")}
    lines = [
        "| model | preset | dataset (test split) | top-1 % (batch 1) | "
        "top-1 % (batch 100) | params | epochs | batch | "
        "backend / precision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        preset = r["model"] if r["model"] in presets else "—"
        # Rows written before batch-1 evaluation hold `top1` at batch 100.
        if r.get("top1_batch100"):
            b1, b100 = float(r["top1"]), float(r["top1_batch100"])
            cells = f"{b1:.2f} | {b100:.2f}"
        else:
            cells = f"— | {float(r['top1']):.2f}"
        lines.append(
            f"| {r['model']} | {preset} | {r['dataset']} | {cells} | "
            f"{int(r['param_count']):,} | "
            f"{r['epochs']} | {r['batch_size']} | "
            f"{r['backend']} / {r['precision']} |"
        )
    commands = sorted({r["command"] for r in rows})
    lines.append("")
    lines.append("Commands: " + "; ".join(f"`{c}`" for c in commands)
                 + ". Baseline rows come from the command of their "
                 "dataset's preset (`--baselines-only`: the baselines "
                 "alone, the preset kept) and share its budget (epochs, "
                 "batch 64, Adam with warm-up and cosine decay), except "
                 "the `*_paper_recipe` rows: the MNIST-1D paper's CNN and "
                 "GRU trained with that paper's own loop (Adam at a "
                 "constant 1e-2, batch 100, 6000 steps). Time per epoch: "
                 "the ablation "
                 "table below (the CSV's `sec_per_epoch` is the wall time "
                 "of these runs, with evaluation and checkpoints; the "
                 "MNIST-1D runs shared the CPU with another job). "
                 "Baseline rows without a batch-1 figure were evaluated "
                 "in batches of 100 before batch-1 evaluation existed; "
                 "they hold no batch statistics at inference (BatchNorm "
                 "uses its moving averages), so the figure is the same "
                 "at batch 1.")
    seeds = _rows("benchmark-terminator-seeds.csv")
    # The targets, checked against the rows above.
    targets = (("terminator_1d_mnist1d", "mnist1d", 99.0, 100_000),
               ("terminator_1d_mnist1d_shuffled", "mnist1d_shuffled", 70.0,
                None),
               ("terminator_2d_digits", "digits", 99.3, None))
    checks = []
    for model, dataset, top1, max_params in targets:
        r = next((r for r in rows if (r["model"], r["dataset"])
                  == (model, dataset)), None)
        if r is None:
            continue
        ok = float(r["top1"]) >= top1 and (
            max_params is None or int(r["param_count"]) <= max_params)
        budget = (f" with at most {max_params:,} parameters"
                  if max_params else "")
        runs = [float(r["top1"])] + [
            float(s["top1"]) for s in seeds if s["model"] == model]
        spread = ""
        if len(runs) > 1:
            mean = sum(runs) / len(runs)
            spread = f"; mean over {len(runs)} seeds {mean:.2f} %"
            if mean < top1:
                spread += ", below the target"
        checks.append(
            f"`{model}` >= {top1:.2f} %{budget}: {float(r['top1']):.2f} % "
            f"({int(r['param_count']):,} parameters), "
            + ("met" if ok else "**missed**") + spread
        )
    if checks:
        lines.append("")
        lines.append("Against the issues' targets (test split, batch 1, "
                     "the preset row above): " + "; ".join(checks) + ".")
    for model in sorted({r["model"] for r in seeds}):
        runs = [r for r in seeds if r["model"] == model]
        preset = next((r for r in rows if r["model"] == model), None)
        if preset is not None:
            runs = [dict(preset, seed="0 (the bundled preset)")] + runs
        values = [float(r["top1"]) for r in runs]
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values)
               / max(1, len(values) - 1)) ** 0.5
        commands = sorted({r["command"] for r in runs[1:]})
        lines.append("")
        lines.append(
            f"Run-to-run spread of `{model}`: the same recipe with seeds "
            + ", ".join(str(r["seed"]) for r in runs) + " gives "
            + ", ".join(f"{v:.2f}" for v in values)
            + f" % (mean {mean:.2f} ± {std:.2f} %, sample std over "
            f"{len(values)} runs); "
            + "; ".join(f"`{c}`" for c in commands) + "."
        )
    return "\n".join(lines)


def terminator_ablation_table() -> str:
    """Ablations (benchmark-terminator-ablation.csv)."""
    rows = _rows("benchmark-terminator-ablation.csv")
    acc = {r["model"]: r for r in rows if r["part"] == "accuracy"}
    speed = [r for r in rows if r["part"] == "speed"]
    backends = sorted({r["backend"] for r in speed})
    names = list(acc) or sorted({r["model"] for r in speed})
    lines = [
        "| variant | top-1 % | params | "
        + " | ".join(f"s / epoch ({b})" for b in backends) + " |",
        "|---|---|---|" + "---|" * len(backends),
    ]
    for n in names:
        a = acc.get(n, {})
        cells = []
        for b in backends:
            r = next((r for r in speed if r["model"] == n
                      and r["backend"] == b), None)
            cells.append(f"{float(r['sec_per_epoch']):.2f}" if r else "—")
        top1 = f"{float(a['top1']):.2f}" if a.get("top1") else "—"
        params = a.get("param_count") or next(
            (r["param_count"] for r in speed if r["model"] == n), "0")
        lines.append(f"| {n} | {top1} | {int(params):,} | "
                     + " | ".join(cells) + " |")
    if acc:
        r = next(iter(acc.values()))
        lines.append("")
        lines.append(
            f"Accuracy: {r['dataset']}, {r['epochs']} epochs, one seed, "
            f"{r['backend']} ({r['cpu']}, {r['num_threads']} threads), "
            f"`{r['command']}`. Speed: one timed epoch after a warm-up "
            "epoch, float32, `KERAS_BACKEND=<backend> python "
            "scripts/bench_terminator.py --part speed`."
        )
    return "\n".join(lines)


def hub_load_table() -> str:
    """Demo hub under load (benchmark-hub-load.csv)."""
    rows = _rows("benchmark-hub-load.csv")
    lines = [
        "| queue size / running | tab (alone s) | clients | requests | "
        "errors | p50 s | p99 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['queue_max_size']} / {r['concurrency']} | {r['tab']} "
            f"({float(r['alone_s']):.2f}) | {r['clients']} | "
            f"{r['requests']} | {r['errors']} | {float(r['p50_s']):.2f} | "
            f"{float(r['p99_s']):.2f} |"
        )
    if rows:
        r = rows[0]
        lines.append("")
        lines.append(
            f"{float(r['duration_s']):.0f} s per row, {r['models']} presets, "
            f"clients on the same {r['cpus']}-core {r['machine']} CPU as "
            f"the server, backend {r['backend']}, {r['date']}. Command: "
            "`python scripts/bench_hub_load.py --duration 20 --queue 64:2 "
            "--queue 16:2` (queue 16 was the previous setting)."
        )
    return "\n".join(lines)


def forecasting_table() -> str:
    """Forecasting presets (results-forecasting.csv)."""
    rows = _rows("results-forecasting.csv")
    lines = [
        "| preset | system | VPT (Lyapunov times) | NRMSE at 1 Lyapunov "
        "time | spectrum error dB | params | steps | backend / precision |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['dataset']} | "
            f"{float(r['vpt_lyapunov']):.2f} ± "
            f"{float(r['vpt_lyapunov_std']):.2f} | "
            f"{float(r['nrmse_1_lyapunov']):.3f} | "
            f"{float(r['power_spectrum_error_db']):.2f} | "
            f"{int(r['param_count']):,} | {r['steps']} | "
            f"{r['backend']} / {r['precision']} |"
        )
    commands = sorted({r["command"] for r in rows})
    lines.append("")
    lines.append(
        "Mean ± std over the "
        + (rows[0]["num_ics"] if rows else "?")
        + " test initial conditions. Commands: "
        + "; ".join(f"`{c}`" for c in commands) + "."
    )
    return "\n".join(lines)


def forecasting_ablation_table() -> str:
    """Forecasting ablation (benchmark-forecasting-ablation.csv)."""
    rows = _rows("benchmark-forecasting-ablation.csv")
    systems = []
    for r in rows:
        if r["dataset"] not in systems:
            systems.append(r["dataset"])
    names = []
    for r in rows:
        if r["model"] not in names:
            names.append(r["model"])
    lines = [
        "| variant | " + " | ".join(
            f"{s}: VPT (params)" for s in systems) + " |",
        "|---|" + "---|" * len(systems),
    ]
    for n in names:
        cells = []
        for s in systems:
            r = next((r for r in rows if r["model"] == n
                      and r["dataset"] == s), None)
            cells.append(
                f"{float(r['vpt_lyapunov']):.2f} ± "
                f"{float(r['vpt_lyapunov_std']):.2f} "
                f"({int(r['param_count']):,})" if r else "—"
            )
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    if rows:
        r = rows[0]
        lines.append("")
        lines.append(
            f"Valid prediction time in Lyapunov times, mean ± std over "
            f"{r['num_ics']} test initial conditions; about "
            f"{int(r['target_params']):,} parameters per model (width "
            f"matched per variant), {r['steps']} Adam steps of batch "
            f"{r['train_batch_size']} (sequences of {r['context_length']} "
            f"steps) for every model; one seed, {r['backend']} "
            f"({r['cpu']}, {r['num_threads']} threads), `{r['command']}`."
        )
        for s in systems:
            best = max((x for x in rows if x["dataset"] == s),
                       key=lambda x: float(x["vpt_lyapunov"]))
            lstm = next((x for x in rows if x["dataset"] == s
                         and x["model"] == "lstm"), None)
            rhn = next((x for x in rows if x["dataset"] == s
                        and x["model"] == "rhn+attention+gating"), None)
            ratio = ""
            if lstm and rhn and float(lstm["vpt_lyapunov"]) > 0:
                q = float(rhn["vpt_lyapunov"]) / float(lstm["vpt_lyapunov"])
                ratio = f"; rhn+attention+gating / lstm = {q:.2f}"
            lines.append("")
            lines.append(f"{s}: best `{best['model']}`{ratio}.")
    return "\n".join(lines)


def token_exit_table() -> str:
    """DyVTE preset and per-question results (results-token-exit.csv,
    benchmark-token-exit.csv)."""
    lines = [
        "| preset | test questions | top-1 % full | top-1 % exit | "
        "FLOPs saved | mean exit layer | threshold | params (routers) | "
        "backend / precision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = _rows("results-token-exit.csv")
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['dataset']} ({r['split']}) | "
            f"{float(r['top1']):.2f} | {float(r['top1_exit']):.2f} | "
            f"{100 * float(r['flops_saved']):.1f} % | "
            f"{float(r['mean_exit_layer']):.2f} | {r['threshold']} | "
            f"{int(r['param_count']):,} ({int(r['router_param_count']):,}) "
            f"| {r['backend']} / {r['precision']} |"
        )
    if rows:
        lines.append("")
        lines.append(f"Command: `{rows[0]['command']}` "
                     f"({float(rows[0]['seconds']):.0f} s on 2 CPU threads, "
                     "both stages, threshold choice and test evaluation).")
    per = _rows("benchmark-token-exit.csv")
    if per:
        lines += [
            "",
            "| question type | questions | top-1 % full | top-1 % exit | "
            "drop (points) | mean exit layer | FLOPs saved | exits per "
            "layer 0..L-1 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in per:
            lines.append(
                f"| {r['question_type']} | {r['num_examples']} | "
                f"{float(r['top1_full']):.2f} | {float(r['top1_exit']):.2f}"
                f" | {float(r['top1_drop']):.2f} | "
                f"{float(r['mean_exit_layer']):.2f} | "
                f"{100 * float(r['flops_saved']):.1f} % | "
                f"{r['exit_histogram']} |"
            )
        lines.append("")
        lines.append(f"Command: `{per[0]['command']}`.")
    return "\n".join(lines)


def token_exit_baselines_table() -> str:
    """Static exits, FastV and batch-1 latency (benchmark-token-exit-*)."""
    rows = _rows("benchmark-token-exit-baselines.csv")
    lines = [
        "| method | exit layer | top-1 % | drop (points) | FLOPs saved |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['exit_layer'] or '—'} | "
            f"{float(r['top1']):.2f} | {float(r['top1_drop']):.2f} | "
            f"{100 * float(r['flops_saved']):.1f} % |"
        )
    lat = _rows("benchmark-token-exit-latency.csv")
    if lat:
        lines += [
            "",
            "| backend | execution | batch-1 prefill ms, full | ms, with "
            "exit | speed-up | mean exit layer | FLOPs saved |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in lat:
            lines.append(
                f"| {r['backend']} | {r.get('execution') or 'eager'} | "
                f"{float(r['full_ms']):.2f} | "
                f"{float(r['exit_ms']):.2f} | {float(r['speedup']):.2f}x | "
                f"{float(r['mean_exit_layer']):.2f} | "
                f"{100 * float(r['flops_saved']):.1f} % |"
            )
        r = lat[0]
        lines.append("")
        lines.append(
            f"Latency: {r['num_questions']} test questions one at a time, "
            f"median of {r['repeats']} interleaved repeats, physical "
            "removal of the image tokens; eager = `prefill_with_exit`, "
            "compiled = the same algorithm from per-layer `jax.jit` / "
            "`tf.function(jit_compile=True)` functions (none on torch), "
            f"the same execution for both paths; {r['cpu']}, "
            f"{r['threads']} threads, keras {r['keras']}, {r['date']}; "
            "`KERAS_BACKEND=<backend> python scripts/bench_token_exit.py "
            "--part latency`, one backend per run.")
    if rows:
        lines.append("")
        lines.append(f"Baselines: `{rows[0]['command']}`.")
    return "\n".join(lines)


BLOCKS = {
    "unem": unem_table,
    "unem_params": unem_params_table,
    "cafa": cafa_table,
    "terminator": terminator_table,
    "terminator_ablation": terminator_ablation_table,
    "forecasting": forecasting_table,
    "forecasting_ablation": forecasting_ablation_table,
    "token_exit": token_exit_table,
    "token_exit_baselines": token_exit_baselines_table,
    "hyper_cl": hyper_cl_table,
    "hyper_cl_speed": hyper_cl_speed_table,
    "models": models_table,
    "bench": bench_table,
    "bench_gpu": gpu_bench_table,
    "hub_load": hub_load_table,
}


def render(text: str) -> str:
    """Replaces every generated block of `text` with fresh content."""
    for name, fn in BLOCKS.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        if begin not in text or end not in text:
            raise ValueError(f"README.md lacks the markers of {name!r}")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{fn()}\n{end}{tail}"
    return text


def main() -> int:
    """Rewrites README.md, or checks it with --check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with open(README) as f:
        text = f.read()
    new = render(text)
    if args.check:
        if new != text:
            print("README.md is stale: run python scripts/update_readme.py")
            return 1
        return 0
    fd, tmp = tempfile.mkstemp(dir=ROOT, suffix=".md.tmp")
    with os.fdopen(fd, "w") as f:
        f.write(new)
    os.replace(tmp, README)
    return 0


if __name__ == "__main__":
    sys.exit(main())
