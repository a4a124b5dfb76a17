"""Training recipe of the `hyper_lora_digits_writers` preset.

Phase 1 trains the base classifier (tiny keras-hub ViT on clean 16x16
digits, train split). Phase 2 freezes it and trains the set encoder and
the LoRA hypernetwork end to end through the classification loss of
the adapted base, on episodes of procedurally generated training
writers (seeds < 100000; each batch: 8 writers x 8 queries, each query
with its writer's 5 labelled support digits), with the weight-norm
output regulariser. Unseen writers (seeds >= 1000000) are only used by
the evaluator.
"""

import os

import keras
import numpy as np

from zoo.hyper_lora.hyper_lora_backbone import HyperLoRABackbone
from zoo.hyper_lora.hyper_lora_classifier import HyperLoRAClassifier
from zoo.hyper_lora.hyper_lora_data import episode_batch
from zoo.hyper_lora.hyper_lora_data import load_writer_digits
from zoo.hyper_lora.hyper_lora_eval import evaluate_hyper_lora

HYPER_LORA_CONFIG = dict(
    image_size=16, patch_size=4, num_layers=2, num_heads=2, hidden_dim=32,
    mlp_dim=64, num_classes=10, support_size=5, rank=4,
    targets="query|value|mlp|head", hyper_units=(64,), set_units=64,
    condition_dim=32, output_regularization=1e-3)
BASE_EPOCHS = 40
BASE_BATCH_SIZE = 64
HYPER_EPOCHS = 80
STEPS_PER_EPOCH = 100
BATCH_SIZE = 64
SUBJECTS_PER_BATCH = 8
LEARNING_RATE = 1e-3


def build_hyper_lora_classifier(seed=0, **overrides):
    """The preset's compiled `HyperLoRAClassifier` (untrained).

    Args:
        seed: int.
        **overrides: `HyperLoRABackbone` arguments.

    Returns:
        A compiled `zoo.HyperLoRAClassifier`.

    Example:

    ```python
    model = build_hyper_lora_classifier(seed=0)
    ```
    """
    backbone = HyperLoRABackbone(**dict(HYPER_LORA_CONFIG, **overrides),
                                 seed=seed)
    model = HyperLoRAClassifier(backbone)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE,
                                                  clipnorm=1.0))
    return model


class WriterEpisodes(keras.utils.PyDataset):
    """Seeded batches of training writers' queries and support sets.

    Args:
        steps: int. Batches per epoch.
        seed: int.
        batch_size: int.
        subjects_per_batch: int.

    Example:

    ```python
    model.fit(WriterEpisodes(100, 0), epochs=1)
    ```
    """

    def __init__(self, steps, seed, batch_size=BATCH_SIZE,
                 subjects_per_batch=SUBJECTS_PER_BATCH):
        super().__init__()
        self.steps, self.seed = steps, seed
        self.batch_size = batch_size
        self.subjects_per_batch = subjects_per_batch
        self.epoch = 0

    def __len__(self):
        return self.steps

    def on_epoch_end(self):
        """Moves to the next epoch's writers."""
        self.epoch += 1

    def __getitem__(self, index):
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        return episode_batch(rng, "train", self.batch_size,
                             self.subjects_per_batch)


def train_base(model, epochs=BASE_EPOCHS, verbose=0):
    """Phase 1: trains the base ViT classifier on clean digits.

    Args:
        model: `zoo.HyperLoRAClassifier`.
        epochs: int.
        verbose: int.

    Returns:
        The Keras `History`.
    """
    base = model.base
    base.trainable = True
    # A wrapper model is compiled, not the base itself: a compiled
    # sub-model's metrics would sit inside the task's metric state.
    trainer = keras.Model(base.input, base.output)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(
                        from_logits=True), metrics=["accuracy"])
    x, y = load_writer_digits("train")
    history = trainer.fit(np.asarray(x), y, epochs=epochs,
                          batch_size=BASE_BATCH_SIZE, verbose=verbose)
    base.trainable = False
    return history


def train_hyper_lora(epochs=None, out_dir="runs/hyper_lora", seed=0,
                     verbose=1, base_epochs=BASE_EPOCHS, eval_kwargs=None):
    """Trains the base, then the LoRA hypernetwork on training writers.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`); `epochs` counts
            hypernetwork epochs of 100 steps.
        base_epochs: int. Epochs of the base classifier.
        eval_kwargs: dict or `None`. Passed to `evaluate_hyper_lora`.

    Example:

    ```python
    zoo.training.train("hyper_lora_digits_writers", "runs/hyper_lora")
    ```
    """
    epochs = HYPER_EPOCHS if epochs is None else epochs
    keras.utils.set_random_seed(seed)
    model = build_hyper_lora_classifier(seed=seed)
    train_base(model, base_epochs, verbose=0)
    x, y = load_writer_digits("test")
    base_clean = float(
        (np.asarray(model.base.predict(np.asarray(x), verbose=0)).argmax(-1)
         == y).mean())
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE,
                                                  clipnorm=1.0))
    os.makedirs(out_dir, exist_ok=True)
    model.fit(WriterEpisodes(STEPS_PER_EPOCH, seed), epochs=epochs,
              verbose=verbose,
              callbacks=[keras.callbacks.CSVLogger(
                  os.path.join(out_dir, "log.csv"))])
    metrics = evaluate_hyper_lora(model, "test", **(eval_kwargs or {}))
    metrics["base_clean_test_acc"] = base_clean
    metadata = {
        "description": (
            "HyperLoRA: a DeepSets encoder reads 5 labelled digits of a "
            "writer and a hypernetwork emits rank-"
            f"{HYPER_LORA_CONFIG['rank']} LoRA adapters for a frozen tiny "
            "keras-hub ViT (query/value/MLP/head) in one forward pass."),
        "dataset": "digits (16x16) rendered by procedural writers",
        "split": {"base": "digits train, clean",
                  "hypernetwork": "digits train, writers seeds < 1e5",
                  "test": "digits test, 30 unseen writers"},
        "base_epochs": base_epochs,
        "epochs": epochs,
        "steps_per_epoch": STEPS_PER_EPOCH,
        "batch_size": BATCH_SIZE,
        "optimizer": f"Adam({LEARNING_RATE}, clipnorm=1)",
        "input_kind": "digit_writer_episode",
        "input_spec": "dict: images (batch, 16, 16, 1) in [0, 1], "
                      "support_images (batch, 5, 16, 16, 1), "
                      "support_labels (batch, 5) int",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Ruiz et al., 2023. HyperDreamBooth: HyperNetworks for Fast "
            "Personalization of Text-to-Image Models. arXiv:2307.06949",
            "Finetuning-Free Personalization of Text to Image Generation "
            "via Hypernetworks",
            "Hu et al., 2021. LoRA: Low-Rank Adaptation of Large Language "
            "Models. arXiv:2106.09685",
        ],
    }
    return model, metrics, metadata
