"""Losses of the zoo."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hyperzoo")
class SparseLabelSmoothingCrossentropy(keras.losses.Loss):
    """Cross-entropy with label smoothing on integer labels.

    `L = (ε/C) Σ_c −log p_c + (1−ε) (−log p_y)`, i.e. the cross-entropy
    against the target `(1−ε)·onehot(y) + ε/C`, as in the Terminator
    reference (`ε = 0.09`). Computed in float32 from logits (or
    probabilities with `from_logits=False`).

    Args:
        label_smoothing: float in `[0, 1)`. `ε`.
        from_logits: bool. Whether `y_pred` holds logits.
        reduction: str. Keras loss reduction.
        name: str. Loss name.
        dtype: loss dtype.

    Example:

    ```python
    loss = zoo.losses.SparseLabelSmoothingCrossentropy(0.09)
    loss(np.array([1]), np.array([[0.0, 2.0, 0.0]]))
    ```

    Reference:
    - [Szegedy et al., 2016](https://arxiv.org/abs/1512.00567),
      "Rethinking the Inception Architecture" (label smoothing).
    """

    def __init__(self, label_smoothing=0.1, from_logits=True,
                 reduction="sum_over_batch_size",
                 name="sparse_label_smoothing_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                "`label_smoothing` must be in [0, 1). Received: "
                f"label_smoothing={label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_p = ops.log_softmax(y_pred, axis=-1)
        else:
            log_p = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        num_classes = y_pred.shape[-1]
        y_true = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        nll = -ops.sum(ops.one_hot(y_true, num_classes) * log_p, axis=-1)
        smooth = -ops.mean(log_p, axis=-1)
        eps = self.label_smoothing
        return (1.0 - eps) * nll + eps * smooth

    def get_config(self):
        config = super().get_config()
        config.update({
            "label_smoothing": self.label_smoothing,
            "from_logits": self.from_logits,
        })
        return config
