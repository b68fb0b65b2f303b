"""Settle detector: net-weight samples in, ``WeightStep`` values out.

The weight is *settled* when every sample of the last ``window_s`` lies within ``tolerance_g``
plus ``rel_tolerance`` of the step's size of each other; the window's median is the level. A
new level at least ``min_step_g`` away from the last is a step, stamped with the time its window
began (when the load came to rest, not when we were sure). Where the cart knows how its basket
swings (``ring``, ``firmware.scale.ring``), a window wider than ``tolerance_g`` settles only if
it is that swing, at the level under it: a heavy load's median mid-swing is tens of grams off.
Every settled level is also logged (``levels``, bounded, refreshed while it holds) for fusion,
which weighs a gesture as the net change across it. While a level holds quietly it is the mean
of all its samples (up to ``PLATEAU_S``), not one window's median: the load before the next
gesture is then known to a few tenths of a gram, which a light per-kg item's price needs (a
40 g plum is 5 % off at 2 g).
A departure of more than ``min_step_g`` from the settled level first yields an
unsettled step, so the basket logic knows something is happening on the scale. State is a
bounded window: a cart runs for days.

Silence: ``silent(now_s)`` is true when no sample arrived for ``silence_s``; the pipeline then
goes vision-only and leaves events that needed the weight unresolved.

Rate: the tolerances here and in fusion are set for one sample's noise at 10-20 samples a second.
A faster scale (an HX711 at 80 SPS read without ``[scale] average = 4``) is noisier a sample and
is warned about once, with the rate measured over its first ``RATE_CHECK_S``.
"""

from __future__ import annotations

import logging
from collections import deque

from firmware.scale.ring import FIT_RMS_G, Ring, fit_level
from firmware.scale.samples import ScaleSample, WeightStep

# A held level averages its samples over at most this long: the cells' zero wanders slowly
# (tenths of a gram a second), so older samples would add drift, not precision.
PLATEAU_S = 3.0
# A quiet window whose mean is this far off the plateau's starts a new one: 3 sigma of a
# window's mean under the cells' noise, so noise alone seldom restarts it, a creep soon does.
PLATEAU_JUMP_G = 2.0
# Faster than this, a sample is noisier than the tests are set for (80 SPS unaveraged: 15 of 48
# simulated baskets exact, docs/firmware.md).
MAX_RATE_HZ = 25.0
RATE_CHECK_S = 2.0

log = logging.getLogger(__name__)


