"""Recipe and evaluator of the DyVTE preset `token_exit_vlm_scenes`.

The VLM (`SCENES_PRESET` in `token_exit_presets`) is trained on fresh
tiny-scenes questions (`zoo.data.tiny_scenes`): stage 1 sees `chunks`
new chunks of `chunk_size` training examples, one pass each (unlimited
data, no example seen twice), with a warm-up + cosine Adam schedule over
all of them. As in the paper, stage 1 trains the VLM alone, without
exits (`exit_aware_fraction = 0`); the recipe can also run an
exit-aware stage 1, a deviation from the paper, where that fraction of
the examples has its image keys masked after a random layer in
`[L/4, L-1]`, pushing the image into the text tokens early. Stage 2
trains the routers exactly as `token_exit_training.train_routers` (one
random exit layer per batch, DyVTE labels) on `router_chunks` new
chunks; the exit threshold is chosen on `val_size` validation questions
(`select_threshold`) and the metrics are computed on `test_size` test
questions.
"""

import time

import keras
import numpy as np

from zoo.data import tiny_scenes as scenes
from zoo.token_exit.token_exit_eval import evaluate_exit
from zoo.token_exit.token_exit_presets import SCENES_PRESET
from zoo.token_exit.token_exit_presets import build_scenes_model
from zoo.token_exit.token_exit_training import _schedule
from zoo.token_exit.token_exit_training import select_threshold
from zoo.token_exit.token_exit_training import train_routers

SPLIT_SIZES = {"val": SCENES_PRESET["val_size"],
               "test": SCENES_PRESET["test_size"]}


def scenes_split(split, seed=0, num=None):
    """The fixed evaluation questions of a split (chunk 0).

    Args:
        split: `"train"`, `"val"` or `"test"`.
        seed: int. Data seed.
        num: int or `None` (the preset's size of that split; 5000 for
            train).

    Returns:
        `(x, y, info)` of `zoo.data.tiny_scenes.make_scenes_vqa`.

    Example:

    ```python
    x, y, info = scenes_split("val")
    ```
    """
    if split not in scenes.SPLITS:
        raise ValueError(
            f"`split` must be one of {scenes.SPLITS} (the scenes preset "
            f"has no {split!r} split). Received: split={split!r}"
        )
    num = num or SPLIT_SIZES.get(split, 5000)
    return scenes.make_scenes_vqa(split, num, seed)


def exit_aware_layers(num, num_layers, fraction, rng):
    """Per-example exit layers of an exit-aware stage 1.

    Args:
        num: int. Examples.
        num_layers: int. Decoder layers `L`.
        fraction: float in `[0, 1]`. Share of examples whose image keys
            are masked after a random layer in `[L // 4, L - 1]`
            (`L - 1` keeps the image); the others see the full model.
        rng: `numpy.random.Generator`.

    Returns:
        An int32 array `(num,)`.

    Example:

    ```python
    exit_aware_layers(4, 16, 0.5, np.random.default_rng(0))
    ```
    """
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(
            f"`fraction` must be in [0, 1]. Received: fraction={fraction!r}")
    layers = np.full(num, num_layers - 1, "int32")
    chosen = rng.random(num) < fraction
    layers[chosen] = rng.integers(num_layers // 4, num_layers,
                                  int(chosen.sum()))
    return layers


