"""Forecasters of chaotic systems: recurrence, attention and gating."""

from zoo.forecasting.forecaster import Forecaster
from zoo.forecasting.forecaster_backbone import ForecasterBackbone
from zoo.forecasting.forecasting_family import FAMILY
from zoo.preset_utils import register_family_presets

register_family_presets(FAMILY)

__all__ = ["FAMILY", "Forecaster", "ForecasterBackbone"]
