"""The NeuMeta family's declaration: classes, tiny model, preset, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.data.digits import load_digits
from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import ArrayInput
from zoo.inputs import PictureInput
from zoo.neumeta.neumeta_backbone import NeuMetaBackbone
from zoo.neumeta.neumeta_classifier import NeuMetaClassifier
from zoo.neumeta.neumeta_presets import evaluate_neumeta
from zoo.neumeta.neumeta_training import train_neumeta

_REF = "Yang & Wang, 2024, Neural Metamorphosis (ECCV 2024)"
_TINY = dict(image_size=4, num_classes=3, min_width=2, max_width=4,
             width_step=2, num_frequencies=1, hidden_units=4, num_blocks=1,
             coordinate_noise=0.02)


def build_tiny(seed=0):
    """The tiny NeuMeta classifier of the test harness.

    Args:
        seed: int. Initialiser seed.

    Returns:
        A `NeuMetaClassifier` on 4x4 images, 3 classes, widths 2 and 4.
    """
    backbone = NeuMetaBackbone(**_TINY, seed=seed)
    model = NeuMetaClassifier(backbone, reconstruction_weight=1.0,
                              l2_weight=0.01)
    model.compile()
    return model


def example_batch(batch_size=8, seed=0):
    """Random 4x4 images and labels for the tiny model.

    Args:
        batch_size: int.
        seed: int.

    Returns:
        `(x, y)`: float32 `(batch, 16)` and int32 `(batch,)`.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch_size, 16)).astype("float32")
    return x, rng.integers(0, 3, batch_size).astype("int32")


TINY_MODELS = (
    TinyModel(
        name="neumeta_classifier",
        task_cls=NeuMetaClassifier,
        build_tiny=build_tiny,
        example_batch=example_batch,
        description="CNN of any width written by a NeuMeta weight field",
        reference=_REF,
        # 6 per-tensor MLPs: encoding 6x(1+2)=18 -> 4 (+4), one block
        # 4x4 (+4) and its residual scalar, output 4x9 (+9).
        expected_num_params=6 * (18 * 4 + 4 + 16 + 4 + 1 + 36 + 9),
        # Reconstruction targets at width 4: 3x3x1x4, 4, 3x3x4x4, 4, 4x3,
        # 3.
        expected_num_non_trainable_params=36 + 4 + 144 + 4 + 12 + 3,
    ),
)

FAMILY = Family(
    name="neumeta",
    title="NeuMeta: networks of any width from a weight field",
    classes=(NeuMetaBackbone, NeuMetaClassifier),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name="neumeta_cnn_digits",
            task_cls=NeuMetaClassifier,
            train=train_neumeta,
            evaluate=evaluate_neumeta,
            inputs=(PictureInput((64,)), ArrayInput()),
            description="NeuMeta digits CNN of any width <= 16",
            data=load_digits,
            train_options=False,
        ),
    ),
    demo_tabs=(
        DemoTab("neumeta", "demos.neumeta", "neumeta_cnn_digits",
                "Hypernetworks"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_neumeta.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_neumeta.py --ablations",
    ),
)
