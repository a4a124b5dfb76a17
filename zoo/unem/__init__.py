"""UNEM: unrolled-EM transductive few-shot heads; CAFA test-time adaptation.

The episode data lives in `zoo.data.few_shot_episodes` and the digits CNN
that CAFA adapts in `zoo.baselines.digits_cnn`; both are re-exported
here.
"""

from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data.few_shot_episodes import FeatureBankWorld
from zoo.data.few_shot_episodes import GaussianClassWorld
from zoo.data.few_shot_episodes import ZeroShotLogitsWorld
from zoo.data.few_shot_episodes import sample_episodes
from zoo.preset_utils import register_family_presets
from zoo.unem import baselines
from zoo.unem import cafa
from zoo.unem.unem_backbone import UNEMBackbone
from zoo.unem.unem_classifier import EpisodeSplit
from zoo.unem.unem_classifier import UNEMFewShotClassifier
from zoo.unem.unem_classifier import UNEMLoss
from zoo.unem.unem_family import FAMILY

register_family_presets(FAMILY)

__all__ = [
    "FAMILY",
    "DigitsCNNBackbone",
    "DigitsCNNClassifier",
    "EpisodeSplit",
    "FeatureBankWorld",
    "GaussianClassWorld",
    "UNEMBackbone",
    "UNEMFewShotClassifier",
    "UNEMLoss",
    "ZeroShotLogitsWorld",
    "baselines",
    "cafa",
    "sample_episodes",
]
