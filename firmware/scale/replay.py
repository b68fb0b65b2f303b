"""Scale samples from a feed's ``scale.csv`` (``t,grams``), handed out up to a given time."""

from __future__ import annotations

from pathlib import Path

from firmware.errors import FeedError
from firmware.scale.samples import ScaleSample
from smartcart.feed import errors as feed_errors
from smartcart.feed.format import SCALE, read_scale


class ScaleReplay:
    """Replays samples in time order; ``until(t_s)`` returns those not yet handed out."""

    def __init__(self, samples: list[ScaleSample]) -> None:
        self._samples = samples
        self._next = 0

    @classmethod
    def from_feed(cls, feed: Path) -> ScaleReplay | None:
        path = feed / SCALE
        if not path.exists():
            return None
        try:
            trace = read_scale(path)  # the feed format's own reader
        except feed_errors.FeedError as e:
            raise FeedError(str(e)) from e
        return cls(
            [ScaleSample(float(t), float(g)) for t, g in zip(trace.t_s, trace.grams, strict=True)]
        )

    def until(self, t_s: float) -> list[ScaleSample]:
        start = self._next
        while self._next < len(self._samples) and self._samples[self._next].t_s <= t_s:
            self._next += 1
        return self._samples[start : self._next]
