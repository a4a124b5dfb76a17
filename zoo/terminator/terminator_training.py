"""Training recipes of the Terminator presets and of their baselines."""

from zoo.data import DIGITS_CLASS_NAMES
from zoo.terminator.terminator_baselines import build_baseline
from zoo.terminator.terminator_eval import EVAL_BATCH_SIZE
from zoo.terminator.terminator_eval import evaluate_split
from zoo.terminator.terminator_presets import WARMUP_FRACTION
from zoo.terminator.terminator_presets import build_terminator
from zoo.terminator.terminator_presets import dataset_label
from zoo.terminator.terminator_presets import load_data
from zoo.terminator.terminator_presets import preset_config
from zoo.training import fit_resumable

_MNIST1D_CLASSES = tuple(str(i) for i in range(10))


def fit_model(model, dataset, shuffled, epochs, batch_size, out_dir,
              verbose=2, data=None, eval_split="test"):
    """Trains on the train+val split with checkpoints; evaluates on test.

    Args:
        model: compiled classifier.
        dataset: str. `"mnist1d"` or `"digits"`.
        shuffled: bool. Shuffled MNIST-1D.
        epochs: int. Epochs.
        batch_size: int. Batch size.
        out_dir: str. Run directory (log.csv, checkpoints).
        verbose: int. Keras verbosity.
        data: `(x, y)` of the train+val split when the caller has
            loaded it already (`load_data(dataset, "trainval",
            shuffled)`, or another split), else `None`.
        eval_split: str. The split evaluated after training (`"test"`;
            `"val"` when `data` is the `"train"` split, as in
            `zoo.search`).

    Returns:
        The metrics dict of `eval_split` (`terminator_eval.evaluate_split`).

    Example:

    ```python
    fit_model(build_baseline("strong_cnn"), "mnist1d", False, 60, 64,
              "runs/cnn")
    ```
    """
    x, y = load_data(dataset, "trainval", shuffled) if data is None \
        else data
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=batch_size, verbose=verbose)
    return evaluate_split(model, dataset, shuffled, eval_split)


def train_baseline(kind, dataset, shuffled, out_dir, seed=0, epochs=60,
                   learning_rate=1e-3, batch_size=64, schedule="cosine",
                   verbose=2):
    """Builds a baseline, trains it on train+val and evaluates it on test.

    The schedule is sized from the data trained on (loaded once), with
    the same `epochs` and `batch_size` as the training loop.

    Args:
        kind: str. A kind of `terminator_baselines.build_baseline`.
        dataset: str. `"mnist1d"` or `"digits"`.
        shuffled: bool. Shuffled MNIST-1D.
        out_dir: str. Run directory (log.csv, checkpoints).
        seed: int. Initialiser seed.
        epochs: int. Epochs.
        learning_rate: float. Peak (or constant) learning rate.
        batch_size: int. Batch size.
        schedule: str. `"cosine"` or `"constant"`.
        verbose: int. Keras verbosity.

    Returns:
        `(model, test_metrics)`.

    Example:

    ```python
    model, metrics = train_baseline("mnist1d_cnn", "mnist1d", False,
                                    "runs/cnn", **PAPER_RECIPE)
    ```
    """
    x, y = load_data(dataset, "trainval", shuffled)
    model = build_baseline(kind, seed=seed, epochs=epochs,
                           learning_rate=learning_rate,
                           batch_size=batch_size, num_train=len(y),
                           schedule=schedule)
    metrics = fit_model(model, dataset, shuffled, epochs, batch_size,
                        out_dir, verbose, data=(x, y))
    return model, metrics


