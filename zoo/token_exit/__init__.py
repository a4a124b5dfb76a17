"""DyVTE visual-token exit: a tiny VLM with exit routers."""

from zoo.token_exit import token_exit_recipes  # noqa: F401
from zoo.token_exit import token_exit_registry  # noqa: F401
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone
from zoo.token_exit.token_exit_vlm import TokenExitVLM

__all__ = ["TokenExitVLM", "TokenExitVLMBackbone"]
