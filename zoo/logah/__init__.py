"""LoGAH family: a low-rank graph hypernetwork predicts MLP weights."""

from zoo.logah.logah_backbone import LogahBackbone
from zoo.logah.logah_classifier import LogahClassifier
from zoo.logah.logah_family import FAMILY
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "LogahBackbone", "LogahClassifier"]
