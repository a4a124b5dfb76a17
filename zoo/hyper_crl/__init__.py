"""Task-conditioned dynamics hypernetworks for continual model-based RL
(HyperCRL)."""

from zoo.hyper_crl.hyper_crl_backbone import HyperCRLBackbone
from zoo.hyper_crl.hyper_crl_dynamics import HyperCRLDynamics
from zoo.hyper_crl.hyper_crl_family import FAMILY
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "HyperCRLBackbone", "HyperCRLDynamics"]
