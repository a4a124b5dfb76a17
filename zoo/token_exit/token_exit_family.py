"""The DyVTE family's declaration: classes, tiny model, preset, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import JSONInput
from zoo.token_exit.keras_hub_hook import PaliGemmaTokenExitGates
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone
from zoo.token_exit.token_exit_eval import evaluate_digits_vqa
from zoo.token_exit.token_exit_inputs import DOCUMENT
from zoo.token_exit.token_exit_inputs import DigitQuestionPictureInput
from zoo.token_exit.token_exit_inputs import example_document
from zoo.token_exit.token_exit_inputs import parse_vqa_document
from zoo.token_exit.token_exit_presets import PRESET_NAME
from zoo.token_exit.token_exit_presets import SCENES_PRESET_NAME
from zoo.token_exit.token_exit_scenes import evaluate_scenes_vqa
from zoo.token_exit.token_exit_scenes import train_scenes_preset
from zoo.token_exit.token_exit_scenes_inputs import SCENES_DOCUMENT
from zoo.token_exit.token_exit_scenes_inputs import example_scenes_document
from zoo.token_exit.token_exit_scenes_inputs import parse_scenes_document
from zoo.token_exit.token_exit_training import train_preset
from zoo.token_exit.token_exit_vlm import TokenExitVLM

_REF = ("Li et al., 2024, Dynamic Visual-Token Exit and the Empirical "
        "Findings of MLLMs (DyVTE, arXiv:2411.19628)")
_TINY = dict(vocabulary_size=6, num_layers=1, num_heads=1, hidden_dim=8,
             intermediate_dim=8, image_size=4, patch_size=2,
             num_prefix_tokens=1, num_text_tokens=2, router_hidden_dim=4)


# The scenes preset's options: RGB input and the two-conv vision stem.
_TINY_SCENES = dict(_TINY, image_channels=3, vision_stem_channels=2)


def _build(seed=0, config=None):
    import keras

    keras.utils.set_random_seed(seed)
    backbone = TokenExitVLMBackbone(**(config or _TINY))
    model = TokenExitVLM(backbone, num_answers=3)
    model.compile()
    return model


def _build_scenes(seed=0):
    return _build(seed, _TINY_SCENES)


def _example_batch(batch_size=8, seed=0, channels=1):
    rng = np.random.default_rng(seed)
    x = {
        "images": rng.uniform(
            0, 1, (batch_size, 4, 4, channels)).astype("float32"),
        "token_ids": rng.integers(0, 6, (batch_size, 3)).astype("int32"),
        # -1 (image keys masked in layer 0) and 0 (the full model).
        "exit_layers": rng.integers(-1, 1, (batch_size,)).astype("int32"),
    }
    return x, rng.integers(0, 3, batch_size).astype("int32")


def _scenes_example_batch(batch_size=8, seed=0):
    return _example_batch(batch_size, seed, channels=3)


def _params(channels=1, stem=0):
    d, ff, m, vocab, layers, h = 8, 8, 4, 6, 1, 4
    layer = 2 * d + 4 * d * d + 2 * d * ff
    patch = 4 * (stem or channels)
    convs = (9 * channels * stem + stem + 9 * stem * stem + stem
             if stem else 0)
    trainable = (vocab * d + (patch * d + d) + m * d + layers * layer + d
                 + (d * 3 + 3) + convs)
    routers = layers * (2 * d * h + h * 2)
    return trainable, routers


TINY_MODELS = (
    TinyModel(
        name="token_exit_vlm",
        task_cls=TokenExitVLM,
        build_tiny=_build,
        example_batch=_example_batch,
        description="Tiny decoder-only VLM with DyVTE visual-token exit "
                    "routers",
        reference=_REF,
        # Stage "vlm": the routers are frozen (trained in stage "router").
        expected_num_params=_params()[0],
        expected_num_non_trainable_params=_params()[1],
    ),
    TinyModel(
        name="token_exit_vlm_scenes",
        task_cls=TokenExitVLM,
        build_tiny=_build_scenes,
        example_batch=_scenes_example_batch,
        description="Tiny RGB VLM with a two-conv vision stem and DyVTE "
                    "routers (the scenes preset's options)",
        reference=_REF,
        expected_num_params=_params(3, 2)[0],
        expected_num_non_trainable_params=_params(3, 2)[1],
    ),
)

FAMILY = Family(
    name="token_exit",
    title="Vision-language models that drop their image tokens (DyVTE)",
    classes=(TokenExitVLM, TokenExitVLMBackbone, PaliGemmaTokenExitGates),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name=PRESET_NAME,
            task_cls=TokenExitVLM,
            train=train_preset,
            evaluate=evaluate_digits_vqa,
            # Answered by the full model (or the document's exit_layer);
            # the routers' dynamic exit is predict_with_exit (see
            # token_exit_inputs).
            inputs=(
                JSONInput(parse_vqa_document, DOCUMENT,
                          example=example_document),
                DigitQuestionPictureInput(),
            ),
            description="DyVTE tiny VLM on digit questions (two stages); "
                        "predict: an image + question (JSON) or a digit "
                        "picture (\"which digit is it?\") -> answer "
                        "classes of the full model",
            # Trains with its own loops, not fit_resumable.
            train_options=False,
        ),
        PresetSpec(
            name=SCENES_PRESET_NAME,
            task_cls=TokenExitVLM,
            train=train_scenes_preset,
            evaluate=evaluate_scenes_vqa,
            inputs=(
                JSONInput(parse_scenes_document, SCENES_DOCUMENT,
                          example=example_scenes_document),
            ),
            description="DyVTE 16-layer VLM on procedural tiny-scenes "
                        "questions (two stages); predict: a scene (RGB "
                        "24x24 or a seed) + question (JSON) -> answer "
                        "classes of the full model",
            train_options=False,
        ),
    ),
    demo_tabs=(
        DemoTab("token_exit", "demos.token_exit", "token_exit_vlm_digits",
                "Vision-language models"),
        DemoTab("token_exit_scenes", "demos.token_exit_scenes",
                "token_exit_vlm_scenes", "Vision-language models"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_token_exit.py",
        "KERAS_BACKEND=jax {python} scripts/train_token_exit.py --preset "
        "token_exit_vlm_scenes --exit-aware 0.5",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_token_exit.py --part "
        "accuracy",
        "KERAS_BACKEND=jax {python} scripts/bench_token_exit_scenes.py "
        "--part accuracy",
        "KERAS_BACKEND=jax {python} scripts/bench_token_exit_scenes.py "
        "--part text-only",
        "KERAS_BACKEND=jax {python} scripts/bench_token_exit_scenes.py "
        "--part routers --extra-chunks 3",
    ) + tuple(
        f"KERAS_BACKEND={b} {{python}} scripts/bench_token_exit.py --part "
        "latency" for b in ("jax", "tensorflow", "torch")
    ) + tuple(
        f"KERAS_BACKEND={b} {{python}} scripts/bench_token_exit.py --part "
        "latency --preset token_exit_vlm_scenes"
        for b in ("jax", "tensorflow", "torch")
    ),
)
