"""Small helpers shared by the benchmark scripts in `scripts/`.

Nothing here imports Keras or a backend, so the helpers can be used by a
parent process before it chooses a backend for its children.
"""

import csv
import datetime
import os
import platform
import statistics
import tempfile
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence


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


def write_csv_atomic(
    path: str,
    fieldnames: Sequence[str],
    rows: Iterable[Mapping[str, object]],
) -> None:
    """Writes `rows` as CSV to `path` atomically.

    The rows go to a temporary file in the same directory, which is then
    renamed over `path` with `os.replace`: a reader (or an interrupted
    run) never sees a half-written file. The directory is created if
    needed, and the file gets the usual `0o666 & ~umask` permissions
    rather than the `0o600` of a temporary file.

    Args:
        path: destination file.
        fieldnames: column names, in order; extra keys in a row are an
            error.
        rows: mappings from column name to value.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(fieldnames))
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())
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
