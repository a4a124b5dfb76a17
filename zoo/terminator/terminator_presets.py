"""The Terminator presets: data, architectures and training budgets.

Presets: `terminator_1d_mnist1d`, `terminator_1d_mnist1d_shuffled`
(MNIST-1D, 4000 train / 1000 test, the shuffled one with a fixed
permutation of the 40 positions) and `terminator_2d_digits`
(scikit-learn digits as 8x8 images, 1257 train / 540 test). The presets
themselves are the folders `zoo/presets/<name>/`; this module holds the
table that produces them (`PRESETS`), the data shaping (`load_data`),
the warm-up + cosine optimizer (`make_optimizer`) and the builder of the
architectures (`build_terminator`).
"""

import keras
import numpy as np

from zoo._recipe_utils import table_entry
from zoo.data import load_digits
from zoo.data import load_mnist1d
from zoo.optimizers import Kar3
from zoo.terminator.terminator_backbone import TerminatorBackbone
from zoo.terminator.terminator_classifier import TerminatorClassifier

# One entry per preset: data, architecture and training budget.
_MNIST1D_PRESET = dict(
    dataset="mnist1d", shuffled=False,
    backbone=dict(spatial_shape=(40,), stem_channels=8,
                  hidden_dims=(24, 32, 48),
                  local_kernel_sizes=(3, 5, 7, 9), dropout=0.15,
                  omega_0=10.0, statistics="running"),
    epochs=40, batch_size=64, optimizer="kar3", learning_rate=1e-3,
    slow_loss_weight=1.0, label_smoothing=0.09,
    baseline_learning_rate=3e-3,
)
PRESETS = {
    "terminator_1d_mnist1d": _MNIST1D_PRESET,
    # Positions permuted. Issue 22: global average pooling discards
    # which position a feature came from, the only cue left once the
    # positions are shuffled; a flattened read-out (a dense map over
    # positions, no locality prior) with a 24-channel last block (the
    # same parameter count) and 20 epochs was chosen on validation
    # (`scripts/bench_terminator.py --part shuffled`).
    "terminator_1d_mnist1d_shuffled": dict(
        _MNIST1D_PRESET, shuffled=True, epochs=20, pooling="flatten",
        backbone=dict(_MNIST1D_PRESET["backbone"],
                      hidden_dims=(24, 32, 24)),
    ),
    "terminator_2d_digits": dict(
        _MNIST1D_PRESET, dataset="digits", epochs=60,
        backbone=dict(spatial_shape=(8, 8), stem_channels=8,
                      hidden_dims=(24, 32, 48),
                      local_kernel_sizes=(3, 5, 7), dropout=0.15,
                      omega_0=10.0, statistics="running"),
    ),
}
WARMUP_FRACTION = 0.08
# Optimizer settings a preset entry may lack; `build_terminator` takes
# them as overrides of the entry (not of the backbone).
_OPTIMIZER_KEYS = ("weight_decay", "beta_1", "beta_2")
# Classifier settings a preset entry may lack (defaults: global average
# pooling, no dropout before the head).
_CLASSIFIER_KEYS = ("pooling", "head_dropout", "mixup_alpha")


def preset_config(name):
    """A copy of a preset's entry of `PRESETS`.

    Args:
        name: str. A Terminator preset name.

    Returns:
        dict: `dataset`, `shuffled`, `backbone` (the backbone's
        arguments), `epochs`, `batch_size`, `optimizer`,
        `learning_rate`, `slow_loss_weight`, `label_smoothing` and
        `baseline_learning_rate`; `pooling` (the classifier's read-out)
        where the entry sets it.

    Raises:
        ValueError: unknown name; the message lists the known ones.

    Example:

    ```python
    preset_config("terminator_2d_digits")["epochs"]  # 60
    ```
    """
    return table_entry(PRESETS, name, "Terminator")


def dataset_label(cfg):
    """The dataset name a preset's entry stands for, e.g. `"mnist1d"`.

    Args:
        cfg: dict. An entry of `PRESETS`.

    Returns:
        str: `"mnist1d"`, `"mnist1d_shuffled"` or `"digits"`.

    Example:

    ```python
    dataset_label(PRESETS["terminator_1d_mnist1d_shuffled"])
    ```
    """
    return cfg["dataset"] + ("_shuffled" if cfg["shuffled"] else "")


def split_loader(dataset, shuffled=False):
    """`load_data` of one data set as a function of the split.

    Args:
        dataset: str. `"mnist1d"` or `"digits"`.
        shuffled: bool. Shuffled MNIST-1D.

    Returns:
        A function `data(split) -> (x, y)` (a preset's `data`, see
        `zoo.family.PresetSpec`).

    Example:

    ```python
    x, y = split_loader("digits")("test")
    ```
    """

    def data(split):
        return load_data(dataset, split, shuffled)

    data.__name__ = f"load_{dataset}{'_shuffled' if shuffled else ''}"
    return data


