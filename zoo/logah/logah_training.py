"""Training recipe of the `logah_mnist1d` preset (and its full-rank twin).

The graph hypernetwork is trained by the task loss of the networks it
predicts: every step samples one training architecture (depth 1-3,
widths 16/32/64), builds its layer graph, and runs a batch of MNIST-1D
signals through the predicted MLP. Held-out architectures (unseen
widths 24/40/48/56 and depth 4) are only used for evaluation.
"""

import os

import keras
import numpy as np

from zoo.data.mnist_1d import load_mnist1d
from zoo.logah.logah_backbone import LogahBackbone
from zoo.logah.logah_classifier import LogahClassifier
from zoo.logah.logah_eval import evaluate_logah
from zoo.logah.logah_graph import HELD_OUT_ARCHITECTURES
from zoo.logah.logah_graph import TRAIN_MAX_DEPTH
from zoo.logah.logah_graph import TRAIN_WIDTHS
from zoo.logah.logah_graph import arch_name
from zoo.logah.logah_graph import batch_graph
from zoo.logah.logah_graph import sample_architecture

LOGAH_CONFIG = dict(max_nodes=6, max_ck=64, hidden_dim=32, num_steps=1,
                    rank=12, decoder_units=(64,))
INPUT_DIM = 40
NUM_CLASSES = 10
STEPS_PER_EPOCH = 100
LOGAH_EPOCHS = 80
LOGAH_BATCH_SIZE = 64
LOGAH_LEARNING_RATE = 1e-3


def build_logah_classifier(full_rank=False, seed=0, **overrides):
    """The preset's compiled `LogahClassifier` (low- or full-rank).

    Args:
        full_rank: bool. Full-block decoder (the comparison).
        seed: int. Initialiser seed.
        **overrides: `LogahBackbone` arguments replacing `LOGAH_CONFIG`.

    Returns:
        A compiled `zoo.LogahClassifier`.

    Example:

    ```python
    model = build_logah_classifier(seed=0)
    ```
    """
    config = dict(LOGAH_CONFIG, **overrides)
    backbone = LogahBackbone(input_dim=INPUT_DIM, num_classes=NUM_CLASSES,
                             full_rank=full_rank, seed=seed, **config)
    model = LogahClassifier(backbone)
    model.compile(optimizer=keras.optimizers.Adam(LOGAH_LEARNING_RATE,
                                                  clipnorm=10.0))
    return model


class ArchitectureBatches(keras.utils.PyDataset):
    """Batches of one sampled architecture each (graph + signals).

    Args:
        x: float32 `(N, input_dim)` signals.
        y: int `(N,)` labels.
        steps: int. Batches per epoch.
        batch_size: int.
        seed: int. Architecture and sample seed.
        max_ck: int.
        max_nodes: int.
        num_classes: int.
        widths: tuple of int. Widths to sample.
        max_depth: int. Largest depth to sample.

    Example:

    ```python
    x, y = load_mnist1d("train")
    model.fit(ArchitectureBatches(x, y, 100, 64, 0, 64, 6, 10), epochs=1)
    ```
    """

    def __init__(self, x, y, steps, batch_size, seed, max_ck, max_nodes,
                 num_classes, widths=TRAIN_WIDTHS,
                 max_depth=TRAIN_MAX_DEPTH):
        super().__init__()
        self.x, self.y = x, y
        self.steps, self.batch_size = steps, batch_size
        self.seed = seed
        self.epoch = 0
        self.kw = dict(input_dim=x.shape[1], num_classes=num_classes,
                       max_ck=max_ck, max_nodes=max_nodes)
        self.widths, self.max_depth = widths, max_depth

    def __len__(self):
        return self.steps

    def on_epoch_end(self):
        """Moves to the next epoch's architectures and samples."""
        self.epoch += 1

    def __getitem__(self, index):
        rng = np.random.default_rng(
            [self.seed, self.epoch, int(index)])
        widths = sample_architecture(rng, self.widths, self.max_depth)
        idx = rng.choice(len(self.x), self.batch_size, replace=False)
        graph = batch_graph(widths, self.batch_size, **self.kw)
        return {"features": self.x[idx], **graph}, self.y[idx]


def train_logah(epochs=None, out_dir="runs/logah_mnist1d", seed=0,
                verbose=1, full_rank=False):
    """Trains the LoGAH graph hypernetwork on MNIST-1D architectures.

    `epochs` x 100 steps of Adam(1e-3, clipnorm 10), batch 64, one
    sampled architecture per step; a CSV log per epoch in `out_dir`.
    Then `evaluate_logah` on the held-out architectures (test split).

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned and who sets the dtype policy.
        full_rank: bool. Train the full-rank decoder instead.

    Example:

    ```python
    zoo.training.train("logah_mnist1d", "runs/logah")
    ```
    """
    epochs = LOGAH_EPOCHS if epochs is None else epochs
    keras.utils.set_random_seed(seed)
    x, y = load_mnist1d("train")
    model = build_logah_classifier(full_rank=full_rank, seed=seed)
    data = ArchitectureBatches(
        x, y, STEPS_PER_EPOCH, LOGAH_BATCH_SIZE, seed,
        LOGAH_CONFIG["max_ck"], LOGAH_CONFIG["max_nodes"], NUM_CLASSES)
    os.makedirs(out_dir, exist_ok=True)
    model.fit(data, epochs=epochs, verbose=verbose,
              callbacks=[keras.callbacks.CSVLogger(
                  os.path.join(out_dir, "log.csv"))])
    metrics = evaluate_logah(model, "test")
    metadata = {
        "description": (
            "LoGAH graph hypernetwork (GatedGNN + low-rank A@B decoder, "
            f"rank {LOGAH_CONFIG['rank']}, max_ck "
            f"{LOGAH_CONFIG['max_ck']}) predicting every weight of MNIST-1D "
            "MLPs from their layer graph."
        ),
        "dataset": "mnist1d",
        "split": {"train": "train (3500)", "test": "test (1000)"},
        "epochs": epochs,
        "steps_per_epoch": STEPS_PER_EPOCH,
        "batch_size": LOGAH_BATCH_SIZE,
        "optimizer": f"Adam({LOGAH_LEARNING_RATE}, clipnorm=10)",
        "full_rank": bool(full_rank),
        "train_architectures": (
            f"depth 1-{TRAIN_MAX_DEPTH}, widths {list(TRAIN_WIDTHS)}"),
        "held_out_architectures": [
            arch_name(a) for a in HELD_OUT_ARCHITECTURES],
        "input_kind": "mnist1d_signal",
        "input_spec": "dict: features float32 (batch, 40) + the target "
                      "MLP's graph (node_features, adjacency, node_mask)",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Zhou et al., 2024. LoGAH: Predicting 774-Million-Parameter "
            "Transformers using Graph HyperNetworks with 1/100 "
            "Parameters. arXiv:2405.16287",
            "Knyazev et al., 2021. Parameter Prediction for Unseen Deep "
            "Architectures. NeurIPS 2021",
        ],
    }
    return model, metrics, metadata
