"""HyperZ·Z·W implicit-kernel convolution: the Terminator models."""

from zoo.terminator import terminator_recipes  # noqa: F401
from zoo.terminator import terminator_registry  # noqa: F401
from zoo.terminator.terminator_backbone import TerminatorBackbone
from zoo.terminator.terminator_classifier import TerminatorClassifier

__all__ = ["TerminatorBackbone", "TerminatorClassifier"]
