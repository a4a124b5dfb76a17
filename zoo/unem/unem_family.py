"""The UNEM family's declaration: classes, tiny models, presets, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`. The
family also declares the digits CNN of `zoo.baselines.digits_cnn` (the
encoder its CAFA preset adapts; the Terminator family uses it as a
baseline only).

The Dirichlet head goes through the layer harness (`tests/cases.py`,
`unem_dirichlet_head`) and `tests/test_unem.py` builds the Dirichlet
classifier; it has no tiny model here because compiling its unrolled
majorise-minimise steps for every check of the model harness would cost
about 15-25 s per backend of the suite's time budget.
"""

import numpy as np

from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data.digits import load_digit_images
from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import ChannelArrayInput
from zoo.inputs import JSONInput
from zoo.inputs import PictureInput
from zoo.unem.unem_backbone import UNEMBackbone
from zoo.unem.unem_classifier import EpisodeSplit
from zoo.unem.unem_classifier import UNEMFewShotClassifier
from zoo.unem.unem_classifier import UNEMLoss
from zoo.unem.unem_eval import evaluate_cafa_encoder
from zoo.unem.unem_eval import evaluate_unem_gaussian_5shot
from zoo.unem.unem_inputs import DOCUMENT
from zoo.unem.unem_inputs import example_episode
from zoo.unem.unem_inputs import parse_episode_document
from zoo.unem.unem_presets import CAFA_PRESET
from zoo.unem.unem_presets import UNEM_PRESET
from zoo.unem.unem_training import train_cafa_digits_encoder
from zoo.unem.unem_training import train_unem_gaussian_5shot

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


def _build_cnn(seed=0):
    backbone = DigitsCNNBackbone(filters=(4, 6), seed=seed)
    return DigitsCNNClassifier(backbone, num_classes=3)


def _cnn_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch_size, 8, 8, 1)).astype("float32")
    return x, rng.integers(0, 3, batch_size).astype("int32")


TINY_MODELS = (
    TinyModel(
        name="unem_gaussian_classifier",
        task_cls=UNEMFewShotClassifier,
        build_tiny=_build_gaussian,
        example_batch=_batch(6, 1.0),
        description="Transductive few-shot: unrolled Gaussian EM, learned "
                    "per-layer lambda and T",
        reference=_REF,
        # Projection Dense 6*4 (no bias: shift-invariant head); head:
        # gamma (2), temperature_raw (2), scale_raw (1).
        expected_num_params=(6 * 4) + (2 + 2 + 1),
    ),
    TinyModel(
        name="digits_cnn_classifier",
        task_cls=DigitsCNNClassifier,
        build_tiny=_build_cnn,
        example_batch=_cnn_batch,
        description="Conv-BN CNN on 8x8 digits (the encoder CAFA adapts)",
        reference="Jung et al., 2023, CAFA: Class-Aware Feature Alignment "
                  "for Test-Time Adaptation (arXiv:2206.00205)",
        # conv_0 3*3*1*4 (no bias), bn_0 gamma+beta 2*4, conv_1 3*3*4*6,
        # bn_1 2*6, head 6*3+3.
        expected_num_params=36 + 8 + 216 + 12 + 21,
        # Moving mean and variance of both BatchNormalization layers.
        expected_num_non_trainable_params=2 * 4 + 2 * 6,
    ),
)

FAMILY = Family(
    name="unem",
    title="Unrolled-EM transductive few-shot heads; CAFA test-time "
          "adaptation",
    classes=(UNEMBackbone, UNEMFewShotClassifier, UNEMLoss, EpisodeSplit,
             DigitsCNNBackbone, DigitsCNNClassifier),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name=UNEM_PRESET,
            task_cls=UNEMFewShotClassifier,
            train=train_unem_gaussian_5shot,
            evaluate=evaluate_unem_gaussian_5shot,
            # Episodes of feature vectors: a JSON document (see
            # unem_inputs); the output ranks the classes of each query.
            inputs=(JSONInput(parse_episode_document, DOCUMENT,
                              example=example_episode),),
            description="UNEM-Gaussian on 5-shot synthetic Gaussian tasks",
        ),
        PresetSpec(
            name=CAFA_PRESET,
            task_cls=DigitsCNNClassifier,
            train=train_cafa_digits_encoder,
            evaluate=evaluate_cafa_encoder,
            inputs=(PictureInput((8, 8, 1)), ChannelArrayInput()),
            description="BatchNorm digits CNN adapted by CAFA",
            data=load_digit_images,
        ),
    ),
    demo_tabs=(
        DemoTab("unem_fewshot", "demos.unem_fewshot", UNEM_PRESET,
                "Few-shot and test-time adaptation"),
    ),
    preset_commands=("KERAS_BACKEND=jax {python} scripts/train_unem.py",),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_unem.py",
        "KERAS_BACKEND=jax {python} scripts/bench_unem.py --part "
        "digits-protocol",
        "KERAS_BACKEND=jax {python} scripts/bench_unem.py --part "
        "dirichlet-seeds",
    ),
)
