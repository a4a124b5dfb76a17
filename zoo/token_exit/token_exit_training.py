"""Two-stage training recipe of the DyVTE preset `token_exit_vlm_digits`.

Stage 1 trains the VLM from scratch on the digit questions of the train
split (routers frozen); stage 2 freezes it and trains the routers as
DyVTE does (one exit layer per batch drawn uniformly from `0..L-1`,
duplicated batch, agreement / loss-ratio labels, router cross-entropy
only); the exit threshold is the one with the largest FLOPs saving whose
accuracy drop on the validation split is <= `MAX_VAL_DROP` (0.5 =
DyVTE's argmax when none qualifies better). Metrics are computed on the
test split.
"""

import time

import keras
import numpy as np

from zoo.data.digits_vqa import ANSWERS
from zoo.data.digits_vqa import QUESTION_TYPES
from zoo.data.digits_vqa import VOCABULARY
from zoo.data.digits_vqa import make_vqa
from zoo.token_exit.token_exit_eval import evaluate_digits_vqa
from zoo.token_exit.token_exit_eval import evaluate_exit
from zoo.token_exit.token_exit_presets import MAX_VAL_DROP
from zoo.token_exit.token_exit_presets import PRESET
from zoo.token_exit.token_exit_presets import THRESHOLDS
from zoo.token_exit.token_exit_presets import build_model


def full_inputs(backbone, x):
    """`x` with `exit_layers` set to the full model (`L - 1`).

    Args:
        backbone: `TokenExitVLMBackbone`.
        x: input dict with `images` and `token_ids`.

    Returns:
        A new dict.

    Example:

    ```python
    model.predict(full_inputs(model.backbone, x))
    ```
    """
    return dict(x, exit_layers=np.full(len(x["images"]),
                                       backbone.num_layers - 1, "int32"))


def _schedule(peak, steps):
    warmup = max(1, steps // 20)
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, steps - warmup), alpha=0.0, warmup_target=peak,
        warmup_steps=warmup,
    )


def train_vlm(model, x, y, epochs, batch_size=64, learning_rate=2e-3,
              verbose=2):
    """Stage 1: trains everything but the routers on the answers.

    Args:
        model: `TokenExitVLM`.
        x: input dict (full model: `exit_layers` >= L - 1).
        y: answers.
        epochs: int.
        batch_size: int.
        learning_rate: float. Peak of a warm-up + cosine schedule (Adam).
        verbose: int.

    Returns:
        The Keras `History`.

    Example:

    ```python
    train_vlm(model, x, y, epochs=1)
    ```
    """
    model.set_stage("vlm")
    steps = epochs * -(-len(y) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(
        _schedule(learning_rate, steps), clipnorm=1.0))
    return model.fit(full_inputs(model.backbone, x), y, epochs=epochs,
                     batch_size=batch_size, shuffle=True, verbose=verbose)


def train_routers(model, x, y, epochs, batch_size=64, learning_rate=1e-3,
                  seed=0, verbose=1):
    """Stage 2: DyVTE router training on the frozen model.

    Each batch draws one exit layer `k ~ U{0..L-1}` (numpy, seeded) and
    runs `train_on_batch` with `exit_layers = k` in the `"router"` stage.

    Args:
        model: `TokenExitVLM` (trained stage 1).
        x: input dict.
        y: answers.
        epochs: int.
        batch_size: int.
        learning_rate: float. Adam, warm-up + cosine.
        seed: int.
        verbose: int. 1 prints one line per epoch.

    Returns:
        A list of per-epoch dicts: the epoch and its mean router loss.

    Example:

    ```python
    log = train_routers(model, x, y, epochs=1)
    ```
    """
    model.set_stage("router")
    num = len(y)
    steps_per_epoch = -(-num // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(
        _schedule(learning_rate, epochs * steps_per_epoch)))
    rng = np.random.default_rng(seed)
    layers_count = model.backbone.num_layers
    log = []
    for epoch in range(epochs):
        order = rng.permutation(num)
        losses = []
        for s in range(0, num, batch_size):
            idx = order[s:s + batch_size]
            k = int(rng.integers(0, layers_count))
            xb = {"images": x["images"][idx],
                  "token_ids": x["token_ids"][idx],
                  "exit_layers": np.full(len(idx), k, "int32")}
            out = model.train_on_batch(xb, y[idx], return_dict=True)
            losses.append(float(out["loss"]))
        log.append({"epoch": epoch, "router_loss": float(np.mean(losses))})
        if verbose:
            print(f"router epoch {epoch}: loss {log[-1]['router_loss']:.4f}",
                  flush=True)
    return log


