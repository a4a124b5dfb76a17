"""The plain target CNN of NeuMeta, its weight shapes and its pruning.

`conv3x3(w) -> ReLU -> conv3x3(w) -> ReLU -> global average pool ->
dense(num_classes)` on `(image_size, image_size, num_channels)` images
fed as flat feature vectors. The weight field writes networks of this
shape; the from-scratch references and the pruning baseline are plain
Keras models of the same shape.
"""

import keras
import numpy as np


def cnn_shapes(width, num_channels=1, num_classes=10, kernel_size=3):
    """Keras-layout weight shapes of the target CNN of hidden width `w`.

    Args:
        width: int. Hidden width (channels of both convolutions).
        num_channels: int. Input channels.
        num_classes: int. Outputs.
        kernel_size: int. Convolution kernel side.

    Returns:
        list of 6 shape tuples: conv kernel/bias, conv kernel/bias,
        dense kernel/bias (the order of `model.get_weights()`).

    Example:

    ```python
    cnn_shapes(8)  # [(3, 3, 1, 8), (8,), (3, 3, 8, 8), (8,), (8, 10), ...]
    ```
    """
    k = kernel_size
    return [(k, k, num_channels, width), (width,), (k, k, width, width),
            (width,), (width, num_classes), (num_classes,)]


def cnn_active_sizes(width, num_channels=1, num_classes=10):
    """`(in_size, out_size)` of each target tensor at hidden width `w`.

    Args:
        width: int or scalar tensor. Hidden width.
        num_channels: int. Input channels.
        num_classes: int. Outputs.

    Returns:
        list of 6 `(in, out)` pairs, in `cnn_shapes` order.

    Example:

    ```python
    cnn_active_sizes(8)  # [(1, 8), (1, 8), (8, 8), (8, 8), (8, 10), ...]
    ```
    """
    return [(num_channels, width), (num_channels, width), (width, width),
            (width, width), (width, num_classes), (width, num_classes)]


def num_cnn_params(width, num_channels=1, num_classes=10, kernel_size=3):
    """Parameter count of the plain target CNN.

    Args:
        width: int. Hidden width.
        num_channels: int. Input channels.
        num_classes: int. Outputs.
        kernel_size: int. Convolution kernel side.

    Returns:
        int.

    Example:

    ```python
    num_cnn_params(32)  # 9898
    ```
    """
    shapes = cnn_shapes(width, num_channels, num_classes, kernel_size)
    return int(sum(np.prod(s) for s in shapes))


def build_plain_cnn(width, image_size=8, num_channels=1, num_classes=10,
                    kernel_size=3, seed=0, learning_rate=3e-3):
    """The target CNN as an ordinary, compiled Keras model.

    Args:
        width: int. Hidden width.
        image_size: int. Image side.
        num_channels: int. Input channels.
        num_classes: int. Outputs (logits).
        kernel_size: int. Convolution kernel side.
        seed: int. Initialiser seed.
        learning_rate: float. Adam learning rate of `compile`.

    Returns:
        A functional `keras.Model` taking `(batch, image_size**2 *
        num_channels)` features.

    Example:

    ```python
    model = build_plain_cnn(16)
    model.predict(np.zeros((2, 64), "float32")).shape  # (2, 10)
    ```
    """
    inputs = keras.Input((image_size * image_size * num_channels,),
                         name="features")
    x = keras.layers.Reshape((image_size, image_size, num_channels))(inputs)
    for i in range(2):
        x = keras.layers.Conv2D(
            width, kernel_size, padding="same", activation="relu",
            kernel_initializer=keras.initializers.HeUniform(seed + i),
            name=f"conv_{i}")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(
        num_classes, kernel_initializer=keras.initializers.GlorotUniform(
            seed + 2), name="predictions")(x)
    model = keras.Model(inputs, outputs, name=f"cnn_w{width}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy("accuracy")],
    )
    return model


def prune_cnn(weights, width):
    """Structured L1-magnitude pruning of the target CNN to width `w`.

    Each convolution keeps the `width` output filters of largest L1 norm
    (in their original order); the next layer loses the matching input
    channels. No fine-tuning.

    Args:
        weights: list of 6 arrays (`cnn_shapes` order) of a wider net.
        width: int. Channels to keep in each hidden layer.

    Returns:
        list of 6 arrays of the pruned net.

    Example:

    ```python
    small = prune_cnn(big_model.get_weights(), 8)
    ```
    """
    k0, b0, k1, b1, kd, bd = [np.asarray(w) for w in weights]
    keep0 = np.sort(np.argsort(-np.abs(k0).sum(axis=(0, 1, 2)),
                               kind="stable")[:width])
    k0, b0 = k0[..., keep0], b0[keep0]
    k1 = k1[:, :, keep0, :]
    keep1 = np.sort(np.argsort(-np.abs(k1).sum(axis=(0, 1, 2)),
                               kind="stable")[:width])
    k1, b1 = k1[..., keep1], b1[keep1]
    kd = kd[keep1]
    return [k0, b0, k1, b1, kd, bd]


def accuracy(model, x, y):
    """Top-1 accuracy of a logits model on `(x, y)`.

    Args:
        model: a Keras model returning logits.
        x: features.
        y: int labels.

    Returns:
        float in [0, 1].

    Example:

    ```python
    accuracy(build_plain_cnn(8), *load_digits("test"))
    ```
    """
    logits = np.asarray(keras.ops.convert_to_numpy(
        model.predict(x, verbose=0, batch_size=256)))
    return float((logits.argmax(-1) == np.asarray(y)).mean())
