"""Registry entries of the UNEM family (tiny configs for the harness).

The Dirichlet head goes through the layer harness (`tests/cases.py`,
`unem_dirichlet_head`) and `tests/test_unem.py` builds the Dirichlet
classifier; it is not registered here because compiling its unrolled
majorise-minimise steps for every check of the model harness would cost
about 15-25 s per backend of the suite's time budget.
"""

import numpy as np

from zoo.registry import ModelSpec
from zoo.registry import register_model
from zoo.unem.digits_cnn import DigitsCNNBackbone
from zoo.unem.digits_cnn import DigitsCNNClassifier
from zoo.unem.unem_backbone import UNEMBackbone
from zoo.unem.unem_classifier import UNEMFewShotClassifier

_REF = ("Zhou et al., 2025, UNEM: UNrolled generalized EM for "
        "transductive few-shot learning (arXiv:2412.16739)")
_SUPPORT_LABELS = (0, 0, 1, 1, 2, 2)


def _build_gaussian(seed=0):
    backbone = UNEMBackbone(feature_dim=6, projection_dim=4, seed=seed)
    return UNEMFewShotClassifier(backbone, num_classes=3, num_layers=2)


def _batch(feature_dim, scale):
    def example_batch(batch_size=8, seed=0):
        rng = np.random.default_rng(seed)
        labels = np.tile(np.array(_SUPPORT_LABELS, "int32"),
                         (batch_size, 1))
        x = {
            "support": (scale * rng.normal(
                size=(batch_size, 6, feature_dim))).astype("float32"),
            "support_labels": labels,
            "query": (scale * rng.normal(
                size=(batch_size, 5, feature_dim))).astype("float32"),
        }
        y = rng.integers(0, 3, (batch_size, 5)).astype("int32")
        return x, y

    return example_batch


register_model(ModelSpec(
    name="unem_gaussian_classifier",
    task_cls=UNEMFewShotClassifier,
    build_tiny=_build_gaussian,
    example_batch=_batch(6, 1.0),
    description="Transductive few-shot: unrolled Gaussian EM, learned "
                "per-layer lambda and T",
    reference=_REF,
    # Projection Dense 6*4 (no bias: shift-invariant head); head: gamma
    # (2), temperature_raw (2), scale_raw (1).
    expected_num_params=(6 * 4) + (2 + 2 + 1),
))


def _build_cnn(seed=0):
    backbone = DigitsCNNBackbone(filters=(4, 6), seed=seed)
    return DigitsCNNClassifier(backbone, num_classes=3)


def _cnn_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch_size, 8, 8, 1)).astype("float32")
    return x, rng.integers(0, 3, batch_size).astype("int32")


register_model(ModelSpec(
    name="digits_cnn_classifier",
    task_cls=DigitsCNNClassifier,
    build_tiny=_build_cnn,
    example_batch=_cnn_batch,
    description="Conv-BN CNN on 8x8 digits (the encoder CAFA adapts)",
    reference="Jung et al., 2023, CAFA: Class-Aware Feature Alignment for "
              "Test-Time Adaptation (arXiv:2206.00205)",
    # conv_0 3*3*1*4 (no bias), bn_0 gamma+beta 2*4, conv_1 3*3*4*6,
    # bn_1 2*6, head 6*3+3.
    expected_num_params=36 + 8 + 216 + 12 + 21,
    # Moving mean and variance of both BatchNormalization layers.
    expected_num_non_trainable_params=2 * 4 + 2 * 6,
))