def train_scenes_vlm(model, chunks, chunk_size, batch_size=128,
                     learning_rate=2e-3, exit_aware_fraction=0.0, seed=0,
                     verbose=2):
    """Stage 1 on `chunks` fresh chunks of training questions.

    Args:
        model: `TokenExitVLM` (routers frozen by the `"vlm"` stage).
        chunks: int. Chunks of new examples, one pass each.
        chunk_size: int. Examples per chunk.
        batch_size: int.
        learning_rate: float. Peak of a warm-up + cosine Adam schedule
            spanning every chunk.
        exit_aware_fraction: float. See `exit_aware_layers` (0: the
            paper's stage 1).
        seed: int. Data seed (chunks `0..chunks-1` of the train split).
        verbose: int. Keras verbosity of each chunk's pass.

    Returns:
        A list of per-chunk dicts (`chunk`, `loss`, `accuracy`).

    Example:

    ```python
    train_scenes_vlm(model, chunks=1, chunk_size=256)
    ```
    """
    model.set_stage("vlm")
    steps = chunks * -(-chunk_size // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(
        _schedule(learning_rate, steps), clipnorm=1.0))
    rng = np.random.default_rng([seed, 17])
    last = model.backbone.num_layers - 1
    log = []
    for chunk in range(chunks):
        x, y, _ = scenes.make_scenes_vqa("train", chunk_size, seed,
                                         chunk=chunk)
        x["exit_layers"] = exit_aware_layers(len(y), last + 1,
                                             exit_aware_fraction, rng)
        hist = model.fit(x, y, epochs=1, batch_size=batch_size,
                         shuffle=True, verbose=verbose)
        log.append({"chunk": chunk,
                    "loss": float(hist.history["loss"][-1]),
                    "accuracy": float(hist.history.get(
                        "accuracy", [np.nan])[-1])})
    return log


def train_scenes_preset(epochs=None, out_dir=None, seed=0, verbose=2,
                        **overrides):
    """Both stages, threshold choice and test metrics of the preset.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`); `epochs` counts stage-1
            chunks of fresh data (default the preset's `chunks`);
            `out_dir` is unused.
        **overrides: recipe keys of `SCENES_PRESET` (`chunk_size`,
            `exit_aware_fraction`, ...) or backbone arguments.

    Returns:
        `(model, test_metrics, metadata)`.

    Example:

    ```python
    zoo.training.train("token_exit_vlm_scenes", "runs/tes")
    ```
    """
    cfg = dict(SCENES_PRESET)
    backbone_args = {}
    for key, value in overrides.items():
        if key in cfg and key != "backbone":
            cfg[key] = value
        else:
            backbone_args[key] = value
    chunks = epochs or cfg["chunks"]
    model = build_scenes_model(seed, **backbone_args)
    start = time.perf_counter()
    vlm_log = train_scenes_vlm(
        model, chunks, cfg["chunk_size"], cfg["vlm_batch_size"],
        cfg["vlm_learning_rate"], cfg["exit_aware_fraction"], seed,
        verbose)
    vlm_seconds = time.perf_counter() - start
    start = time.perf_counter()
    xr, yr, _ = scenes.make_scenes_vqa(
        "train", cfg["chunk_size"] * cfg["router_chunks"], seed,
        chunk=chunks)
    router_log = train_routers(
        model, xr, yr, 1, cfg["router_batch_size"],
        cfg["router_learning_rate"], seed, verbose=int(verbose > 0))
    router_seconds = time.perf_counter() - start
    xv, yv, _ = scenes_split("val", seed)
    threshold, val_rows = select_threshold(model, xv, yv)
    model.exit_threshold = float(threshold)
    model.set_stage("vlm")
    model.compile()
    metrics = evaluate_scenes_vqa(model, "test", speed=False)
    metrics["parameters"] = int(model.count_params())
    metrics["router_parameters"] = int(sum(
        r.count_params() for r in model.backbone.routers))
    seconds = {"vlm": round(vlm_seconds, 1),
               "routers": round(router_seconds, 1)}
    metadata = _metadata(model.backbone, cfg, chunks, seconds, vlm_log,
                         router_log, val_rows)
    return model, metrics, metadata


def family_metrics(model, x, y, info, out=None):
    """Accuracy and exit layers per question family.

    Args:
        model: `TokenExitVLM`.
        x: input dict.
        y: answers.
        info: the info dict of `make_scenes_vqa`.
        out: `predict_with_exit` output for `x` (computed if `None`).

    Returns:
        A list of dicts: `family`, `num_examples`, `accuracy_full`,
        `accuracy_exit`, `mean_exit_layer`, `std_exit_layer`.

    Example:

    ```python
    rows = family_metrics(model, *scenes_split("test"))
    ```
    """
    if out is None:
        out = model.predict_with_exit(x)
    rows = []
    for f, family in enumerate(scenes.FAMILIES):
        sel = info["family"] == f
        if not sel.any():
            continue
        exits = out["exit_layers"][sel]
        rows.append({
            "family": family,
            "num_examples": int(sel.sum()),
            "accuracy_full": float(np.mean(
                out["full_logits"][sel].argmax(-1) == y[sel])),
            "accuracy_exit": float(np.mean(
                out["logits"][sel].argmax(-1) == y[sel])),
            "mean_exit_layer": float(np.mean(exits)),
            "std_exit_layer": float(np.std(exits)),
        })
    return rows


