"""MNIST-1D generated offline with the `mnist1d` package."""

import importlib.metadata
import random

import numpy as np

from layers._checks import check_bool
from zoo._checks import check_int
from zoo._checks import check_str_choice
from zoo.data._cache import cached_array

MNIST1D_SPLITS = ("train", "val", "test", "trainval")

_NUM_VAL = 500
_PERMUTATION_SEED = 42
# Bump when the arrays produced for a given configuration change.
_FORMAT_VERSION = 1


def _mnist1d_version():
    try:
        return importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _generate(seed):
    """Runs `mnist1d.data.make_dataset` without side effects on RNGs.

    `make_dataset` seeds Python's and numpy's global generators; their
    states are restored afterwards.
    """
    from mnist1d.data import get_dataset_args
    from mnist1d.data import make_dataset

    numpy_state = np.random.get_state()
    python_state = random.getstate()
    try:
        args = get_dataset_args()
        args.seed = seed
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {
        "x": np.asarray(data["x"], dtype=np.float32),
        "y": np.asarray(data["y"], dtype=np.int32),
        "x_test": np.asarray(data["x_test"], dtype=np.float32),
        "y_test": np.asarray(data["y_test"], dtype=np.int32),
    }


def mnist1d_permutation():
    """Returns the fixed permutation of the 40 MNIST-1D positions.

    It is `np.random.RandomState(42).permutation(40)`, identical to the
    MNIST-1D notebooks' `np.random.seed(42); np.random.permutation(40)`
    (the legacy global generator is a `RandomState`). The shuffled data
    (`load_mnist1d(..., shuffled=True)`) has `x_shuffled[:, i] =
    x[:, perm[i]]`.

    Returns:
        An int64 array of shape `(40,)` (a fresh copy).

    Example:

    ```python
    perm = mnist1d_permutation()
    perm.shape  # (40,)
    ```

    Reference:
        - [Greydanus & Kobak, Scaling Down Deep Learning with MNIST-1D,
        ICML 2024](https://arxiv.org/abs/2011.14439)
    """
    perm = np.random.RandomState(_PERMUTATION_SEED).permutation(40)
    return perm.astype(np.int64)


def load_mnist1d(split="train", shuffled=False, seed=42, cache=True):
    """Loads MNIST-1D, generated offline (never downloaded).

    Calls `mnist1d.data.make_dataset(get_dataset_args())` with the
    package's default configuration (5000 signals of length 40,
    80 % / 20 % train / test split) and `args.seed = seed`; with the
    default seed 42 this is the benchmark's standard data set (4000
    train / 1000 test). The generated arrays are cached on disk (see
    `zoo.data.cached_array`), since generation takes about a second and
    importing `mnist1d` (matplotlib, scipy) another. The global numpy and
    Python random states are left untouched.

    | split | samples |
    |---|---|
    | `"train"` (first 3500 training signals) | 3500 |
    | `"val"` (last 500 training signals) | 500 |
    | `"trainval"` (all training signals) | 4000 |
    | `"test"` | 1000 |

    Args:
        split: str. One of `"train"`, `"val"`, `"test"`, `"trainval"`.
            Defaults to `"train"`.
        shuffled: bool. Apply the fixed position permutation
            `mnist1d_permutation()` (`RandomState(42).permutation(40)`,
            the notebooks' `np.random.seed(42); np.random.permutation(40)`)
            to every signal. Defaults to `False`.
        seed: int. Non-negative generation seed. Defaults to 42.
        cache: bool. Read/write the on-disk cache. Defaults to `True`.

    Returns:
        A tuple `(x, y)`: `x` float32 of shape `(N, 40)`, `y` int32 of
        shape `(N,)` with labels 0..9.

    Example:

    ```python
    x_train, y_train = load_mnist1d("train")
    x_train.shape  # (3500, 40)
    x_test, y_test = load_mnist1d("test", shuffled=True)
    ```

    Reference:
        - [Greydanus & Kobak, Scaling Down Deep Learning with MNIST-1D,
        ICML 2024](https://arxiv.org/abs/2011.14439)
    """
    check_str_choice("split", split, MNIST1D_SPLITS)
    check_bool("shuffled", shuffled)
    check_int("seed", seed, 0)
    params = {
        "version": _FORMAT_VERSION,
        "mnist1d_version": _mnist1d_version(),
        "config": "default",
        "seed": int(seed),
    }
    data = cached_array(
        "mnist1d", params, lambda: _generate(int(seed)), cache=cache
    )
    if split == "test":
        x, y = data["x_test"], data["y_test"]
    else:
        x, y = data["x"], data["y"]
        num_train = len(y) - _NUM_VAL
        if split == "train":
            x, y = x[:num_train], y[:num_train]
        elif split == "val":
            x, y = x[num_train:], y[num_train:]
    if shuffled:
        x = x[:, mnist1d_permutation()]
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int32)
    return x, y
