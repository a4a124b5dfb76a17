"""Baselines of the Terminator presets' comparison (scripts/train_terminator).

Trained by the same script with the same data, epochs, batch size and
schedule as the presets: the MNIST-1D paper's CNN and GRU (also with
that paper's own loop, `PAPER_RECIPE`), a strong plain CNN (BatchNorm,
global pooling, ~200k parameters) and, for digits, the plain CNN of
`zoo.baselines.digits_cnn`.
"""

import keras

from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.task import head_dtype_policy
from zoo.terminator.terminator_presets import make_optimizer
from zoo.terminator.terminator_presets import num_steps

# The MNIST-1D paper's own training loop for its baselines (Adam at a
# constant 1e-2, batch 100, 6000 steps = 150 epochs of 4000), run next to
# the shared-budget rows so that the anchors (CNN 94 %, GRU 91 %) are
# reproduced rather than assumed.
PAPER_RECIPE = dict(learning_rate=1e-2, batch_size=100, epochs=150,
                    schedule="constant")
KINDS = ("mnist1d_cnn", "mnist1d_gru", "strong_cnn", "digits_cnn",
         "mnist1d_mlp", "strong_mlp")


def _compile_baseline(model, cfg, num_train):
    if cfg["schedule"] == "constant":
        optimizer = keras.optimizers.Adam(cfg["learning_rate"])
    else:
        steps = num_steps(cfg["epochs"], num_train, cfg["batch_size"])
        optimizer = make_optimizer("adam", cfg["learning_rate"], steps)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy("accuracy")],
    )
    return model


def _mnist1d_features(kind, x, seed):
    init = keras.initializers.HeNormal
    if kind in ("mnist1d_mlp", "strong_mlp"):
        x = keras.layers.Flatten()(x)
        widths = (100, 100) if kind == "mnist1d_mlp" else (512, 512, 512)
        for i, width in enumerate(widths):
            x = keras.layers.Dense(width, kernel_initializer=init(seed + i),
                                   name=f"dense_{i}")(x)
            if kind == "strong_mlp":
                x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
            x = keras.layers.ReLU()(x)
            if kind == "strong_mlp":
                x = keras.layers.Dropout(0.3, seed=seed + i)(x)
        return x
    if kind == "mnist1d_cnn":
        for i, size in enumerate((5, 3, 3)):
            x = keras.layers.ZeroPadding1D(1)(x)
            x = keras.layers.Conv1D(25, size, strides=2, activation="relu",
                                    kernel_initializer=init(seed + i),
                                    name=f"conv_{i}")(x)
        return keras.layers.Flatten()(x)
    if kind == "mnist1d_gru":
        x = keras.layers.Bidirectional(
            keras.layers.GRU(6, return_sequences=True, seed=seed),
            name="gru",
        )(x)
        return keras.layers.Flatten()(x)
    for i, width in enumerate((48, 96, 128, 128, 128, 128)):
        x = keras.layers.Conv1D(width, 3, padding="same", use_bias=False,
                                kernel_initializer=init(seed + i),
                                name=f"conv_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = keras.layers.ReLU()(x)
    return keras.layers.GlobalAveragePooling1D()(x)


def build_baseline(kind, seed=0, epochs=None, learning_rate=1e-3,
                   batch_size=64, num_train=4000, schedule="cosine"):
    """A baseline classifier, compiled (Adam, warm-up + cosine).

    Kinds:
    - `"mnist1d_cnn"`: the MNIST-1D paper's CNN (`ConvBase` of its code:
      Conv1D(25, 5), Conv1D(25, 3), Conv1D(25, 3), each stride 2,
      padding 1, ReLU, then a linear layer; 5,210 parameters).
    - `"mnist1d_gru"`: the paper's GRU (bidirectional, 6 units, all time
      steps into a linear layer).
    - `"strong_cnn"`: 6 × (Conv1D(k=3) + BatchNorm + ReLU), widths 48, 96,
      128, 128, 128, 128, global average pooling, linear (~198k).
    - `"digits_cnn"`: `zoo.DigitsCNNClassifier` (Conv-BN-ReLU 32,
      max-pool, 64, global pooling).
    - `"mnist1d_mlp"`: the MNIST-1D paper's MLP 40-100-100-10 (ReLU;
      15,210 parameters): no locality prior, so it is blind to a fixed
      permutation of the positions.
    - `"strong_mlp"`: 40-512-512-512-10 with BatchNorm, ReLU and
      dropout 0.3 after every hidden layer (~550k parameters).

    Args:
        kind: str. One of the kinds above.
        seed: int. Initialiser seed.
        epochs: int. For the schedule (defaults to 60).
        learning_rate: float. Peak learning rate.
        batch_size: int. For the schedule.
        num_train: int. Training set size, for the schedule.
        schedule: str. `"cosine"` (8 % linear warm-up, then cosine
            decay) or `"constant"` (the MNIST-1D paper's fixed rate).

    Returns:
        A compiled `keras.Model` returning logits.

    Example:

    ```python
    model = build_baseline("strong_cnn")
    ```
    """
    if schedule not in ("cosine", "constant"):
        raise ValueError(
            "`schedule` must be 'cosine' or 'constant'. Received: "
            f"schedule={schedule!r}"
        )
    if kind not in KINDS:
        raise ValueError(
            f"`kind` must be one of {KINDS}. Received: kind={kind!r}"
        )
    cfg = dict(epochs=epochs or 60, batch_size=batch_size,
               learning_rate=learning_rate, schedule=schedule)
    if kind == "digits_cnn":
        model = DigitsCNNClassifier(DigitsCNNBackbone(seed=seed),
                                    num_classes=10)
        return _compile_baseline(model, cfg, num_train)
    inputs = keras.Input((40, 1), name="features")
    x = _mnist1d_features(kind, inputs, seed)
    outputs = keras.layers.Dense(10, dtype=head_dtype_policy(),
                                 name="predictions")(x)
    model = keras.Model(inputs, outputs, name=kind)
    return _compile_baseline(model, cfg, num_train)
