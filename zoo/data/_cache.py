"""On-disk cache for generated data sets (numpy `.npz` files)."""

import hashlib
import json
import os
import re
import tempfile
import zipfile

import numpy as np

CACHE_ENV_VAR = "HYPERZOO_DATA_CACHE"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KIND_KEY = "__kind__"


def data_cache_dir():
    """Returns the directory used by `cached_array`.

    The directory is the value of the environment variable
    `HYPERZOO_DATA_CACHE` when it is set and non-empty, else
    `~/.cache/hyperzoo/data`. It is read at every call (so tests can
    point it to a temporary directory) and is not created here.

    Returns:
        The cache directory, as a string.

    Example:

    ```python
    import os
    os.environ["HYPERZOO_DATA_CACHE"] = "/tmp/hyperzoo-cache"
    data_cache_dir()  # '/tmp/hyperzoo-cache'
    ```

    Reference:
        - [XDG Base Directory Specification](
        https://specifications.freedesktop.org/basedir-spec/latest/)
    """
    path = os.environ.get(CACHE_ENV_VAR, "")
    if path:
        return os.path.expanduser(path)
    return os.path.join(os.path.expanduser("~"), ".cache", "hyperzoo", "data")


def cache_path(name, params_dict):
    """Returns the file that caches `name` generated with `params_dict`.

    The file name is `<name>-<sha256>.npz`, where `<sha256>` is the
    hex digest of `json.dumps(params_dict, sort_keys=True)`.

    Args:
        name: str. Data set name; letters, digits, `_`, `-` and `.` only.
        params_dict: dict. JSON-serialisable generation parameters.

    Returns:
        The path of the cache file, as a string (it may not exist).

    Example:

    ```python
    cache_path("lorenz96", {"forcing": 8.0, "seed": 100})
    ```

    Reference:
        - [FIPS 180-4, Secure Hash Standard](
        https://doi.org/10.6028/NIST.FIPS.180-4)
    """
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            "`name` must be a non-empty string of letters, digits, '_', "
            f"'-' and '.' that starts with a letter or digit. "
            f"Received: name={name!r}"
        )
    if not isinstance(params_dict, dict):
        raise ValueError(
            "`params_dict` must be a dict of JSON-serialisable values. "
            f"Received: params_dict={params_dict!r}"
        )
    try:
        text = json.dumps(params_dict, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "`params_dict` must be a dict of JSON-serialisable values. "
            f"Received: params_dict={params_dict!r} ({error})"
        ) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return os.path.join(data_cache_dir(), f"{name}-{digest}.npz")


def _to_payload(value):
    """Flattens an array, a tuple/list of arrays or a dict of arrays."""
    if isinstance(value, np.ndarray):
        return {_KIND_KEY: np.array("array"), "array": value}
    if isinstance(value, (tuple, list)):
        payload = {_KIND_KEY: np.array("tuple")}
        for i, item in enumerate(value):
            payload[f"item_{i}"] = np.asarray(item)
        return payload
    if isinstance(value, dict):
        payload = {_KIND_KEY: np.array("dict")}
        for key, item in value.items():
            if not isinstance(key, str) or key == _KIND_KEY:
                raise ValueError(
                    "The dict returned by `fn` must have string keys other "
                    f"than {_KIND_KEY!r}. Received key: {key!r}"
                )
            payload[key] = np.asarray(item)
        return payload
    raise ValueError(
        "`fn` must return a numpy array, a tuple/list of arrays or a dict "
        f"of arrays. Received: {type(value).__name__}"
    )


def _from_payload(payload):
    """Inverse of `_to_payload`; raises `ValueError` on a bad payload."""
    kind = str(payload[_KIND_KEY])
    if kind == "array":
        return payload["array"]
    if kind == "tuple":
        count = len(payload) - 1
        return tuple(payload[f"item_{i}"] for i in range(count))
    if kind == "dict":
        return {k: v for k, v in payload.items() if k != _KIND_KEY}
    raise ValueError(f"Unknown cache payload kind: {kind!r}")


def _read(path):
    """Reads a cache file; returns `None` if it is missing or unreadable."""
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            payload = {key: data[key] for key in data.files}
        return _from_payload(payload)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write(path, value):
    """Writes `value` atomically: temporary file, then `os.replace`.

    Errors (read-only or full file system) are swallowed: the cache is an
    optimisation, never a reason to fail.
    """
    directory = os.path.dirname(path)
    tmp_name = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=".tmp-", suffix=".npz", dir=directory
        )
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **_to_payload(value))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp creates files as 0o600
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError:
        pass
    finally:
        if tmp_name is not None:
            try:
                os.remove(tmp_name)
            except OSError:
                pass


def cached_array(name, params_dict, fn, cache=True):
    """Returns `fn()`, cached on disk under `name` and `params_dict`.

    On a cache hit the arrays are read from
    `<cache dir>/<name>-<sha256(json(params_dict, sort_keys=True))>.npz`
    (see `data_cache_dir()`; `HYPERZOO_DATA_CACHE` overrides the
    default `~/.cache/hyperzoo/data`). On a miss, or when the file is
    corrupt or unreadable, `fn()` is called and its result written
    atomically (to a temporary file in the same directory, then
    `os.replace`), so concurrent readers never see a partial file. If
    the cache cannot be written (read-only file system), the result is
    returned uncached.

    `params_dict` must hold every argument that changes the result
    (including a version number of the generating code), since the
    cache is never invalidated otherwise.

    Args:
        name: str. Data set name; letters, digits, `_`, `-` and `.` only.
        params_dict: dict. JSON-serialisable generation parameters.
        fn: callable. Called without arguments on a cache miss; returns
            a numpy array, a tuple/list of arrays or a dict of arrays
            (string keys).
        cache: bool. If `False`, call `fn()` and neither read nor write
            the cache. Defaults to `True`.

    Returns:
        What `fn()` returns, with the same structure (a list comes back
        as a tuple); arrays are always fresh copies owned by the caller.

    Example:

    ```python
    import numpy as np
    x = cached_array(
        "noise", {"seed": 0, "n": 5},
        lambda: np.random.default_rng(0).normal(size=5),
    )
    ```

    Reference:
        - [numpy.savez](
        https://numpy.org/doc/stable/reference/generated/numpy.savez.html)
    """
    if not callable(fn):
        raise ValueError(f"`fn` must be callable. Received: fn={fn!r}")
    path = cache_path(name, params_dict)
    if not cache:
        return _from_payload(_to_payload(fn()))
    value = _read(path)
    if value is not None:
        return value
    value = _from_payload(_to_payload(fn()))
    _write(path, value)
    return value
