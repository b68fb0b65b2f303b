"""Settle detector: net-weight samples in, ``WeightStep`` values out.

The weight is *settled* when every sample of the last ``window_s`` lies within
``tolerance_g`` of each other. A new settled level at least ``min_step_g`` away from the last
one is a step, stamped with the time its window began (when the load came to rest, not when we
were sure). A departure of more than ``min_step_g`` from the settled level first yields an
unsettled step, so the basket logic knows something is happening on the scale. State is a
bounded window: a cart runs for days.

Silence: ``silent(now_s)`` is true when no sample arrived for ``silence_s``; the pipeline then
goes vision-only and leaves events that needed the weight unresolved.
"""

from __future__ import annotations

from collections import deque

from firmware.scale.samples import ScaleSample, WeightStep


class SettleDetector:
    def __init__(
        self,
        window_s: float = 0.6,
        tolerance_g: float = 4.0,
        min_step_g: float = 8.0,
        silence_s: float = 1.5,
    ) -> None:
        self.window_s = window_s
        self.tolerance_g = tolerance_g
        self.min_step_g = min_step_g
        self.silence_s = silence_s
        self.level_g: float | None = None  # last settled level; None before the first
        self._window: deque[ScaleSample] = deque()
        self._moving = False
        self._last_t_s: float | None = None

    def silent(self, now_s: float) -> bool:
        return self._last_t_s is None or now_s - self._last_t_s > self.silence_s

    def update(self, sample: ScaleSample) -> list[WeightStep]:
        """Feed one sample; returns the steps it completes (usually none)."""
        self._last_t_s = sample.t_s
        self._window.append(sample)
        while self._window and sample.t_s - self._window[0].t_s > self.window_s:
            self._window.popleft()
        steps: list[WeightStep] = []
        if (
            self.level_g is not None
            and not self._moving
            and abs(sample.grams - self.level_g) >= self.min_step_g
        ):
            self._moving = True
            steps.append(WeightStep(sample.t_s, sample.grams - self.level_g, settled=False))
        span_s = sample.t_s - self._window[0].t_s
        values = [s.grams for s in self._window]
        if span_s < self.window_s * 0.8 or max(values) - min(values) > self.tolerance_g:
            return steps
        level = sorted(values)[len(values) // 2]
        if self.level_g is None:
            self.level_g = level  # first settled level: the baseline, not a step
            return steps
        if abs(level - self.level_g) >= self.min_step_g:
            t_rest = self._window[0].t_s
            steps.append(WeightStep(t_rest, level - self.level_g, settled=True, level_g=level))
            self.level_g = level
        self._moving = False
        return steps
