"""Evaluation of the DyVTE VLM: accuracy with and without exits, FLOPs.

The preset's metrics (`evaluate_digits_vqa`) are computed on the digit
questions of `zoo.data.digits_vqa`: accuracy of the full model and of the
dynamically exited one (routers with the model's `exit_threshold`), the
analytic share of decoder prefill FLOPs the exits save and the mean exit
layer, and the batch-1 prefill speed-up of the compiled removal path
(`add_prefill_speedup`, `zoo.token_exit.token_exit_fast`).
"""

import keras
import numpy as np

from zoo.data.digits_vqa import make_vqa

EVAL_BATCH_SIZE = 256
# Batch-1 timing in the evaluators: questions x interleaved repeats.
SPEED_QUESTIONS = 48
SPEED_REPEATS = 3


def exit_logits(model, x, exit_layer=None, batch_size=EVAL_BATCH_SIZE):
    """Answer logits with one static exit layer for every example.

    Args:
        model: `TokenExitVLM`.
        x: input dict with `images` and `token_ids` (`exit_layers` is
            ignored).
        exit_layer: int in `[-1, L-1]`, or `None` for the full model.
        batch_size: int.

    Returns:
        A float32 numpy array `(N, num_answers)`.

    Example:

    ```python
    logits = exit_logits(model, x, exit_layer=3)
    ```
    """
    n = len(x["images"])
    last = model.backbone.num_layers - 1
    k = last if exit_layer is None else exit_layer
    out = []
    for s in range(0, n, batch_size):
        batch = {"images": x["images"][s:s + batch_size],
                 "token_ids": x["token_ids"][s:s + batch_size]}
        exits = np.full(len(batch["images"]), k, "int32")
        out.append(keras.ops.convert_to_numpy(
            model.answer_logits(batch, exits)))
    return np.concatenate(out)


def exit_label_rates(model, x, y, batch_size=EVAL_BATCH_SIZE):
    """Share of DyVTE "exit" labels per exit layer (frozen model).

    Args:
        model: `TokenExitVLM`.
        x: input dict.
        y: answers.
        batch_size: int.

    Returns:
        A float numpy array `(num_layers,)`.

    Example:

    ```python
    exit_label_rates(model, x, y)
    ```
    """
    from layers.token_exit import token_exit_labels

    rates = []
    full = exit_logits(model, x, None, batch_size)
    for k in range(model.backbone.num_layers):
        exited = exit_logits(model, x, k, batch_size)
        labels = keras.ops.convert_to_numpy(
            token_exit_labels(full, exited, y))
        rates.append(float(np.mean(labels)))
    return np.array(rates)


def flops_saved(backbone, exit_layers, router_calls=True):
    """Analytic share of decoder prefill FLOPs saved by the exits.

    Args:
        backbone: `TokenExitVLMBackbone`.
        exit_layers: int array of exit layers.
        router_calls: bool. Charge the routers evaluated up to the exit
            (dynamic exit); `False` for a static exit layer.

    Returns:
        A float: `1 - sum(exited FLOPs) / sum(full FLOPs, no routers)`.

    Example:

    ```python
    flops_saved(model.backbone, [3, 9])
    ```
    """
    exit_layers = np.asarray(exit_layers)
    full = backbone.prefill_flops(
        np.full(exit_layers.shape, backbone.num_layers - 1),
        router_calls=False)
    exited = backbone.prefill_flops(exit_layers, router_calls=router_calls)
    return float(1.0 - exited.sum() / full.sum())


def evaluate_exit(model, x, y, threshold=None):
    """Full vs exited accuracy, exit layers and FLOPs saved.

    Args:
        model: `TokenExitVLM`.
        x: input dict.
        y: answers.
        threshold: float or `None` (the model's `exit_threshold`).

    Returns:
        A dict of metrics and the raw `predict_with_exit` output.

    Example:

    ```python
    metrics, out = evaluate_exit(model, x, y, threshold=0.9)
    ```
    """
    out = model.predict_with_exit(x, threshold, EVAL_BATCH_SIZE)
    metrics = {
        "accuracy_full": float(np.mean(out["full_logits"].argmax(-1) == y)),
        "accuracy_exit": float(np.mean(out["logits"].argmax(-1) == y)),
        "flops_saved": flops_saved(model.backbone, out["exit_layers"]),
        "mean_exit_layer": float(np.mean(out["exit_layers"])),
    }
    return metrics, out


def add_prefill_speedup(model, x, metrics, num_questions=SPEED_QUESTIONS,
                        repeats=SPEED_REPEATS):
    """Adds `prefill_speedup_batch1` (one timing run) to `metrics`.

    The ratio of the median batch-1 latency of the full model compiled
    as one function to that of the compiled removal path with the
    model's routers and threshold
    (`token_exit_fast.measure_prefill_speedup`, fused execution), on
    the first `num_questions` examples of `x`, on this machine and
    backend (PyTorch: both eager). One run: expect a few percent of
    noise on a busy machine.

    Args:
        model: `TokenExitVLM`.
        x: input dict with `images` and `token_ids`.
        metrics: dict, updated in place.
        num_questions: int.
        repeats: int.

    Returns:
        `metrics`, with `prefill_speedup_batch1` and
        `prefill_speedup_batch1_exit_layer` (mean exit layer of the
        timed questions).

    Example:

    ```python
    add_prefill_speedup(model, x, metrics)["prefill_speedup_batch1"]
    ```
    """
    from zoo.token_exit.token_exit_fast import measure_prefill_speedup

    out = measure_prefill_speedup(model, x, num_questions, repeats)
    metrics["prefill_speedup_batch1"] = round(float(out["speedup"]), 3)
    metrics["prefill_speedup_batch1_exit_layer"] = out["mean_exit_layer"]
    return metrics


def evaluate_digits_vqa(model, split="test", speed=True):
    """Evaluator of `python -m zoo eval token_exit_vlm_digits`.

    Args:
        model: `TokenExitVLM`.
        split: str.
        speed: bool. Also measure `prefill_speedup_batch1`
            (`add_prefill_speedup`, one run on this machine).

    Returns:
        A dict: `accuracy_full`, `accuracy_exit`, `flops_saved`,
        `mean_exit_layer`, `num_examples`, `threshold` and
        `prefill_speedup_batch1`.

    Example:

    ```python
    evaluate_digits_vqa(zoo.load("token_exit_vlm_digits"))
    ```
    """
    x, y, _ = make_vqa(split, seed=0)
    metrics, _ = evaluate_exit(model, x, y)
    metrics["num_examples"] = int(len(y))
    metrics["threshold"] = model.exit_threshold
    if speed:
        add_prefill_speedup(model, x, metrics)
    return metrics
