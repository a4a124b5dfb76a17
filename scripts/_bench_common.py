"""Small helpers shared by the training and benchmark scripts in `scripts/`.

Nothing here imports Keras or a backend at import time (only
`train_preset`, when called, imports `zoo.training`), so the helpers can
be used by a parent process before it chooses a backend for its
children.
"""

import argparse
import csv
import datetime
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "scripts", "results")
PRESETS_DIR = os.path.join(ROOT, "zoo", "presets")


def cpu_model() -> str:
    """Returns the CPU model name (from `/proc/cpuinfo` where available)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cpus() -> int:
    """Returns the number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # Not Linux.
        return os.cpu_count() or 1


def today() -> str:
    """Returns today's date (UTC) as `YYYY-MM-DD`."""
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def median(values: Iterable[float]) -> float:
    """Returns the median of `values` (which must not be empty)."""
    return float(statistics.median(list(values)))


def replace_atomic(path: str, write, suffix: str = "") -> None:
    """Writes the file `path` atomically with `write(tmp)`.

    `write` fills a temporary file in the same directory, which is then
    renamed over `path` with `os.replace`: a reader (or an interrupted
    run) never sees a half-written file. The directory is created if
    needed, and the file gets the usual `0o666 & ~umask` permissions
    rather than the `0o600` of a temporary file.

    Args:
        path: destination file.
        write: callable taking the temporary file's path.
        suffix: suffix of the temporary file's name (e.g. `".png"`, for
            writers that pick the format from the name).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_csv_atomic(
    path: str,
    fieldnames: Sequence[str],
    rows: Iterable[Mapping[str, object]],
) -> None:
    """Writes `rows` as CSV to `path` atomically (see `replace_atomic`).

    Args:
        path: destination file.
        fieldnames: column names, in order; extra keys in a row are an
            error.
        rows: mappings from column name to value.
    """

    def write(tmp):
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(fieldnames))
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())

    replace_atomic(path, write, ".csv")


def read_csv_rows(path: str) -> list[dict]:
    """Returns the rows of the CSV file `path`, or `[]` if there is none.

    Args:
        path: a CSV file with a header line (as `write_csv_atomic`
            writes).

    Returns:
        A list of dicts from column name to str, in file order.
    """
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def merge_csv_rows(path: str, fieldnames: Sequence[str],
                   new_rows: Iterable[Mapping[str, object]], key,
                   sort_key) -> None:
    """Merges `new_rows` into the CSV file `path`, atomically.

    A row of the file whose `key(row)` equals a new row's is replaced by
    it; the other rows stay. The rows are written sorted by `sort_key`.

    Args:
        path: the CSV file (it need not exist yet).
        fieldnames: column names, in order.
        new_rows: mappings from column name to value.
        key: callable, a row's identity (e.g. its model and dataset).
        sort_key: callable, the order of the rows in the file.
    """
    rows = {key(r): r for r in read_csv_rows(path)}
    for r in new_rows:
        rows[key(r)] = r
    write_csv_atomic(path, fieldnames, sorted(rows.values(), key=sort_key))


def save_figure_atomic(fig, path: str, dpi=None) -> None:
    """Saves a matplotlib figure to `path` atomically (`replace_atomic`).

    Args:
        fig: a matplotlib `Figure`.
        path: destination file; its extension gives the format.
        dpi: dots per inch, or `None` for matplotlib's `savefig.dpi`.
    """
    replace_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi),
                   os.path.splitext(path)[1])


def run_command(backend: str, script: str, *options) -> str:
    """The command line that reproduces a run (a CSV's `command` column).

    Args:
        backend: the Keras backend the run used.
        script: the script's file name in `scripts/`.
        *options: the command-line options, in order; empty ones (`""`,
            `None`) are left out.

    Returns:
        `"KERAS_BACKEND=<backend> python scripts/<script> <options>"`.
    """
    return " ".join([f"KERAS_BACKEND={backend}", "python",
                     f"scripts/{script}", *(o for o in options if o)])


def train_args(doc: str, work_prefix: str, presets=None, epochs=None,
               epochs_help=None, out_root=False, out_preset=None,
               extra=None) -> argparse.Namespace:
    """Parses the command line of a training script (`train_*.py`).

    Every script takes `--seed N` (default 0) and `--work-dir DIR` (the
    run directory; default a new temporary directory, which
    `args.work_dir` then holds); the other shared options are asked
    for by the arguments.

    Args:
        doc: the script's docstring; its first line describes the script.
        work_prefix: name prefix of the default temporary run directory.
        presets: names; if given, `--presets NAME ...` (default: all of
            them, sorted).
        epochs: the default of `--epochs N`.
        epochs_help: the help of `--epochs N`; `None` leaves the option
            out.
        out_root: whether to take `--out-root DIR`, where each preset
            goes in a folder of its name (default `zoo/presets/`).
        out_preset: a preset name; if given, `--out DIR`, where that
            preset goes (default `zoo/presets/<out_preset>/`).
        extra: `{flag: add_argument keyword arguments}` of the script's
            own options.

    Returns:
        The parsed `argparse.Namespace`.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if presets is not None:
        parser.add_argument("--presets", nargs="*", default=sorted(presets))
    if epochs_help is not None:
        parser.add_argument("--epochs", type=int, default=epochs,
                            help=epochs_help)
    parser.add_argument("--seed", type=int, default=0)
    for flag, kwargs in (extra or {}).items():
        parser.add_argument(flag, **kwargs)
    if out_root:
        parser.add_argument("--out-root", default=PRESETS_DIR)
    if out_preset is not None:
        parser.add_argument("--out", default=os.path.join(PRESETS_DIR,
                                                          out_preset))
    parser.add_argument("--work-dir", default=None,
                        help="run directory (default: a temp dir)")
    args = parser.parse_args()
    args.work_dir = args.work_dir or tempfile.mkdtemp(prefix=work_prefix)
    return args


def check_names(parser, **options) -> None:
    """Stops with a usage error if an option names unknown items.

    Args:
        parser: the `argparse.ArgumentParser` that parsed the options.
        **options: `option=(names given, names known)`, e.g.
            `variants=(args.variants, VARIANTS)`.
    """
    for option, (given, known) in options.items():
        unknown = sorted(set(given) - set(known))
        if unknown:
            parser.error(f"unknown {option} {unknown}; known: "
                         f"{list(known)}")


def copy_train_log(run_dir: str, name: str) -> None:
    """Copies a run's `log.csv` to `RESULTS/<name>-train-log.csv`, atomically.

    Args:
        run_dir: the run directory of `zoo.training.train` (or of a
            baseline's training), holding `log.csv`.
        name: the name the log gets in `scripts/results/`.
    """
    replace_atomic(
        os.path.join(RESULTS, f"{name}-train-log.csv"),
        lambda tmp: shutil.copyfile(os.path.join(run_dir, "log.csv"), tmp),
        ".csv",
    )


def train_preset(name: str, run_dir: str, preset_dir: str, command: str,
                 **kwargs):
    """Trains a preset with `zoo.training.train`, timed; copies its log.

    The preset is written to `preset_dir` (replacing it), with `command`
    as its training command; the run's `log.csv` is copied with
    `copy_train_log(run_dir, name)`.

    Args:
        name: the preset (a name of `zoo.training.list_recipes()`).
        run_dir: the run directory (CSV log, checkpoints).
        preset_dir: where the preset goes.
        command: the command line recorded in the preset's metadata.
        **kwargs: further `zoo.training.train` arguments (`epochs`,
            `seed`, `verbose`).

    Returns:
        `(preset_dir, metrics, seconds)`: those of `zoo.training.train`
        and the wall time of the training, in seconds.
    """
    from zoo.training import train

    start = time.perf_counter()
    preset_dir, metrics = train(
        name, run_dir, overwrite=True, training_command=command,
        preset_dir=preset_dir, **kwargs,
    )
    seconds = time.perf_counter() - start
    copy_train_log(run_dir, name)
    return preset_dir, metrics, seconds


def train_named_presets(script, names, args):
    """Trains each preset of `names` (or `args.only`) into zoo/presets/.

    The loop of the training scripts that only run declared recipes:
    each preset is trained by `train_preset` in `args.work_dir/<name>`
    with the command `KERAS_BACKEND=... python scripts/<script> --only
    <name> --seed <seed>` recorded, and its metrics printed.

    Args:
        script: the script's file name, e.g. `"train_unem.py"`.
        names: the preset names, in training order.
        args: the parsed options (`only`, `seed`, `work_dir`).

    Returns:
        `{name: (metrics, seconds, command)}` of the presets trained.
    """
    import keras

    done = {}
    for name in names:
        if args.only and name != args.only:
            continue
        command = run_command(keras.backend.backend(), script,
                              f"--only {name}", f"--seed {args.seed}")
        _, metrics, seconds = train_preset(
            name, os.path.join(args.work_dir, name),
            os.path.join(PRESETS_DIR, name), command,
            seed=args.seed, verbose=0,
        )
        print(name, f"{seconds:.0f} s",
              {k: round(v, 4) if isinstance(v, float) else v
               for k, v in sorted(metrics.items())}, flush=True)
        done[name] = (metrics, seconds, command)
    return done


def write_plot(fig, path: str, dpi=110) -> None:
    """Lays out `fig`, saves it atomically to `path` and says so."""
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=dpi)
    print("wrote", path)


def add_sweep_options(parser, methods, sparsities, seeds, epochs,
                      epochs_help) -> None:
    """`--methods`, `--sparsities`, `--seeds`, `--epochs` of a sweep."""
    parser.add_argument("--methods", nargs="*", default=list(methods))
    parser.add_argument("--sparsities", nargs="*", type=float,
                        default=list(sparsities))
    parser.add_argument("--seeds", nargs="*", type=int,
                        default=list(seeds))
    parser.add_argument("--epochs", type=int, default=epochs,
                        help=epochs_help)


def run_parts(chosen, steps) -> int:
    """Runs the chosen parts of a benchmark in order, timing each.

    Args:
        chosen: the part names asked for (e.g. `args.parts`).
        steps: `(name, callable)` pairs in run order; a part that is
            chosen runs, and its cumulated wall time is printed.

    Returns:
        0, the script's exit code.
    """
    start = time.perf_counter()
    for name, step in steps:
        if name in chosen:
            step()
            print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def format_table(
    rows: Sequence[Mapping[str, object]], columns: Sequence[str]
) -> str:
    """Formats `rows` as a plain-text table with the given `columns`."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [
        max([len(c)] + [len(r[i]) for r in cells])
        for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    return "\n".join(lines)
