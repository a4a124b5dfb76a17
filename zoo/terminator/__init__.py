"""HyperZ·Z·W implicit-kernel convolution: the Terminator models."""

from zoo.preset_utils import register_family_presets
from zoo.terminator.terminator_backbone import TerminatorBackbone
from zoo.terminator.terminator_classifier import TerminatorClassifier
from zoo.terminator.terminator_family import FAMILY

register_family_presets(FAMILY)

__all__ = ["FAMILY", "TerminatorBackbone", "TerminatorClassifier"]
