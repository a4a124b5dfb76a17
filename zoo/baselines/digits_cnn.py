"""A small BatchNorm CNN on 8x8 digits: the encoder that CAFA adapts.

Shared by two families: `zoo.unem` (the `cafa_digits_encoder` preset and
the `digits_cnn_classifier` tiny model are declared there) and
`zoo.terminator` (the plain-CNN baseline of `terminator_2d_digits`).
"""

import keras
from keras_hub.models import Backbone

from zoo._checks import check_positive_ints
from zoo.task import DenseClassifier


@keras.saving.register_keras_serializable(package="hyperzoo")
class DigitsCNNBackbone(Backbone):
    """Conv-BN-ReLU blocks and global average pooling on small images.

    Each block is `Conv2D(filters, 3, padding="same", use_bias=False)`,
    `BatchNormalization` and ReLU; a 2x2 max-pool follows every block but
    the last; global average pooling gives the features `(batch,
    filters[-1])`. The BatchNormalization layers are what test-time
    adaptation (`zoo.unem.cafa`) updates.

    Args:
        image_shape: tuple `(height, width, channels)`. Defaults to
            `(8, 8, 1)` (scikit-learn digits, `load_digits(layout=
            "image")`).
        filters: tuple of int. Filters of each block. Defaults to
            `(32, 64)`.
        seed: int or `None`. Seed of the kernel initialisers.
        dtype: string or `keras.DTypePolicy`. The dtype policy.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.DigitsCNNBackbone()
    backbone(np.zeros((2, 8, 8, 1), "float32")).shape  # (2, 64)
    ```

    Reference:
    - [Ioffe and Szegedy, 2015](https://arxiv.org/abs/1502.03167),
      "Batch Normalization".
    - [Jung et al., 2023](https://arxiv.org/abs/2206.00205), "CAFA:
      Class-Aware Feature Alignment for Test-Time Adaptation".
    """

    def __init__(self, image_shape=(8, 8, 1), filters=(32, 64), seed=None,
                 dtype=None, **kwargs):
        image_shape = check_positive_ints(
            "image_shape", image_shape, 3,
            "must be (height, width, channels)")
        filters = check_positive_ints("filters", filters, None,
                                      "needs at least one block")

        # === Layers ===
        self.convs, self.norms = [], []
        for i, width in enumerate(filters):
            self.convs.append(keras.layers.Conv2D(
                width, 3, padding="same", use_bias=False,
                kernel_initializer=keras.initializers.HeNormal(
                    None if seed is None else seed + i),
                dtype=dtype, name=f"conv_{i}",
            ))
            self.norms.append(keras.layers.BatchNormalization(
                dtype=dtype, name=f"bn_{i}"
            ))
        self.pool = keras.layers.GlobalAveragePooling2D(dtype=dtype,
                                                        name="pool")

        # === Functional Model ===
        images = keras.Input(shape=image_shape, name="images")
        x = images
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = keras.layers.ReLU(dtype=dtype, name=f"relu_{i}")(
                norm(conv(x))
            )
            if i < len(filters) - 1:
                x = keras.layers.MaxPooling2D(
                    2, dtype=dtype, name=f"max_pool_{i}")(x)
        outputs = self.pool(x)
        super().__init__(inputs=images, outputs=outputs, dtype=dtype,
                         **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.filters = filters
        self.seed = seed

    def get_config(self):
        config = super().get_config()
        config.update({
            "image_shape": list(self.image_shape),
            "filters": list(self.filters),
            "seed": self.seed,
        })
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class DigitsCNNClassifier(DenseClassifier):
    """A `DigitsCNNBackbone` with a dense classification head (logits).

    Args:
        backbone: `zoo.DigitsCNNBackbone`.
        num_classes: int. Number of classes.
        head_dtype: dtype of the head; float32 under mixed precision.
        preprocessor: must be `None`.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    model = zoo.DigitsCNNClassifier(zoo.DigitsCNNBackbone(), 10)
    model.predict(np.zeros((2, 8, 8, 1), "float32")).shape  # (2, 10)
    ```

    Reference:
    - [Jung et al., 2023](https://arxiv.org/abs/2206.00205), "CAFA:
      Class-Aware Feature Alignment for Test-Time Adaptation".
    """

    backbone_cls = DigitsCNNBackbone
