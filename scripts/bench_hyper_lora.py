"""HyperLoRA benchmark: personalisation to unseen writers, accuracy/time.

Usage (what `make bench` runs; needs the `hyper_lora_digits_writers`
preset):

    KERAS_BACKEND=jax python scripts/bench_hyper_lora.py

Loads the bundled preset and, for each of the 30 unseen writers (5
labelled support digits, the other 535 test digits as queries, all in
the writer's style), measures the accuracy and the wall time per subject
of: the frozen base; HyperLoRA (one forward pass of the set encoder and
hypernetwork); predicted-then-tuned (10 Adam steps from the generated
adapter, HyperDreamBooth style); per-subject LoRA fine-tuning of the same
adapter (same targets and rank, LoRA init) on the 5 support digits,
recorded after 25, 100 and 400 full-batch Adam steps. The Adam learning
rates of both tunings are chosen on the 10 validation writers (digits
val split) from a grid, then fixed for the test writers. Timings
exclude compilation (one warm-up subject).

Writes:
- `scripts/results/results-hyper-lora.csv`: one row per method: mean
  top-1 over the writers, seconds per subject, gain ratio `(acc -
  base) / (tuned100 - base)`, speed-up vs tuned100, the two targets;
- `scripts/results/results-hyper-lora-subjects.csv`: per writer;
- `scripts/results/hyper-lora.png`: accuracy vs seconds per subject.
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
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from zoo.hyper_lora.hyper_lora_classifier import SubjectAdapter  # noqa: E402
from zoo.hyper_lora.hyper_lora_eval import REFINE_STEPS  # noqa: E402
from zoo.hyper_lora.hyper_lora_eval import TUNE_STEPS  # noqa: E402
from zoo.hyper_lora.hyper_lora_eval import evaluate_subjects  # noqa: E402

PRESET = "hyper_lora_digits_writers"
CHECKPOINTS = (25, TUNE_STEPS, 400)
# Zipped: each validation run tries one rate of each grid.
TUNE_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
REFINE_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


def select_learning_rates(model, num_subjects=None):
    """The tuning and refining Adam rates, best on validation writers.

    Args:
        model: `zoo.HyperLoRAClassifier`.
        num_subjects: int or `None` (all 10 validation writers).

    Returns:
        `(tune_lr, refine_lr, table)`: the rates and a list of
        `(tune_lr, tuned_acc, refine_lr, refined_acc)`.
    """
    table = []
    for lr, rlr in zip(TUNE_GRID, REFINE_GRID):
        rows = evaluate_subjects(model, "val", tune_steps=TUNE_STEPS,
                                 refine_steps=REFINE_STEPS,
                                 learning_rate=lr, refine_learning_rate=rlr,
                                 num_subjects=num_subjects)
        table.append((lr, float(np.mean([r["tuned_acc"] for r in rows])),
                      rlr,
                      float(np.mean([r["refined_acc"] for r in rows]))))
    tune_lr = max(table, key=lambda t: t[1])[0]
    refine_lr = max(table, key=lambda t: t[3])[2]
    return tune_lr, refine_lr, table


def main():
    """Runs the benchmark and writes the CSVs and the figure.

    Returns:
        int. The exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=None,
                        help="number of unseen writers (default: all 30)")
    parser.add_argument("--preset", default=PRESET)
    args = parser.parse_args()
    command = run_command(
        keras.backend.backend(), "bench_hyper_lora.py",
        f"--subjects {args.subjects}" if args.subjects else "")
    model = zoo.load(args.preset)
    tune_lr, refine_lr, table = select_learning_rates(model)
    for lr, acc, rlr, racc in table:
        print(f"val: tune lr {lr:g} -> {acc:.4f}; refine lr {rlr:g} -> "
              f"{racc:.4f}")
    rows = evaluate_subjects(model, "test", tune_steps=max(CHECKPOINTS),
                             refine_steps=REFINE_STEPS,
                             learning_rate=tune_lr,
                             refine_learning_rate=refine_lr,
                             tune_checkpoints=CHECKPOINTS,
                             num_subjects=args.subjects)
    write_csv_atomic(
        os.path.join(RESULTS, "results-hyper-lora-subjects.csv"),
        list(rows[0]), [{k: round(v, 5) if isinstance(v, float) else v
                         for k, v in r.items()} for r in rows])
    methods = [("base", "base", 0)]
    methods.append(("hyper_lora", "hyper", 0))
    methods.append((f"hyper_lora_then_tuned_{REFINE_STEPS}", "refined",
                    REFINE_STEPS))
    methods += [(f"lora_tuned_{k}", f"tuned{k}", k) for k in CHECKPOINTS]

    def mean(key):
        return float(np.mean([r[key] for r in rows]))

    base = mean("base_acc")
    ref = f"tuned{TUNE_STEPS}"
    gain = mean(f"{ref}_acc") - base
    ref_seconds = mean(f"{ref}_seconds")
    hyper_params = sum(int(np.prod(w.shape))
                       for w in model.backbone.trainable_weights)
    adapter_params = sum(int(np.prod(w.shape)) for w in
                         SubjectAdapter(model.backbone).weights)
    common = dict(
        dataset="digits-16x16 procedural writers", split="test",
        num_subjects=len(rows), support_size=model.backbone.support_size,
        tune_learning_rate=tune_lr, refine_learning_rate=refine_lr,
        backend=keras.backend.backend(), precision="float32",
        cpu=cpu_model(), command=command)
    out = []
    for name, key, steps in methods:
        acc = mean(f"{key}_acc")
        seconds = mean(f"{key}_seconds") if key != "base" else 0.0
        row = {
            "model": name,
            "top1": round(100 * acc, 2),
            "top1_std_subjects": round(
                100 * float(np.std([r[f"{key}_acc"] for r in rows])), 2),
            "seconds_per_subject": round(seconds, 5),
            "adaptation_steps": steps,
            "gain_ratio_vs_tuned": round((acc - base) / gain, 4)
            if gain else "",
            "speedup_vs_tuned": round(ref_seconds / seconds, 2)
            if seconds else "",
            "param_count": hyper_params if key in ("hyper", "refined")
            else adapter_params if key != "base" else 0,
        }
        row.update(common)
        out.append(row)
    hyper = out[1]
    for r in out:
        r["reference_tuned_steps"] = TUNE_STEPS
        r["target_gain_ge_0.8"] = bool(
            hyper["gain_ratio_vs_tuned"] != ""
            and hyper["gain_ratio_vs_tuned"] >= 0.8)
        r["target_speedup_ge_25"] = bool(
            hyper["speedup_vs_tuned"] != ""
            and hyper["speedup_vs_tuned"] >= 25)
    write_csv_atomic(os.path.join(RESULTS, "results-hyper-lora.csv"),
                     list(out[0]), out)
    _plot(out, os.path.join(RESULTS, "hyper-lora.png"))
    for r in out:
        print(f"{r['model']}: top1 {r['top1']} s/subject "
              f"{r['seconds_per_subject']} gain {r['gain_ratio_vs_tuned']} "
              f"speedup {r['speedup_vs_tuned']}")
    return 0


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for r in rows:
        x = max(r["seconds_per_subject"], 1e-4)
        ax.scatter([x], [r["top1"]], s=30)
        ax.annotate(r["model"], (x, r["top1"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("seconds per subject (base at 1e-4)")
    ax.set_ylabel("top-1 % on unseen writers")
    ax.set_title("HyperLoRA: personalisation from 5 digits")
    ax.grid(alpha=0.3)
    write_plot(fig, path)


if __name__ == "__main__":
    sys.exit(main())
