"""SVH-PSL family: Pareto-set hypernetworks trained on GP surrogates."""

from zoo.preset_utils import register_family_presets
from zoo.svh_psl.svh_psl_backbone import SVHPSLBackbone
from zoo.svh_psl.svh_psl_family import FAMILY
from zoo.svh_psl.svh_psl_model import ParetoSetModel

register_family_presets(FAMILY)

__all__ = ["FAMILY", "ParetoSetModel", "SVHPSLBackbone"]