def select_threshold(model, x, y):
    """The threshold with the largest FLOPs saving within `MAX_VAL_DROP`.

    Args:
        model: `TokenExitVLM` with trained routers.
        x: input dict of a selection split (never the test split).
        y: its answers.

    Returns:
        `(threshold, rows)`: the chosen threshold and one metrics dict
        per candidate of `THRESHOLDS` (the largest candidate when none
        keeps the drop within `MAX_VAL_DROP`).

    Example:

    ```python
    threshold, rows = select_threshold(model, x_val, y_val)
    ```
    """
    rows, best = [], None
    for t in THRESHOLDS:
        m, _ = evaluate_exit(model, x, y, t)
        m["threshold"] = t
        rows.append(m)
        drop = m["accuracy_full"] - m["accuracy_exit"]
        if drop <= MAX_VAL_DROP and (
            best is None or m["flops_saved"] > best["flops_saved"]
        ):
            best = m
    return (best or rows[-1])["threshold"], rows


def choose_threshold(model, split="val", seed=0):
    """`select_threshold` on the digit questions of a split.

    Args:
        model: `TokenExitVLM` with trained routers.
        split: str. Selection split (never the test split).
        seed: int. Question seed.

    Returns:
        `(threshold, rows)` as `select_threshold`.

    Example:

    ```python
    threshold, rows = choose_threshold(model, "val")
    ```
    """
    if split == "test":
        raise ValueError("The threshold must not be chosen on the test set.")
    x, y, _ = make_vqa(split, seed)
    return select_threshold(model, x, y)


def train_preset(epochs=None, out_dir=None, seed=0, verbose=2, **overrides):
    """Both stages, threshold choice and test metrics of the preset.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs` counts stage-1 epochs (stage 2 keeps its
            budget) and `out_dir` is unused (no checkpoints: a few CPU
            minutes).
        **overrides: backbone arguments.

    Example:

    ```python
    zoo.training.train("token_exit_vlm_digits", "runs/tev")
    ```
    """
    cfg = PRESET
    epochs = epochs or cfg["vlm_epochs"]
    model = build_model(seed, **overrides)
    x, y, _ = make_vqa("train", seed, cfg["train_row_questions"])
    start = time.perf_counter()
    train_vlm(model, x, y, epochs, cfg["vlm_batch_size"],
              cfg["vlm_learning_rate"], verbose)
    vlm_seconds = time.perf_counter() - start
    start = time.perf_counter()
    router_log = train_routers(
        model, x, y, cfg["router_epochs"], cfg["router_batch_size"],
        cfg["router_learning_rate"], seed, verbose=int(verbose > 0))
    router_seconds = time.perf_counter() - start
    threshold, val_rows = choose_threshold(model, "val", seed)
    model.exit_threshold = float(threshold)
    model.set_stage("vlm")
    model.compile()
    metrics = evaluate_digits_vqa(model, "test")
    metrics["parameters"] = int(model.count_params())
    metrics["router_parameters"] = int(sum(
        r.count_params() for r in model.backbone.routers))
    seconds = {"vlm": round(vlm_seconds, 1),
               "routers": round(router_seconds, 1)}
    metadata = _metadata(model.backbone, epochs, seconds, router_log,
                         val_rows)
    return model, metrics, metadata


def _metadata(backbone, epochs, seconds, router_log, val_rows):
    cfg = PRESET
    return {
        "description": (
            f"Tiny decoder-only VLM ({backbone.num_layers} layers, "
            f"d={backbone.hidden_dim}) on digit questions with DyVTE "
            "visual-token exit routers"
        ),
        "dataset": "digits_vqa",
        "split": {"train": "train (1077 images x 5 questions)",
                  "val": "val (180 images x 4, threshold choice)",
                  "test": "test (540 images x 4)"},
        "vlm_epochs": epochs,
        "router_epochs": cfg["router_epochs"],
        "batch_size": cfg["vlm_batch_size"],
        "optimizer": (f"adam(peak {cfg['vlm_learning_rate']} / routers "
                      f"{cfg['router_learning_rate']}, 5% warm-up, cosine)"),
        "seconds": seconds,
        "router_log": router_log,
        "threshold_selection": val_rows,
        "label_names": list(ANSWERS),
        "vocabulary": list(VOCABULARY),
        "question_types": list(QUESTION_TYPES),
        "input_kind": "digits_vqa",
        "input_spec": (
            "dict: images float32 (batch, 16, 16, 1) (8x8 digit upsampled, "
            "ink 1), token_ids int32 (batch, 6) from "
            "zoo.data.digits_vqa.encode_question, exit_layers int32 "
            f"(batch,) ({backbone.num_layers - 1} = full model)"
        ),
        "pipeline_tag": "visual-question-answering",
        "license": "apache-2.0",
        "references": [
            "Li et al., 2024. Dynamic Visual-Token Exit and the Empirical "
            "Findings of MLLMs (DyVTE). arXiv:2411.19628",
        ],
    }
