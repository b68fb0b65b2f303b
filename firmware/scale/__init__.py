"""The basket's load cells: sources of ``ScaleSample`` (HX711 live, scale.csv replay), the
settle detector that turns them into ``WeightStep`` values, and silence detection."""

from firmware.scale.samples import ScaleSample, WeightStep
from firmware.scale.settle import SettleDetector

__all__ = ["ScaleSample", "SettleDetector", "WeightStep"]
