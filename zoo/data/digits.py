"""The scikit-learn 8x8 digits data set with the project's fixed splits."""

import functools

import numpy as np

from layers._checks import check_bool
from zoo._checks import check_str_choice

DIGITS_CLASS_NAMES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")

DIGITS_SPLITS = ("train", "val", "test", "trainval", "all")
DIGITS_LAYOUTS = ("flat", "image", "sequence")

_TEST_SIZE = 540
_VAL_SIZE = 180
_SPLIT_SEED = 0
_PERMUTATION_SEED = 42


@functools.lru_cache(maxsize=1)
def _raw_digits():
    from sklearn.datasets import load_digits as sklearn_load_digits

    data = sklearn_load_digits()
    x = np.asarray(data.data, dtype=np.float32)
    y = np.asarray(data.target, dtype=np.int32)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


@functools.lru_cache(maxsize=1)
def _split_indices():
    from sklearn.model_selection import train_test_split

    _, y = _raw_digits()
    index = np.arange(len(y))
    trainval, test = train_test_split(
        index, test_size=_TEST_SIZE, stratify=y, random_state=_SPLIT_SEED
    )
    train, val = train_test_split(
        trainval,
        test_size=_VAL_SIZE,
        stratify=y[trainval],
        random_state=_SPLIT_SEED,
    )
    splits = {
        "train": train,
        "val": val,
        "test": test,
        "trainval": trainval,
        "all": index,
    }
    for value in splits.values():
        value.flags.writeable = False
    return splits


def digits_split_indices(split="train"):
    """Returns the row indices of a digits split in the full data set.

    The indices refer to the 1797 samples in scikit-learn's order
    (`split="all"`); `load_digits(split)` returns exactly these rows, in
    this order. "test" and "trainval" follow the anchors protocol
    `train_test_split(x, y, test_size=540, stratify=y, random_state=0)`
    (1257 / 540); "train" / "val" split "trainval" again with
    `test_size=180, stratify=y_trainval, random_state=0` (1077 / 180).

    Args:
        split: str. One of `"train"`, `"val"`, `"test"`, `"trainval"`,
            `"all"`. Defaults to `"train"`.

    Returns:
        An int64 array of row indices (a fresh copy).

    Example:

    ```python
    index = digits_split_indices("val")
    index.shape  # (180,)
    ```

    Reference:
        - [Alpaydin & Kaynak, Optical Recognition of Handwritten Digits,
        UCI Machine Learning Repository 1998](
        https://doi.org/10.24432/C50P49)
    """
    check_str_choice("split", split, DIGITS_SPLITS)
    return _split_indices()[split].astype(np.int64)


def digits_permutation():
    """Returns the fixed permutation of the 64 pixel positions.

    It is `np.random.RandomState(42).permutation(64)`; the permuted
    digits (`load_digits(..., permuted=True)`) have
    `x_permuted[:, i] = x[:, perm[i]]` in the flat layout, before any
    reshape to the image or sequence layout ("permuted digits", the 8x8
    analogue of permuted MNIST).

    Returns:
        An int64 array of shape `(64,)` (a fresh copy).

    Example:

    ```python
    perm = digits_permutation()
    x, _ = load_digits("test")
    xp, _ = load_digits("test", permuted=True)
    np.array_equal(xp, x[:, perm])  # True
    ```

    Reference:
        - [Le, Jaitly, Hinton, A Simple Way to Initialize Recurrent
        Networks of Rectified Linear Units, 2015](
        https://arxiv.org/abs/1504.00941)
    """
    perm = np.random.RandomState(_PERMUTATION_SEED).permutation(64)
    return perm.astype(np.int64)


def load_digits(split="train", layout="flat", permuted=False, normalize=True):
    """Loads the scikit-learn 8x8 handwritten digits (offline).

    1797 grey-scale 8x8 images with pixel values 0..16 and 10 classes,
    shipped inside scikit-learn (`sklearn.datasets.load_digits`), split
    deterministically (see `digits_split_indices`):

    | split | samples |
    |---|---|
    | `"train"` | 1077 |
    | `"val"` | 180 |
    | `"test"` | 540 |
    | `"trainval"` (= train + val, anchors protocol train set) | 1257 |
    | `"all"` (scikit-learn order) | 1797 |

    Args:
        split: str. One of `"train"`, `"val"`, `"test"`, `"trainval"`,
            `"all"`. Defaults to `"train"`.
        layout: str. `"flat"` gives `(N, 64)`; `"image"` gives
            `(N, 8, 8, 1)` (channels last); `"sequence"` gives
            `(N, 64, 1)`, the row-major pixel sequence for recurrent
            models. Defaults to `"flat"`.
        permuted: bool. Apply the fixed pixel permutation
            `digits_permutation()` (`RandomState(42).permutation(64)`)
            before reshaping. Defaults to `False`.
        normalize: bool. Divide the pixel values by 16 into `[0, 1]`;
            otherwise keep 0..16. Defaults to `True`.

    Returns:
        A tuple `(x, y)`: `x` float32 as given by `layout`, `y` int32 of
        shape `(N,)` with labels 0..9 (see `DIGITS_CLASS_NAMES`). Fresh
        arrays owned by the caller.

    Example:

    ```python
    x_train, y_train = load_digits("train", layout="image")
    x_train.shape  # (1077, 8, 8, 1)
    x_test, y_test = load_digits("test")
    x_test.shape  # (540, 64)
    ```

    Reference:
        - [Alpaydin & Kaynak, Optical Recognition of Handwritten Digits,
        UCI Machine Learning Repository 1998](
        https://doi.org/10.24432/C50P49)
        - [scikit-learn `load_digits`](https://scikit-learn.org/stable/
        modules/generated/sklearn.datasets.load_digits.html)
    """
    check_str_choice("split", split, DIGITS_SPLITS)
    check_str_choice("layout", layout, DIGITS_LAYOUTS)
    check_bool("permuted", permuted)
    check_bool("normalize", normalize)
    x_all, y_all = _raw_digits()
    index = _split_indices()[split]
    x = x_all[index]
    y = y_all[index]
    if permuted:
        x = x[:, digits_permutation()]
    if normalize:
        x = x / np.float32(16.0)
    if layout == "image":
        x = x.reshape(-1, 8, 8, 1)
    elif layout == "sequence":
        x = x.reshape(-1, 64, 1)
    return np.ascontiguousarray(x, dtype=np.float32), y.copy()


def load_digit_images(split="train"):
    """`load_digits(split, layout="image")`: `(N, 8, 8, 1)` images.

    Args:
        split: str. `"train"`, `"val"`, `"test"` or `"trainval"`.

    Returns:
        `(x, y)`: float32 images in [0, 1] and int labels.

    Example:

    ```python
    x, y = zoo.data.digits.load_digit_images("test")
    x.shape  # (540, 8, 8, 1)
    ```
    """
    return load_digits(split, layout="image")
