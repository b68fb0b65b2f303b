"""Values the scale stages pass on: raw net-weight samples and settled weight steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScaleSample:
    t_s: float  # seconds on the pipeline clock (feed time in a replay)
    grams: float  # net weight on the basket's load cells


@dataclass(frozen=True, slots=True)
class WeightStep:
    """A change of the basket's weight.

    ``settled=False``: the weight started moving away from its last settled level (``grams`` is
    the excursion so far). ``settled=True``: it came to rest at a new level; ``grams`` is the
    signed change from the previous settled level and ``t_s`` when the new level was reached.
    """

    t_s: float
    grams: float
    settled: bool
    level_g: float = 0.0  # the settled level after this step (settled steps only)
