"""Procedural "writers": per-subject handwriting styles on the digits.

A subject is a seed. Its style, fixed for all of its digits, combines an
affine warp (rotation, shear, anisotropic scale, shift), a smooth
elastic displacement field, a stroke-width change (grey erosion or
dilation), a contrast/gamma change and, for some writers, inverted ink.
The 8x8 scikit-learn digits are upsampled to 16x16 first. Training
subjects use seeds below `TEST_SEED_OFFSET`, unseen test subjects seeds
from it on, and validation subjects from `VAL_SEED_OFFSET`.
"""

import functools

import numpy as np

from zoo.data.digits import load_digit_images

IMAGE_SIZE = 16
SUPPORT_SIZE = 5
NUM_CLASSES = 10
TEST_SEED_OFFSET = 1_000_000
VAL_SEED_OFFSET = 2_000_000
NUM_TEST_SUBJECTS = 30
NUM_VAL_SUBJECTS = 10
NUM_TRAIN_SUBJECTS = 100_000


@functools.lru_cache(maxsize=4)
def load_writer_digits(split="train"):
    """Clean digits upsampled to 16x16 (bilinear), in [0, 1].

    Args:
        split: str. Digits split (`"train"`, `"val"`, `"test"`,
            `"trainval"`).

    Returns:
        `(x (N, 16, 16, 1) float32, y (N,) int32)`, read-only.

    Example:

    ```python
    x, y = load_writer_digits("test")
    ```
    """
    from scipy.ndimage import zoom

    x, y = load_digit_images(split)
    up = zoom(x[..., 0], (1, 2, 2), order=1, mode="nearest",
              grid_mode=True)
    up = np.clip(up, 0.0, 1.0).astype("float32")[..., None]
    up.flags.writeable = False
    return up, y


