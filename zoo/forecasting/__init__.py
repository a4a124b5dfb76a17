"""Forecasters of chaotic systems: recurrence, attention and gating."""

from zoo.forecasting import forecasting_recipes  # noqa: F401
from zoo.forecasting import forecasting_registry  # noqa: F401
from zoo.forecasting.forecaster import Forecaster
from zoo.forecasting.forecaster_backbone import ForecasterBackbone

__all__ = ["Forecaster", "ForecasterBackbone"]
