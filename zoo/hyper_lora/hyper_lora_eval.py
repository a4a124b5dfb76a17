"""HyperLoRA evaluation on unseen writers: base, tuned, hyper, refined.

For every unseen subject (5 labelled support digits, the other digits
of the split as queries, all in the subject's style):

- `base`: the frozen base classifier;
- `tuned`: per-subject LoRA fine-tuning of the same adapter (same
  targets and rank) from LoRA's init (A random, B = 0) on the 5
  support examples, `tune_steps` full-batch Adam steps;
- `hyper`: the generated adapter, one forward pass of the set encoder
  and hypernetwork;
- `refined`: HyperDreamBooth-style, `refine_steps` Adam steps from the
  generated adapter.

Wall times are per subject, after one warm-up subject (compilation
excluded for every method).
"""

import time

import keras
import numpy as np
from keras import ops

from zoo.hyper_lora.hyper_lora_classifier import SubjectAdapter
from zoo.hyper_lora.hyper_lora_data import subject_episode
from zoo.hyper_lora.hyper_lora_data import subject_seeds

TUNE_STEPS = 100
REFINE_STEPS = 10
TUNE_LEARNING_RATE = 1e-2
REFINE_LEARNING_RATE = 1e-3


def _accuracy(logits, labels):
    logits = np.asarray(ops.convert_to_numpy(logits))
    return float((logits.argmax(axis=-1) == labels).mean())


class AdapterTuner:
    """Fine-tunes one subject's LoRA factors on its support set.

    Args:
        model: `zoo.HyperLoRAClassifier`.
        learning_rate: float. Adam learning rate.

    Example:

    ```python
    tuner = AdapterTuner(model)
    tuner.reset(None)
    tuner.fit(support_images, support_labels, 100)
    ```
    """

    def __init__(self, model, learning_rate=TUNE_LEARNING_RATE):
        backbone = model.backbone
        s = backbone.image_size
        images = keras.Input((s, s, 1))
        self.adapter = SubjectAdapter(backbone)
        self.model = keras.Model(images, self.adapter(images))
        self.model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True))

    def reset(self, factors, seed=0):
        """Sets the factors (or LoRA init) and clears Adam's state.

        Args:
            factors: dict `{path: (A, B)}` or `None`.
            seed: int.
        """
        self.adapter.reset(factors, seed)
        for v in self.model.optimizer.variables:
            if "learning_rate" not in v.path:
                v.assign(np.zeros(v.shape, v.dtype))

    def set_learning_rate(self, learning_rate):
        """Sets Adam's learning rate (no recompilation).

        Args:
            learning_rate: float.
        """
        self.model.optimizer.learning_rate.assign(float(learning_rate))

    def fit(self, images, labels, steps):
        """`steps` full-batch Adam steps on the support set.

        Args:
            images: `(k, s, s, 1)`.
            labels: `(k,)` int.
            steps: int.
        """
        for _ in range(int(steps)):
            self.model.train_on_batch(images, labels)

    def accuracy(self, images, labels):
        """Accuracy of the adapted base on queries.

        Args:
            images: `(q, s, s, 1)`.
            labels: `(q,)` int.

        Returns:
            float.
        """
        return _accuracy(self.model.predict_on_batch(images), labels)


