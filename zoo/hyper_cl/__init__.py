"""Whole-network hypernetworks for continual learning (HyperCL)."""

from zoo.hyper_cl.hyper_cl_backbone import HyperCLBackbone
from zoo.hyper_cl.hyper_cl_classifier import HyperCLClassifier
from zoo.hyper_cl.hyper_cl_family import FAMILY
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "HyperCLBackbone", "HyperCLClassifier"]
