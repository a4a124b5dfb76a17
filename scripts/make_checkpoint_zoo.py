"""Builds the D2NWG checkpoint zoo (few-shot MLPs) into the data cache.

Usage:

    python scripts/make_checkpoint_zoo.py [--seed 0] [--limit N] [--rebuild]

Trains the checkpoints of `zoo.data.checkpoint_zoo` (5-way MLPs on digit
class subsets and on MNIST-1D; all MLPs of a group at once, batched
numpy einsum + Adam) and caches them as one compressed `.npz` plus a JSON
manifest under the data cache (`HYPERZOO_DATA_CACHE`). Reproducible from
the seed. `--rebuild` deletes the cached zoo first (so the build time is
measured). Writes `scripts/results/results-d2nwg-zoo.csv`: one row per
group (data set, architecture) with the count and test accuracies, and
the build time.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402
from zoo.data._cache import cache_path  # noqa: E402
from zoo.data.checkpoint_zoo import _cache_params  # noqa: E402
from zoo.data.checkpoint_zoo import build_checkpoint_zoo  # noqa: E402

FIELDS = ["dataset", "architecture", "num_checkpoints", "top1_mean",
          "top1_min", "top1_max", "build_seconds", "cached", "seed",
          "backend", "precision", "cpu", "num_cpus", "date", "command"]


def main():
    """Builds the zoo and writes its summary CSV."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    path = cache_path("checkpoint_zoo", _cache_params(args.seed, args.limit))
    cached = os.path.exists(path)
    if args.rebuild and cached:
        os.remove(path)
        cached = False
    start = time.perf_counter()
    data = build_checkpoint_zoo(seed=args.seed, limit=args.limit)
    seconds = time.perf_counter() - start
    command = " ".join(["python scripts/make_checkpoint_zoo.py",
                        f"--seed {args.seed}"]
                       + ([f"--limit {args.limit}"] if args.limit else [])
                       + (["--rebuild"] if args.rebuild else []))
    groups = {}
    for r in data["manifest"]:
        groups.setdefault((r["dataset"], r["architecture"]), []).append(
            100 * r["accuracy"])
    rows = [{"dataset": ds, "architecture": arch, "num_checkpoints": len(a),
             "top1_mean": round(float(np.mean(a)), 2),
             "top1_min": round(float(np.min(a)), 2),
             "top1_max": round(float(np.max(a)), 2),
             "build_seconds": round(seconds, 1), "cached": cached,
             "seed": args.seed, "backend": "numpy", "precision": "float64",
             "cpu": cpu_model(), "num_cpus": usable_cpus(), "date": today(),
             "command": command}
            for (ds, arch), a in groups.items()]
    write_csv_atomic(os.path.join(RESULTS, "results-d2nwg-zoo.csv"), FIELDS,
                     rows)
    for r in rows:
        print(f"{r['dataset']:>8} {r['architecture']:>14}: "
              f"{r['num_checkpoints']} checkpoints, test top-1 mean "
              f"{r['top1_mean']} (min {r['top1_min']})")
    print(f"{len(data['params'])} checkpoints in {seconds:.1f} s")
    print(f"zoo: {path}\nmanifest: {path[:-4]}.json")


if __name__ == "__main__":
    main()
