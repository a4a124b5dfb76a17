"""HyperLoRA family: finetuning-free personalisation with generated LoRA."""

from zoo.hyper_lora.hyper_lora_backbone import HyperLoRABackbone
from zoo.hyper_lora.hyper_lora_classifier import HyperLoRAClassifier
from zoo.hyper_lora.hyper_lora_family import FAMILY
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "HyperLoRABackbone", "HyperLoRAClassifier"]
