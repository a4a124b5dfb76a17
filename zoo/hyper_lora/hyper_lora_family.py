"""The HyperLoRA family's declaration: classes, tiny model, preset, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.hyper_lora.hyper_lora_backbone import HyperLoRABackbone
from zoo.hyper_lora.hyper_lora_classifier import HyperLoRAClassifier
from zoo.hyper_lora.hyper_lora_classifier import SubjectAdapter
from zoo.hyper_lora.hyper_lora_eval import evaluate_hyper_lora
from zoo.hyper_lora.hyper_lora_inputs import DOCUMENT
from zoo.hyper_lora.hyper_lora_inputs import example_hyper_lora_document
from zoo.hyper_lora.hyper_lora_inputs import parse_hyper_lora_document
from zoo.hyper_lora.hyper_lora_training import train_hyper_lora
from zoo.inputs import JSONInput

_REF = ("Ruiz et al., 2023, HyperDreamBooth: HyperNetworks for Fast "
        "Personalization of Text-to-Image Models (arXiv:2307.06949); "
        "Finetuning-Free Personalization of Text to Image Generation via "
        "Hypernetworks")
# 8x8 images, 4x4 patches (4 tokens + class token), one block of width
# 8, 2 heads, 3 classes, support sets of 2; rank-2 adapters on the
# query, value and head projections. `zero_init=False`: with B = 0 no
# gradient would reach the set encoder and the hidden layers. Attention
# dropout 0.1: the explicit attention path (the fused one cannot train
# under mixed_float16 with JAX on CPU; see HyperLoRABackbone).
_TINY = dict(image_size=8, patch_size=4, num_layers=1, num_heads=2,
             hidden_dim=8, mlp_dim=8, num_classes=3, support_size=2,
             rank=2, targets="query|value|head", hyper_units=(6,),
             set_units=4, condition_dim=4, zero_init=False,
             attention_dropout=0.1)


def _build_tiny(seed=0):
    backbone = HyperLoRABackbone(**_TINY, seed=seed)
    model = HyperLoRAClassifier(backbone)
    model.compile()
    return model


def _example_batch(batch_size=8, seed=0):
    """Random images, each with its own random labelled support set."""
    rng = np.random.default_rng(seed)
    x = {
        "images": rng.uniform(0, 1, (batch_size, 8, 8, 1)).astype(
            "float32"),
        "support_images": rng.uniform(0, 1, (batch_size, 2, 8, 8, 1)
                                      ).astype("float32"),
        "support_labels": rng.integers(0, 3, (batch_size, 2)).astype(
            "int32"),
    }
    y = rng.integers(0, 3, batch_size).astype("int32")
    return x, y


TINY_MODELS = (
    TinyModel(
        name="hyper_lora_classifier",
        task_cls=HyperLoRAClassifier,
        build_tiny=_build_tiny,
        example_batch=_example_batch,
        description="Set encoder + hypernetwork generating LoRA adapters "
                    "of a frozen keras-hub ViT",
        reference=_REF,
        # Set encoder (features 64 + 3, width 4, output 4): 67*4+4,
        # 4*4+4, 4*4+4. Hypernetwork hidden 4*6+6. Query and value
        # (fan_in 8, fan_out 8): A head 6*16+16, B head 6*16+16 each;
        # head (fan_in 8, fan_out 3): A head 6*16+16, B head 6*6+6.
        expected_num_params=(272 + 20 + 20) + 30 + 4 * 112 + 112 + 42,
        # Frozen base: ViT (class token 8, patch conv 16*8+8, positions
        # 5*8, 2 layer norms 2*16, q/k/v 3*(8*8+8), output 8*8+8, MLP
        # 8*8+8 twice, final norm 16) + head 8*3+3.
        expected_num_non_trainable_params=(
            8 + 136 + 40 + 32 + 3 * 72 + 72 + 2 * 72 + 16) + 27,
    ),
)

FAMILY = Family(
    name="hyper_lora",
    title="HyperLoRA: generated LoRA adapters for finetuning-free "
          "personalisation",
    classes=(HyperLoRABackbone, HyperLoRAClassifier, SubjectAdapter),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name="hyper_lora_digits_writers",
            task_cls=HyperLoRAClassifier,
            train=train_hyper_lora,
            evaluate=evaluate_hyper_lora,
            # A writer's labelled examples and the images to classify: a
            # JSON document (see hyper_lora_inputs).
            inputs=(JSONInput(parse_hyper_lora_document, DOCUMENT,
                              example=example_hyper_lora_document),),
            description="HyperLoRA personalising a tiny ViT to unseen "
                        "procedural digit writers from 5 examples",
            train_options=False,
        ),
    ),
    demo_tabs=(
        DemoTab("hyper_lora", "demos.hyper_lora",
                "hyper_lora_digits_writers", "Hypernetworks"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_hyper_lora.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_hyper_lora.py",),
)
