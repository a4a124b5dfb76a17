"""Baseline models shared by several families.

- `DigitsCNNBackbone`, `DigitsCNNClassifier` (`zoo.baselines.digits_cnn`):
  a small BatchNorm CNN on 8x8 digits, the encoder that CAFA adapts
  (`zoo.unem`, which declares it) and the plain-CNN baseline of the
  `terminator_2d_digits` comparison (`zoo.terminator`).
"""

from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier

__all__ = ["DigitsCNNBackbone", "DigitsCNNClassifier"]
