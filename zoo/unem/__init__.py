"""UNEM: unrolled-EM transductive few-shot heads; CAFA test-time adaptation."""

from zoo.unem import baselines
from zoo.unem import cafa
from zoo.unem import unem_recipes
from zoo.unem import unem_registry
from zoo.unem.digits_cnn import DigitsCNNBackbone
from zoo.unem.digits_cnn import DigitsCNNClassifier
from zoo.unem.unem_backbone import UNEMBackbone
from zoo.unem.unem_classifier import EpisodeSplit
from zoo.unem.unem_classifier import UNEMFewShotClassifier
from zoo.unem.unem_classifier import UNEMLoss
from zoo.unem.unem_data import FeatureBankWorld
from zoo.unem.unem_data import GaussianClassWorld
from zoo.unem.unem_data import ZeroShotLogitsWorld
from zoo.unem.unem_data import sample_episodes