def writer_style(seed):
    """The style parameters of the writer `seed`.

    Args:
        seed: int. Subject id.

    Returns:
        dict of floats (`rotation`, `shear`, `scale_x`, `scale_y`,
        `shift_x`, `shift_y`, `elastic`, `stroke`, `gamma`, `contrast`,
        `invert`) and the elastic field `field (2, 16, 16)`.

    Example:

    ```python
    style = writer_style(1_000_003)
    ```
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng([int(seed), 7])
    field = rng.normal(size=(2, IMAGE_SIZE, IMAGE_SIZE))
    field = gaussian_filter(field, (0, 3, 3), mode="wrap")
    field /= np.abs(field).max() + 1e-8
    return dict(
        rotation=float(rng.uniform(-40, 40)),
        shear=float(rng.uniform(-0.5, 0.5)),
        scale_x=float(rng.uniform(0.75, 1.15)),
        scale_y=float(rng.uniform(0.75, 1.15)),
        shift_x=float(rng.uniform(-1.5, 1.5)),
        shift_y=float(rng.uniform(-1.5, 1.5)),
        elastic=float(rng.uniform(0.0, 2.0)),
        stroke=int(rng.integers(-1, 3)),
        gamma=float(np.exp(rng.uniform(-0.7, 0.7))),
        contrast=float(rng.uniform(0.5, 1.0)),
        invert=bool(rng.uniform() < 0.15),
        field=field,
    )


def _sample_grid(style):
    """Source coordinates (y, x) of every output pixel."""
    n = IMAGE_SIZE
    c = (n - 1) / 2.0
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    p = np.stack([xx - c - style["shift_x"], yy - c - style["shift_y"]])
    t = np.deg2rad(style["rotation"])
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    shear = np.array([[1.0, style["shear"]], [0.0, 1.0]])
    scale = np.diag([style["scale_x"], style["scale_y"]])
    inverse = np.linalg.inv(rot @ shear @ scale)
    src = np.einsum("ij,jhw->ihw", inverse, p)
    src = src + style["elastic"] * style["field"]
    return src[1] + c, src[0] + c


def apply_writer_style(images, style):
    """Renders clean 16x16 digits in a writer's style.

    Args:
        images: float `(N, 16, 16, 1)` in [0, 1].
        style: dict from `writer_style`.

    Returns:
        float32 `(N, 16, 16, 1)` in [0, 1].

    Example:

    ```python
    x, _ = load_writer_digits("test")
    styled = apply_writer_style(x[:5], writer_style(1_000_000))
    ```
    """
    from scipy.ndimage import grey_dilation
    from scipy.ndimage import grey_erosion

    img = np.asarray(images, "float32")[..., 0]
    n = IMAGE_SIZE
    sy, sx = _sample_grid(style)
    y0 = np.floor(sy).astype(int)
    x0 = np.floor(sx).astype(int)
    wy, wx = sy - y0, sx - x0
    out = np.zeros_like(img)
    for dy, dx, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                      (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + dy, x0 + dx
        ok = (yi >= 0) & (yi < n) & (xi >= 0) & (xi < n)
        vals = img[:, np.clip(yi, 0, n - 1), np.clip(xi, 0, n - 1)]
        out += vals * (w * ok)[None]
    if style["stroke"] > 0:
        size = 1 + style["stroke"]
        out = grey_dilation(out, size=(1, size, size))
    elif style["stroke"] < 0:
        out = grey_erosion(out, size=(1, 2, 2))
    out = np.clip(out, 0.0, 1.0) ** style["gamma"] * style["contrast"]
    if style["invert"]:
        out = 1.0 - out
    return out.astype("float32")[..., None]


def subject_seeds(split):
    """The subject seeds of a split.

    Args:
        split: str. `"test"` (30 unseen writers) or `"val"` (10).

    Returns:
        list of int.

    Example:

    ```python
    subject_seeds("test")[:2]  # [1000000, 1000001]
    ```
    """
    if split == "test":
        return list(range(TEST_SEED_OFFSET,
                          TEST_SEED_OFFSET + NUM_TEST_SUBJECTS))
    if split == "val":
        return list(range(VAL_SEED_OFFSET,
                          VAL_SEED_OFFSET + NUM_VAL_SUBJECTS))
    raise ValueError(f"split must be 'test' or 'val'. Received: {split!r}")


def subject_episode(seed, split="test", support_size=SUPPORT_SIZE,
                    num_queries=None):
    """One writer's labelled support set and query set.

    The support examples are `support_size` random digits of the split
    (with their labels), the queries the remaining ones (or
    `num_queries` of them), all rendered in the writer's style.

    Args:
        seed: int. Subject id.
        split: str. Digits split the images come from.
        support_size: int.
        num_queries: int or `None` (all the others).

    Returns:
        dict with `support_images (k, 16, 16, 1)`, `support_labels
        (k,)`, `query_images (q, 16, 16, 1)`, `query_labels (q,)`.

    Example:

    ```python
    episode = subject_episode(1_000_000)
    ```
    """
    x, y = load_writer_digits(split)
    rng = np.random.default_rng([int(seed), 11])
    order = rng.permutation(len(x))
    sup = order[:support_size]
    qry = order[support_size:]
    if num_queries is not None:
        qry = qry[:num_queries]
    style = writer_style(seed)
    return dict(
        support_images=apply_writer_style(x[sup], style),
        support_labels=y[sup].astype("int32"),
        query_images=apply_writer_style(x[qry], style),
        query_labels=y[qry].astype("int32"),
    )


def episode_batch(rng, split="train", batch_size=64, subjects_per_batch=8,
                  support_size=SUPPORT_SIZE, max_seed=NUM_TRAIN_SUBJECTS):
    """A training batch: queries of several writers, each with support.

    Args:
        rng: `numpy.random.Generator`.
        split: str. Digits split.
        batch_size: int. Queries (a multiple of `subjects_per_batch`).
        subjects_per_batch: int. Writers drawn from seeds
            `[0, max_seed)`.
        support_size: int.
        max_seed: int.

    Returns:
        `(inputs, labels)`: inputs a dict `images (B, 16, 16, 1)`,
        `support_images (B, k, 16, 16, 1)`, `support_labels (B, k)`.

    Example:

    ```python
    x, y = episode_batch(np.random.default_rng(0))
    ```
    """
    x, y = load_writer_digits(split)
    per = batch_size // subjects_per_batch
    images, sup_x, sup_y, labels = [], [], [], []
    for _ in range(subjects_per_batch):
        style = writer_style(int(rng.integers(0, max_seed)))
        idx = rng.choice(len(x), per + support_size, replace=False)
        styled = apply_writer_style(x[idx], style)
        images.append(styled[support_size:])
        labels.append(y[idx[support_size:]])
        sup_x.append(np.repeat(styled[None, :support_size], per, 0))
        sup_y.append(np.repeat(y[idx[:support_size]][None], per, 0))
    inputs = dict(images=np.concatenate(images),
                  support_images=np.concatenate(sup_x),
                  support_labels=np.concatenate(sup_y).astype("int32"))
    return inputs, np.concatenate(labels).astype("int32")
