"""D2NWG family: classifier weights sampled by a latent diffusion model."""

from zoo.d2nwg.d2nwg_backbone import D2NWGBackbone
from zoo.d2nwg.d2nwg_family import FAMILY
from zoo.d2nwg.d2nwg_generator import D2NWGGenerator
from zoo.d2nwg.d2nwg_generator import WeightDecoder
from zoo.d2nwg.d2nwg_generator import build_classifier
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "D2NWGBackbone", "D2NWGGenerator", "WeightDecoder",
           "build_classifier"]