def _metadata(cfg, epochs):
    is_1d = cfg["dataset"] == "mnist1d"
    return {
        "description": (
            f"Terminator ({len(cfg['backbone']['hidden_dims'])} HyperZ·Z·W "
            "blocks, no residual sums) on "
            + ("MNIST-1D" + (" with shuffled positions" if cfg["shuffled"]
                             else "") if is_1d else "8x8 digit images")
        ),
        "dataset": dataset_label(cfg),
        "split": {
            "train": "trainval (4000)" if is_1d else "trainval (1257)",
            "test": "test (1000)" if is_1d else "test (540)",
        },
        "epochs": epochs,
        "batch_size": cfg["batch_size"],
        "eval_batch_size": EVAL_BATCH_SIZE,
        "optimizer": (
            f"{cfg['optimizer']}(peak {cfg['learning_rate']}, "
            f"{int(WARMUP_FRACTION * 100)}% linear warm-up, cosine)"
        ),
        "slow_loss_weight": cfg["slow_loss_weight"],
        "label_smoothing": cfg["label_smoothing"],
        "label_names": list(_MNIST1D_CLASSES if is_1d
                            else DIGITS_CLASS_NAMES),
        "input_kind": "mnist1d_40" if is_1d else "digits_8x8x1",
        "input_spec": (
            "float32 (batch, 40, 1) MNIST-1D sequence"
            + (", positions permuted by zoo.data.mnist1d_permutation()"
               if cfg["shuffled"] else "")
            if is_1d else
            "float32 (batch, 8, 8, 1): digit image, ink 1, background 0"
        ),
        "batch_dependence": (
            "None at inference: the blocks standardise with batch "
            "statistics in training (as the reference) and with moving "
            "averages of those statistics and of the local kernels' "
            "context at inference (statistics='running', chosen on the "
            "validation split; the reference keeps batch statistics at "
            "inference, which made predictions depend on the batch). "
            "`accuracy` is computed at batch 1, `accuracy_batch100` at "
            "batch 100."
        ),
        **({"pooling": cfg["pooling"]} if "pooling" in cfg else {}),
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Zhang, 2024. HyperZ·Z·W Operator Connects Slow-Fast Networks "
            "for Full Context Interaction. arXiv:2401.17948",
            "Greydanus, 2020. Scaling down Deep Learning (MNIST-1D). "
            "arXiv:2011.14439",
        ],
    }


def train_preset(name, epochs=None, out_dir=None, seed=0, verbose=2,
                 train_split="trainval", eval_split="test", **overrides):
    """Trains a Terminator preset; returns model, metrics and metadata.

    The train+val split is loaded once: it sizes the schedule and is
    trained on. The dtype policy is the caller's (`zoo.training.train`
    sets it). With the defaults (no overrides, `"trainval"` / `"test"`)
    this is the bundled preset's recipe; `zoo.search` runs trials with
    `train_split="train"`, `eval_split="val"` and config overrides.

    Args:
        name: str. A key of `terminator_presets.PRESETS`.
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned.
        train_split: str. The split trained on (`"trainval"`, or
            `"train"` to keep `"val"` for model selection).
        eval_split: str. The split of the returned metrics.
        **overrides: passed to `build_terminator` (ablations, search):
            preset entries (`learning_rate`, `epochs`, ...), optimizer
            settings (`weight_decay`) or backbone arguments
            (`hidden_dims`, `stem_channels`, `local_kernel_sizes`,
            `dropout`, ...).

    Example:

    ```python
    zoo.training.train("terminator_2d_digits", "runs/t2d")
    ```
    """
    cfg = preset_config(name)
    changed = dict(overrides)
    if epochs is not None:
        overrides["epochs"] = epochs
    epochs = overrides.get("epochs", cfg["epochs"])
    x, y = load_data(cfg["dataset"], train_split, cfg["shuffled"])
    model = build_terminator(name, seed=seed, num_train=len(y),
                             **overrides)
    metrics = fit_model(model, cfg["dataset"], cfg["shuffled"], epochs,
                        cfg["batch_size"], out_dir, verbose, data=(x, y),
                        eval_split=eval_split)
    metadata = _metadata(cfg, epochs)
    if (train_split, eval_split) != ("trainval", "test"):
        metadata["split"] = {
            "train": f"{train_split} ({len(y)})",
            eval_split: f"{eval_split} ({metrics['num_examples']})",
        }
    if changed:
        metadata["overrides"] = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in changed.items()
        }
    return model, metrics, metadata