def evaluate_subjects(model, split="test", tune_steps=TUNE_STEPS,
                      refine_steps=REFINE_STEPS,
                      learning_rate=TUNE_LEARNING_RATE,
                      refine_learning_rate=REFINE_LEARNING_RATE,
                      num_subjects=None, num_queries=None,
                      tune_checkpoints=()):
    """Per-subject accuracies and wall times of the four methods.

    Args:
        model: `zoo.HyperLoRAClassifier`.
        split: str. `"test"` (unseen writers, digits test split) or
            `"val"`.
        tune_steps: int. Steps of per-subject LoRA fine-tuning.
        refine_steps: int. Steps from the generated adapter.
        learning_rate: float. Adam learning rate of per-subject tuning.
        refine_learning_rate: float. Adam learning rate of the tuning
            from the generated adapter.
        num_subjects: int or `None` (all of the split's writers).
        num_queries: int or `None` (all other digits of the split).
        tune_checkpoints: sequence of int. Extra step counts of the
            per-subject tuning to record (`tuned<k>_acc`,
            `tuned<k>_seconds`, the same run continued).

    Returns:
        list of dicts, one per subject (`seed`, `<method>_acc`,
        `<method>_seconds`).

    Example:

    ```python
    rows = evaluate_subjects(zoo.load("hyper_lora_digits_writers"))
    ```
    """
    seeds = subject_seeds(split)[:num_subjects]
    digits_split = "test" if split == "test" else "val"
    tuner = AdapterTuner(model, learning_rate)
    tune_checkpoints = tuple(int(k) for k in tune_checkpoints)
    rows = []
    # Warm-up: compile every path once (not timed).
    warm = subject_episode(seeds[0], digits_split, num_queries=8)
    tuner.reset(None)
    tuner.fit(warm["support_images"], warm["support_labels"], 1)
    tuner.accuracy(warm["query_images"], warm["query_labels"])
    model.adapter_weights(warm["support_images"], warm["support_labels"])
    model.base.predict_on_batch(warm["query_images"])
    for seed in seeds:
        ep = subject_episode(seed, digits_split, num_queries=num_queries)
        sx, sy = ep["support_images"], ep["support_labels"]
        qx, qy = ep["query_images"], ep["query_labels"]
        row = {"seed": int(seed)}
        row["base_acc"] = _accuracy(model.base.predict_on_batch(qx), qy)
        t0 = time.perf_counter()
        factors = model.adapter_weights(sx, sy)
        row["hyper_seconds"] = time.perf_counter() - t0
        tuner.reset(factors)
        tuner.set_learning_rate(refine_learning_rate)
        row["hyper_acc"] = tuner.accuracy(qx, qy)
        t0 = time.perf_counter()
        tuner.fit(sx, sy, refine_steps)
        row["refined_seconds"] = (time.perf_counter() - t0
                                  + row["hyper_seconds"])
        row["refined_acc"] = tuner.accuracy(qx, qy)
        tuner.reset(None, seed=int(seed))
        tuner.set_learning_rate(learning_rate)
        done, seconds = 0, 0.0
        for k in sorted(set(tune_checkpoints) | {tune_steps}):
            t0 = time.perf_counter()
            tuner.fit(sx, sy, k - done)
            seconds += time.perf_counter() - t0
            done = k
            acc = tuner.accuracy(qx, qy)
            if k in tune_checkpoints:
                row[f"tuned{k}_acc"] = acc
                row[f"tuned{k}_seconds"] = seconds
            if k == tune_steps:
                row["tuned_acc"], row["tuned_seconds"] = acc, seconds
        rows.append(row)
    return rows


def summarize(rows):
    """Means over subjects, the gain ratio and the speed-up.

    Args:
        rows: list of dicts from `evaluate_subjects`.

    Returns:
        dict: `<method>_acc`, `<method>_seconds` (means), `gain_ratio`
        `= (hyper - base) / (tuned - base)`, `refined_gain_ratio`,
        `speedup = tuned_seconds / hyper_seconds`, `num_subjects`.

    Example:

    ```python
    summarize(evaluate_subjects(model))["gain_ratio"]
    ```
    """
    out = {}
    for key in rows[0]:
        if key != "seed":
            out[key] = float(np.mean([r[key] for r in rows]))
    gain = out["tuned_acc"] - out["base_acc"]
    out["gain_ratio"] = (out["hyper_acc"] - out["base_acc"]) / gain \
        if gain else float("nan")
    out["refined_gain_ratio"] = (
        (out["refined_acc"] - out["base_acc"]) / gain
        if gain else float("nan"))
    out["speedup"] = out["tuned_seconds"] / out["hyper_seconds"]
    out["num_subjects"] = len(rows)
    return out


def evaluate_hyper_lora(model, split="test", **kwargs):
    """`summarize(evaluate_subjects(...))` plus `accuracy` (= hyper).

    Args:
        model: `zoo.HyperLoRAClassifier`.
        split: str. `"test"` or `"val"` writers.
        **kwargs: passed to `evaluate_subjects`.

    Returns:
        dict of metrics.

    Example:

    ```python
    evaluate_hyper_lora(zoo.load("hyper_lora_digits_writers"))
    ```
    """
    out = summarize(evaluate_subjects(model, split, **kwargs))
    out["accuracy"] = out["hyper_acc"]
    return out
