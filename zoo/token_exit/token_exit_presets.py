"""The `token_exit_vlm_digits` preset: its architecture and budget.

The preset itself is the folder `zoo/presets/token_exit_vlm_digits/`;
this module holds what produces it: a 10-layer, narrow decoder (d=32,
MLP 64, 2 heads), deeper than wide so that, as in LLaVA's deep LLM, the
text tokens have absorbed most of the image before the last layers (a
6-layer d=32 / MLP 96 decoder still read the image in its last two
layers: 2 % FLOPs saved; chosen on the validation split, see the
README), the two training stages' budgets and the exit thresholds the
recipe chooses from. The data are `zoo.data.digits_vqa`.
"""

import keras

from zoo.data import tiny_scenes as scenes
from zoo.data.digits_vqa import ANSWERS
from zoo.data.digits_vqa import IMAGE_SIZE
from zoo.data.digits_vqa import VOCABULARY
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone
from zoo.token_exit.token_exit_vlm import TokenExitVLM

PRESET_NAME = "token_exit_vlm_digits"
PRESET = dict(
    backbone=dict(vocabulary_size=len(VOCABULARY), num_layers=10,
                  num_heads=2, hidden_dim=32, intermediate_dim=64,
                  image_size=IMAGE_SIZE, patch_size=2, num_prefix_tokens=1,
                  num_text_tokens=5, router_hidden_dim=64),
    vlm_epochs=16, vlm_batch_size=64, vlm_learning_rate=3e-3,
    router_epochs=3, router_batch_size=64, router_learning_rate=1e-3,
    train_row_questions=2,
)
# Exit thresholds tried on the validation split, and the largest
# accuracy drop (full - exited) allowed there.
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MAX_VAL_DROP = 0.005


def build_model(seed=0, **overrides):
    """The preset architecture, untrained, in the `"vlm"` stage.

    Args:
        seed: int. Sets Keras' global seed before building.
        **overrides: backbone arguments.

    Returns:
        A compiled `TokenExitVLM`.

    Example:

    ```python
    model = build_model(seed=0)
    ```
    """
    keras.utils.set_random_seed(seed)
    backbone = TokenExitVLMBackbone(**dict(PRESET["backbone"], **overrides))
    model = TokenExitVLM(backbone, num_answers=len(ANSWERS))
    model.compile()
    return model


# === token_exit_vlm_scenes ===
# A deeper VLM on the procedural tiny scenes (`zoo.data.tiny_scenes`):
# 24x24 RGB in 4x4 patches aligned with the scene's cells (36 image
# tokens), 8 instruction tokens, 16 narrow layers; 200k fresh questions
# in batches of 32 (6250 steps: at 470 steps of batch 64, 4- and 16-layer
# models were still at the text-only plateau).
SCENES_PRESET_NAME = "token_exit_vlm_scenes"
SCENES_PRESET = dict(
    backbone=dict(vocabulary_size=len(scenes.VOCABULARY), num_layers=16,
                  num_heads=4, hidden_dim=48, intermediate_dim=192,
                  image_size=scenes.CANVAS, patch_size=4,
                  image_channels=3, num_prefix_tokens=1,
                  num_text_tokens=scenes.NUM_TEXT_TOKENS,
                  router_hidden_dim=64),
    chunks=8, chunk_size=25000, vlm_batch_size=32,
    vlm_learning_rate=1e-3, exit_aware_fraction=0.0,
    router_chunks=1, router_batch_size=128, router_learning_rate=1e-3,
    val_size=3000, test_size=5000,
)


def build_scenes_model(seed=0, **overrides):
    """The scenes preset architecture, untrained, in the `"vlm"` stage.

    Args:
        seed: int. Sets Keras' global seed before building.
        **overrides: backbone arguments (tests use tiny sizes).

    Returns:
        A compiled `TokenExitVLM` answering over
        `zoo.data.tiny_scenes.ANSWERS`.

    Example:

    ```python
    model = build_scenes_model(seed=0, num_layers=2, hidden_dim=8)
    ```
    """
    keras.utils.set_random_seed(seed)
    backbone = TokenExitVLMBackbone(
        **dict(SCENES_PRESET["backbone"], **overrides))
    model = TokenExitVLM(backbone, num_answers=len(scenes.ANSWERS))
    model.compile()
    return model
