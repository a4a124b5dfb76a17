"""DyVTE visual-token exit: a tiny VLM with exit routers."""

from zoo.preset_utils import register_family_presets
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone
from zoo.token_exit.token_exit_family import FAMILY
from zoo.token_exit.token_exit_vlm import TokenExitVLM

register_family_presets(FAMILY)

__all__ = ["FAMILY", "TokenExitVLM", "TokenExitVLMBackbone"]
