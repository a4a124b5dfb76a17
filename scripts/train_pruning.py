"""Trains the bundled pruning presets from the dense presets they prune.

Usage (reproducible; seeds fixed):

    KERAS_BACKEND=jax python scripts/train_pruning.py [--only NAME]

Writes, each atomically:
- `zoo/presets/digits_cnn_hesso/` (a dense digits CNN with filters
  (128, 256) trained by the recipe, then HESSO fine-tuning, channels
  removed by `zoo.pruning.build_subnet`);
- `zoo/presets/terminator_2d_digits_globalmp90/` (`terminator_2d_digits`
  pruned one-shot to 90 % sparsity by Global MP with the minimum
  threshold, then fine-tuned with fixed masks);
- `scripts/results/<name>-train-log.csv` (per-epoch logs);
- `scripts/results/results-pruning-presets.csv` (one row per preset: test
  accuracy, parameters and sparsity of the preset and of the dense
  model it comes from, a bundled preset or, for `digits_cnn_hesso`, the
  wide dense CNN its recipe trains; the README's pruning presets
  table).
The test metrics land in each preset's metadata; recompute them with
`python -m zoo eval NAME --json`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import merge_csv_rows  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import train_args  # noqa: E402
from scripts._bench_common import train_named_presets  # noqa: E402
from zoo.pruning.pruning_family import PRESET_NAMES  # noqa: E402


def main() -> int:
    """Trains the presets and copies their training logs."""
    args = train_args(__doc__, "train_pruning-", extra={
        "--only": dict(choices=PRESET_NAMES, default=None)})
    done = train_named_presets("train_pruning.py", PRESET_NAMES, args)
    rows = [_row(name, *result) for name, result in done.items()]
    merge_csv_rows(os.path.join(RESULTS, "results-pruning-presets.csv"),
                   FIELDS, rows, key=lambda r: r["model"],
                   sort_key=lambda r: r["model"])
    return 0


FIELDS = ("model", "base_preset", "dataset", "split", "top1",
          "base_top1", "param_count", "base_param_count", "sparsity",
          "macs", "base_macs", "speedup_cpu",
          "speedup_cpu_predict_on_batch", "train_seconds", "seed",
          "backend", "precision", "cpu", "date", "command")


def _row(name, metrics, seconds, command):
    """One CSV row from a preset's metrics and metadata."""
    import zoo

    meta = zoo.read_metadata(name)
    base = meta.get("base_preset")
    if base:
        base_meta = zoo.read_metadata(base)
        base_top1 = base_meta["metrics"]["accuracy"]
        base_params = base_meta.get("parameter_count")
    else:  # A dense model trained by the recipe itself (HESSO).
        base = "DigitsCNNClassifier(filters=" \
            f"{tuple(meta['dense_filters'])}) (trained in the recipe)"
        base_top1 = meta["dense_accuracy"]
        base_params = meta["dense_parameters"]

    def ratio(key):
        return round(metrics[key], 2) if key in metrics else ""

    return {
        "model": name, "base_preset": base,
        "dataset": meta.get("dataset", ""), "split": "test",
        "top1": round(100 * metrics["accuracy"], 2),
        "base_top1": round(100 * base_top1, 2),
        "param_count": metrics.get("parameters",
                                   meta.get("parameter_count")),
        "base_param_count": base_params,
        "sparsity": round(metrics.get("sparsity", 0.0), 4),
        "macs": metrics.get("macs", ""),
        "base_macs": metrics.get("dense_macs", ""),
        "speedup_cpu": ratio("speedup_cpu"),
        "speedup_cpu_predict_on_batch": ratio(
            "speedup_cpu_predict_on_batch"),
        "train_seconds": round(seconds), "seed": meta.get("seed", 0),
        "backend": meta.get("backend", ""),
        "precision": meta.get("precision", ""), "cpu": cpu_model(),
        "date": today(), "command": command,
    }


if __name__ == "__main__":
    sys.exit(main())
