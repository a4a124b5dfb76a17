"""Whole-network hypernetworks for continual learning (HyperCL)."""

from zoo.hyper_cl import hyper_cl_recipes  # noqa: F401
from zoo.hyper_cl import hyper_cl_registry  # noqa: F401
from zoo.hyper_cl.hyper_cl_backbone import HyperCLBackbone
from zoo.hyper_cl.hyper_cl_classifier import HyperCLClassifier

__all__ = ["HyperCLBackbone", "HyperCLClassifier"]
