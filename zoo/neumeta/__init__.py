"""NeuMeta family: CNNs of any width sampled from a weight field."""

from zoo.neumeta.neumeta_backbone import NeuMetaBackbone
from zoo.neumeta.neumeta_backbone import NeuMetaCNN
from zoo.neumeta.neumeta_classifier import NeuMetaClassifier
from zoo.neumeta.neumeta_family import FAMILY
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "NeuMetaBackbone", "NeuMetaCNN", "NeuMetaClassifier"]