def evaluate_scenes_vqa(model, split="test", speed=True):
    """Evaluator of `python -m zoo eval token_exit_vlm_scenes`.

    Args:
        model: `TokenExitVLM` trained on tiny scenes.
        split: str. `"val"` or `"test"` (fixed questions, data seed 0).
        speed: bool. Also measure `prefill_speedup_batch1` (compiled
            batch-1 removal path vs the compiled full model, one run on
            this machine) where the backend compiles.

    Returns:
        A dict: `accuracy_full`, `accuracy_exit`, `flops_saved`,
        `mean_exit_layer`, `num_examples`, `threshold`, per-family
        `mean_exit_layer_<family>`, and `prefill_speedup_batch1`.

    Example:

    ```python
    evaluate_scenes_vqa(zoo.load("token_exit_vlm_scenes"))
    ```
    """
    x, y, info = scenes_split(split)
    metrics, out = evaluate_exit(model, x, y)
    metrics["num_examples"] = int(len(y))
    metrics["threshold"] = model.exit_threshold
    for row in family_metrics(model, x, y, info, out):
        metrics[f"mean_exit_layer_{row['family']}"] = row["mean_exit_layer"]
        metrics[f"accuracy_exit_{row['family']}"] = row["accuracy_exit"]
    if speed:
        from zoo.token_exit.token_exit_eval import add_prefill_speedup

        add_prefill_speedup(model, x, metrics)
    return metrics


def _metadata(backbone, cfg, chunks, seconds, vlm_log, router_log,
              val_rows):
    aware = cfg["exit_aware_fraction"]
    return {
        "description": (
            f"Decoder-only VLM ({backbone.num_layers} layers, "
            f"d={backbone.hidden_dim}) on procedural tiny-scenes "
            "questions with DyVTE visual-token exit routers"
        ),
        "dataset": "tiny_scenes_vqa",
        "split": {"train": f"{chunks} fresh chunks x {cfg['chunk_size']} "
                           "questions (stage 1) + "
                           f"{cfg['router_chunks']} (routers)",
                  "val": f"{cfg['val_size']} questions (threshold choice)",
                  "test": f"{cfg['test_size']} questions"},
        "vlm_epochs": chunks,
        "chunk_size": cfg["chunk_size"],
        "router_epochs": cfg["router_chunks"],
        "exit_aware_fraction": aware,
        "stage1": ("paper: no exits" if not aware else
                   f"exit-aware deviation: {aware:.0%} of examples lose "
                   "the image after a random layer"),
        "batch_size": cfg["vlm_batch_size"],
        "optimizer": (f"adam(peak {cfg['vlm_learning_rate']} / routers "
                      f"{cfg['router_learning_rate']}, 5% warm-up, cosine)"),
        "seconds": seconds,
        "vlm_log": vlm_log,
        "router_log": router_log,
        "threshold_selection": val_rows,
        "label_names": list(scenes.ANSWERS),
        "vocabulary": list(scenes.VOCABULARY),
        "question_types": list(scenes.FAMILIES),
        "input_kind": "tiny_scenes_vqa",
        "input_spec": (
            "dict: images float32 (batch, 24, 24, 3) RGB in [0, 1], "
            "token_ids int32 (batch, 9) from "
            "zoo.data.tiny_scenes.encode_words, exit_layers int32 "
            f"(batch,) ({backbone.num_layers - 1} = full model)"
        ),
        "pipeline_tag": "visual-question-answering",
        "license": "apache-2.0",
        "references": [
            "Li et al., 2024. Dynamic Visual-Token Exit and the Empirical "
            "Findings of MLLMs (DyVTE). arXiv:2411.19628",
        ],
    }
