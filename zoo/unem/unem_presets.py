"""The `unem_gaussian_5shot` and `cafa_digits_encoder` presets.

The presets themselves are the folders `zoo/presets/<name>/`; this module
holds what produces them: the episode world, the budgets, the task seeds
and the builders of the two architectures.
"""

import keras

from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data.few_shot_episodes import GaussianClassWorld
from zoo.unem.unem_backbone import UNEMBackbone
from zoo.unem.unem_classifier import UNEMFewShotClassifier

UNEM_PRESET = "unem_gaussian_5shot"
CAFA_PRESET = "cafa_digits_encoder"
UNEM_SHOTS = 5
UNEM_NUM_TASKS = 1000
UNEM_STEPS = 100
UNEM_LEARNING_RATE = 0.1
UNEM_NUM_LAYERS = 10
# Task seeds: meta-train tasks use `seed + TRAIN_TASK_SEED`; the
# held-out evaluation always uses these fixed seeds.
TRAIN_TASK_SEED = 1000
VAL_TASK_SEED = 2
TEST_TASK_SEED = 1
EVAL_NUM_TASKS = 1000
CAFA_EPOCHS = 30
CAFA_BATCH_SIZE = 64
CAFA_LEARNING_RATE = 1e-3


def gaussian_world():
    """The synthetic world of the UNEM presets (`GaussianClassWorld()`).

    Returns:
        `zoo.data.few_shot_episodes.GaussianClassWorld` with the default
        arguments: 16 + 16 + 16 classes, dim 32, noise 1.5, seed 0.

    Example:

    ```python
    world = zoo.unem.unem_presets.gaussian_world()
    ```
    """
    return GaussianClassWorld()


def build_unem_gaussian(num_classes=16, feature_dim=32,
                        num_layers=UNEM_NUM_LAYERS, loss_mode="nll",
                        learning_rate=UNEM_LEARNING_RATE):
    """An untrained UNEM-Gaussian classifier on fixed features.

    Args:
        num_classes: int. Classes per task.
        feature_dim: int. Feature size.
        num_layers: int. Unrolled EM layers.
        loss_mode: str. `"nll"` or `"reference"`.
        learning_rate: float. Initial Adam learning rate, halved after
            50 steps (the reference's StepLR(50, 0.5)).

    Returns:
        A compiled `zoo.UNEMFewShotClassifier` (2L + 1 parameters).

    Example:

    ```python
    model = zoo.unem.unem_presets.build_unem_gaussian()
    ```
    """
    backbone = UNEMBackbone(feature_dim=feature_dim)
    model = UNEMFewShotClassifier(backbone, num_classes=num_classes,
                                  num_layers=num_layers,
                                  loss_mode=loss_mode)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [50], [learning_rate, learning_rate / 2]
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    return model


def build_cafa_encoder(seed=0):
    """The `cafa_digits_encoder` architecture, untrained.

    Args:
        seed: int. Initialiser seed.

    Returns:
        A compiled `zoo.DigitsCNNClassifier` (conv 32 - pool - conv 64 -
        GAP - dense 10, BatchNormalization after each conv).

    Example:

    ```python
    model = zoo.unem.unem_presets.build_cafa_encoder()
    ```
    """
    model = DigitsCNNClassifier(DigitsCNNBackbone(seed=seed), 10)
    model.compile(optimizer=keras.optimizers.Adam(CAFA_LEARNING_RATE))
    return model