class SettleDetector:
    def __init__(
        self,
        window_s: float = 0.6,
        tolerance_g: float = 4.0,
        min_step_g: float = 8.0,
        silence_s: float = 1.5,
        rel_tolerance: float = 0.05,
        ring: Ring | None = None,
    ) -> None:
        self.window_s = window_s
        self.tolerance_g = tolerance_g
        self.min_step_g = min_step_g
        self.silence_s = silence_s
        self.rel_tolerance = rel_tolerance
        self.ring = ring
        self.level_g: float | None = None  # last settled level; None before the first
        self._window: deque[ScaleSample] = deque()
        # The quiet samples of the level now held (``PLATEAU_S``), for its mean.
        self._plateau: deque[ScaleSample] = deque()
        self._moving = False
        self._last_t_s: float | None = None
        # Every settled level (window start, grams) that differs by 1 g or more from the one
        # before: fusion reads the net change across a gesture from it. Bounded.
        self.levels: deque[tuple[float, float]] = deque(maxlen=512)
        self.levels_logged = 0  # total ever appended, so readers can take only what is new
        self.rate_hz: float | None = None  # measured over the first RATE_CHECK_S of samples
        self._first_t_s: float | None = None
        self._counted = 0

    def silent(self, now_s: float) -> bool:
        return self._last_t_s is None or now_s - self._last_t_s > self.silence_s

    def update(self, sample: ScaleSample) -> list[WeightStep]:
        """Feed one sample; returns the steps it completes (usually none)."""
        if self.rate_hz is None:
            self._check_rate(sample.t_s)
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
            self._plateau.clear()
            steps.append(WeightStep(sample.t_s, sample.grams - self.level_g, settled=False))
        span_s = sample.t_s - self._window[0].t_s
        values = [s.grams for s in self._window]
        level = sorted(values)[len(values) // 2]
        # A big load rings for a while; its median is trustworthy long before the ringing is
        # below the noise, so the allowed spread grows with the size of the step.
        change = 0.0 if self.level_g is None else abs(level - self.level_g)
        allowed = self.tolerance_g + self.rel_tolerance * change
        spread = max(values) - min(values)
        if span_s < self.window_s * 0.8 or spread > allowed:
            return steps
        if spread <= self.tolerance_g:
            level = self._plateau_level()
        else:
            self._plateau.clear()  # a ringing window is no quiet plateau
            if self.ring is not None:
                # Still swinging: where the cart knows its ring, the level is the one under the
                # swing, if the swing is that ring's (a window's median can be tens of grams
                # off: 429613, a watermelon lifted out read 28 g light, then a 28 g "passion
                # fruit").
                fit = fit_level([s.t_s for s in self._window], values, self.ring)
                if fit is None or fit.rms_g > FIT_RMS_G:
                    return steps
                level = fit.level_g
        t_rest = self._window[0].t_s
        # Logged when it changes, and refreshed while it holds, so a reader asking "what is
        # the level after time t" finds an answer even when nothing changed since.
        last = self.levels[-1] if self.levels else None
        if (
            last is None
            or abs(level - last[1]) >= 1.0
            or sample.t_s - last[0] >= 0.5 + self.window_s
        ):
            self.levels.append((t_rest, level))
            self.levels_logged += 1
        if self.level_g is None:
            self.level_g = level  # first settled level: the baseline, not a step
            return steps
        if abs(level - self.level_g) >= self.min_step_g:
            steps.append(WeightStep(t_rest, level - self.level_g, settled=True, level_g=level))
        self.level_g = level  # refined while it holds: the next step is weighed from here
        self._moving = False
        return steps

    def _check_rate(self, t_s: float) -> None:
        if self._first_t_s is None:
            self._first_t_s = t_s
        self._counted += 1
        span_s = t_s - self._first_t_s
        if span_s < RATE_CHECK_S:
            return
        self.rate_hz = (self._counted - 1) / span_s
        if self.rate_hz > MAX_RATE_HZ:
            log.warning(
                "the scale gives %.0f samples a second; weights are judged for 10-20 a second: "
                "an HX711 at 80 SPS needs [scale] average = 4 in cart.toml",
                self.rate_hz,
            )

    def _plateau_level(self) -> float:
        """The held level, given a quiet window: the mean of the plateau's samples, the newest
        included. A window off the plateau's mean by ``PLATEAU_JUMP_G`` starts a new plateau
        (the load crept, or this is a new level)."""
        newest = self._window[-1]
        if self._plateau:
            window = sum(s.grams for s in self._window) / len(self._window)
            mean = sum(s.grams for s in self._plateau) / len(self._plateau)
            if abs(window - mean) > PLATEAU_JUMP_G:
                self._plateau.clear()
        if not self._plateau:
            self._plateau.extend(self._window)
        elif self._plateau[-1] is not newest:
            self._plateau.append(newest)
        while newest.t_s - self._plateau[0].t_s > PLATEAU_S:
            self._plateau.popleft()
        return sum(s.grams for s in self._plateau) / len(self._plateau)

    def new_levels(self, seen: int) -> list[tuple[float, float]]:
        """Levels logged after the first ``seen`` (as far as the bounded log still holds)."""
        fresh = min(self.levels_logged - seen, len(self.levels))
        return list(self.levels)[len(self.levels) - fresh :] if fresh > 0 else []