def load_data(dataset, split, shuffled=False):
    """Loads a Terminator data split shaped for the backbone.

    Args:
        dataset: str. `"mnist1d"` (sequences `(N, 40, 1)`) or `"digits"`
            (images `(N, 8, 8, 1)`, ink in [0, 1]).
        split: str. `"train"`, `"val"`, `"test"` or `"trainval"`.
        shuffled: bool. MNIST-1D with the fixed position permutation.

    Returns:
        `(x, y)` float32 inputs and int labels.

    Example:

    ```python
    x, y = zoo.terminator.terminator_presets.load_data("mnist1d", "test")
    x.shape  # (1000, 40, 1)
    ```
    """
    if dataset == "mnist1d":
        x, y = load_mnist1d(split, shuffled=shuffled)
        return x[..., None].astype("float32"), y
    if dataset == "digits":
        if shuffled:
            raise ValueError("`shuffled` applies to mnist1d only.")
        x, y = load_digits(split=split)
        return x.reshape(-1, 8, 8, 1).astype("float32"), y
    raise ValueError(
        "`dataset` must be 'mnist1d' or 'digits'. "
        f"Received: dataset={dataset!r}"
    )


def num_steps(epochs, num_train, batch_size):
    """Training steps of `epochs` passes over `num_train` samples.

    Args:
        epochs: int. Epochs.
        num_train: int. Training set size.
        batch_size: int. Batch size (the last batch may be short).

    Returns:
        int.

    Example:

    ```python
    num_steps(40, 4000, 64)  # 2520
    ```
    """
    return epochs * int(np.ceil(num_train / batch_size))


def make_optimizer(kind, learning_rate, total_steps, weight_decay=0.0,
                   beta_1=None, beta_2=None):
    """Optimizer with linear warm-up (8 % of the steps) then cosine decay.

    Args:
        kind: str. `"kar3"`, `"adam"` or `"adamw"`.
        learning_rate: float. Peak learning rate.
        total_steps: int. Training steps.
        weight_decay: float. Decoupled decay (`"adamw"`; also Kar3 and
            Adam when non-zero, through the base optimizer's
            `weight_decay`).
        beta_1: float or `None`. Kar3/Adam `beta_1` (defaults of each).
        beta_2: float or `None`. Kar3/Adam `beta_2`.

    Returns:
        A `keras.optimizers.Optimizer`.

    Example:

    ```python
    opt = make_optimizer("kar3", 1e-3, total_steps=1000)
    ```
    """
    warmup = max(1, int(WARMUP_FRACTION * total_steps))
    schedule = keras.optimizers.schedules.CosineDecay(
        1e-8 * learning_rate, max(1, total_steps - warmup), alpha=0.0,
        warmup_target=learning_rate, warmup_steps=warmup,
    )
    kwargs = {}
    if beta_1 is not None:
        kwargs["beta_1"] = beta_1
    if beta_2 is not None:
        kwargs["beta_2"] = beta_2
    if weight_decay and kind != "adamw":
        kwargs["weight_decay"] = weight_decay
    if kind == "kar3":
        return Kar3(schedule, **kwargs)
    if kind == "adam":
        return keras.optimizers.Adam(schedule, **kwargs)
    if kind == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=weight_decay,
                                      **kwargs)
    raise ValueError(
        "`kind` must be 'kar3', 'adam' or 'adamw'. Received: "
        f"kind={kind!r}"
    )


def build_terminator(name, seed=0, num_train=None, **overrides):
    """The architecture of a preset, untrained and compiled.

    Args:
        name: str. A key of `PRESETS`.
        seed: int. Initialiser seed.
        num_train: int or `None`. Training set size (for the schedule);
            `None` counts the preset's train+val split.
        **overrides: preset entries, optimizer settings
            (`weight_decay`, `beta_1`, `beta_2`), classifier settings
            (`pooling`, `head_dropout`, `mixup_alpha`) or backbone
            arguments to change (ablations, search): e.g.
            `slow_loss_weight=0.0`,
            `global_branch=False`, `optimizer="kar3"`,
            `hidden_dims=(16, 32)`, `learning_rate=3e-3`.

    Returns:
        A compiled `zoo.TerminatorClassifier`.

    Example:

    ```python
    model = build_terminator("terminator_2d_digits", global_branch=False)
    ```
    """
    cfg = preset_config(name)
    backbone_kwargs = dict(cfg["backbone"])
    for key, value in overrides.items():
        if key in cfg or key in _OPTIMIZER_KEYS + _CLASSIFIER_KEYS:
            cfg[key] = value
        else:
            backbone_kwargs[key] = value
    if num_train is None:
        num_train = len(load_data(cfg["dataset"], "trainval",
                                  cfg["shuffled"])[1])
    backbone = TerminatorBackbone(**backbone_kwargs, seed=seed)
    model = TerminatorClassifier(
        backbone, num_classes=10,
        slow_loss_weight=cfg["slow_loss_weight"],
        label_smoothing=cfg["label_smoothing"],
        pooling=cfg.get("pooling", "average"),
        dropout=cfg.get("head_dropout", 0.0),
        mixup_alpha=cfg.get("mixup_alpha", 0.0), mixup_seed=seed,
    )
    steps = num_steps(cfg["epochs"], num_train, cfg["batch_size"])
    model.compile(optimizer=make_optimizer(
        cfg["optimizer"], cfg["learning_rate"], steps,
        weight_decay=cfg.get("weight_decay", 0.0),
        beta_1=cfg.get("beta_1"), beta_2=cfg.get("beta_2"),
    ))
    return model
