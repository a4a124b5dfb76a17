"""Benchmarks NeuMeta: accuracy of sampled CNNs at every width.

Usage (what `make bench` runs):

    KERAS_BACKEND=jax python scripts/bench_neumeta.py [--ablations]

For each hidden width (seen in training: every width 4..16; unseen:
2 and 3) and each method, the test accuracy on the 540 digits test
split:

- `neumeta_k20`: the network sampled from the `neumeta_cnn_digits`
  weight field, 20 noisy coordinate samples averaged;
- `neumeta_k1`: the same on clean coordinates (one sample);
- `pruning`: the preset's stored (permuted) trained width-16 CNN pruned
  to the width by structured L1 magnitude, no fine-tuning;
- `scratch`: the plain CNN of that width trained from scratch (150
  epochs, Adam 3e-3, batch 32, seed 0: the recipe's references);
- with `--ablations`: `neumeta_no_permutation_k20` and
  `neumeta_no_noise_k1`, weight fields retrained by the preset's recipe
  without the channel permutation or without coordinate noise.

Compression = share of hidden channels removed from width 16.

Writes `scripts/results/results-neumeta.csv` and
`scripts/results/neumeta.png` (accuracy against width).
"""

import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402

import zoo  # noqa: E402
from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import run_command  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from scripts._bench_common import write_plot  # noqa: E402
from zoo.data import load_digits  # noqa: E402
from zoo.neumeta import neumeta_presets as P  # noqa: E402
from zoo.neumeta.neumeta_cnn import accuracy  # noqa: E402
from zoo.neumeta.neumeta_cnn import build_plain_cnn  # noqa: E402
from zoo.neumeta.neumeta_cnn import num_cnn_params  # noqa: E402
from zoo.neumeta.neumeta_cnn import prune_cnn  # noqa: E402
from zoo.neumeta.neumeta_training import train_neumeta  # noqa: E402

WIDTHS = (2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 14, 16)
COLUMNS = ("model", "method", "width", "compression_pct",
           "seen_in_training", "param_count", "param_share", "dataset",
           "split", "top1", "top1_err", "num_samples", "epochs", "seed",
           "backend", "precision", "cpu", "command")


def _row(method, width, acc, num_samples, epochs, command, seed):
    params = num_cnn_params(width)
    seen = (P.MIN_WIDTH <= width <= P.MAX_WIDTH
            and (width - P.MIN_WIDTH) % P.WIDTH_STEP == 0)
    return {
        "model": P.PRESET_NAME, "method": method, "width": width,
        "compression_pct": round(100 * (1 - width / P.MAX_WIDTH), 2),
        "seen_in_training": seen if method.startswith("neumeta") else "",
        "param_count": params,
        "param_share": round(params / num_cnn_params(P.MAX_WIDTH), 4),
        "dataset": "digits", "split": "test",
        "top1": round(100 * acc, 2), "top1_err": round(100 * (1 - acc), 2),
        "num_samples": num_samples, "epochs": epochs, "seed": seed,
        "backend": keras.backend.backend(), "precision": "float32",
        "cpu": cpu_model(), "command": command,
    }


def _field_rows(model, method, k, widths, x, y, command, seed):
    rows = []
    for width in widths:
        net = model.backbone.sample_network(width, num_samples=k)
        rows.append(_row(method, width, accuracy(net, x, y), k,
                         P.NEUMETA_EPOCHS, command, seed))
    return rows


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["width"], r["top1"]) for r in rows
                     if r["method"] == method)
        ax.plot(*zip(*pts), marker="o", label=method)
    for c in P.COMPRESSIONS:
        ax.axvline(P.width_at(c), color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("hidden width (16 = uncompressed; 4 = 75 % of channels "
                  "removed)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("NeuMeta digits CNN: accuracy against width")
    ax.legend(fontsize=8)
    write_plot(fig, path)


def main() -> int:
    """Runs the benchmark; writes the CSV and the PNG."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=P.PRESET_NAME)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ablations", action="store_true")
    parser.add_argument("--scratch-epochs", type=int,
                        default=P.REFERENCE_EPOCHS)
    args = parser.parse_args()
    command = run_command(keras.backend.backend(), "bench_neumeta.py",
                          "--ablations" if args.ablations else "",
                          f"--seed {args.seed}")
    x_train, y_train = load_digits(split="train")
    x, y = load_digits(split="test")
    model = zoo.load(args.preset)
    rows = _field_rows(model, "neumeta_k20", P.NUM_SAMPLES, WIDTHS, x, y,
                       command, args.seed)
    rows += _field_rows(model, "neumeta_k1", 1, WIDTHS, x, y, command,
                        args.seed)
    target = P.target_network_weights(model)
    for width in WIDTHS:
        net = build_plain_cnn(width)
        net.set_weights(prune_cnn(target, width))
        rows.append(_row("pruning", width, accuracy(net, x, y), 1, 0,
                         command, args.seed))
    for width in WIDTHS:
        net = P.train_plain(width, x_train, y_train, seed=args.seed,
                            epochs=args.scratch_epochs)
        rows.append(_row("scratch", width, accuracy(net, x, y), 1,
                         args.scratch_epochs, command, args.seed))
        print(f"scratch width {width}: {rows[-1]['top1']}%", flush=True)
    if args.ablations:
        for method, k, kwargs in (
            ("neumeta_no_permutation_k20", P.NUM_SAMPLES,
             dict(permute=False)),
            ("neumeta_no_noise_k1", 1, dict(coordinate_noise=0.0)),
        ):
            ablated, _, _ = train_neumeta(
                out_dir=tempfile.mkdtemp(prefix="neumeta-ablation-"),
                seed=args.seed, verbose=0, scratch_widths=(), **kwargs)
            rows += _field_rows(ablated, method, k, WIDTHS, x, y, command,
                                args.seed)
    write_csv_atomic(os.path.join(RESULTS, "results-neumeta.csv"), COLUMNS,
                     rows)
    print("wrote", os.path.join(RESULTS, "results-neumeta.csv"))
    _plot(rows, os.path.join(RESULTS, "neumeta.png"))
    for r in rows:
        print(f"{r['method']:>28} w={r['width']:>2}: {r['top1']:6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
