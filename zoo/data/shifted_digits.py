"""Distribution shifts of 8x8 digit images (numpy and scipy only).

The data of the CAFA test-time adaptation experiments (`zoo.unem.cafa`):
`shift_digits` turns a clean digits split into a rotated, noisy or
low-contrast one, and `digits_source_subset` is the small labelled
source subset CAFA's class statistics come from.
"""

import numpy as np

from zoo.data.digits import load_digits

SHIFTS = ("rotation", "noise", "contrast")
# Severity 1 of each shift (8x8 digits in [0, 1]).
SHIFT_PARAMS = {"rotation": 30.0, "noise": 0.3, "contrast": 0.35}
SOURCE_PER_CLASS = 30


def shift_digits(images, kind, severity=1.0, seed=0):
    """Applies a distribution shift to `(N, H, W, 1)` images in [0, 1].

    - `"rotation"`: every image rotated by `+-30 * severity` degrees
      (random sign; bilinear, zero fill);
    - `"noise"`: additive Gaussian noise of std `0.3 * severity`, then
      clipped to [0, 1];
    - `"contrast"`: `x * c + (1 - c) / 2` with `c = 0.35 ** severity`
      (lower contrast and a grey background).

    Args:
        images: float array `(N, H, W, 1)` in [0, 1].
        kind: str. One of `SHIFTS`.
        severity: float > 0. Strength.
        seed: int. Seed of the random parts.

    Returns:
        float32 array of the same shape.

    Example:

    ```python
    x, y = zoo.data.load_digits("test", layout="image")
    x_rot = zoo.data.shifted_digits.shift_digits(x, "rotation")
    ```
    """
    if kind not in SHIFTS:
        raise ValueError(
            f"`kind` must be one of {SHIFTS}. Received: kind={kind!r}"
        )
    if not severity > 0:
        raise ValueError(
            f"`severity` must be > 0. Received: severity={severity!r}"
        )
    images = np.asarray(images, "float32")
    if images.ndim != 4:
        raise ValueError(
            "`images` must have shape (N, H, W, C). "
            f"Received: shape {images.shape}"
        )
    rng = np.random.default_rng(seed)
    if kind == "rotation":
        from scipy.ndimage import rotate

        angle = SHIFT_PARAMS["rotation"] * severity
        signs = rng.choice([-1.0, 1.0], len(images))
        out = np.stack([
            rotate(img, s * angle, axes=(0, 1), reshape=False, order=1,
                   mode="constant", cval=0.0)
            for img, s in zip(images, signs)
        ])
    elif kind == "noise":
        out = images + rng.normal(
            0.0, SHIFT_PARAMS["noise"] * severity, images.shape)
    else:
        c = SHIFT_PARAMS["contrast"] ** severity
        out = images * c + (1.0 - c) / 2.0
    return np.clip(out, 0.0, 1.0).astype("float32")


def digits_source_subset(per_class=SOURCE_PER_CLASS):
    """The labelled source subset CAFA's statistics come from.

    The first `per_class` images of each class of the digits train
    split (`load_digits("train", layout="image")`).

    Args:
        per_class: int. Images per class.

    Returns:
        `(x, y)`.

    Example:

    ```python
    x_src, y_src = zoo.data.shifted_digits.digits_source_subset()
    ```
    """
    x, y = load_digits("train", layout="image")
    rows = np.concatenate([np.flatnonzero(y == c)[:per_class]
                           for c in range(10)])
    return x[rows], y[rows]
