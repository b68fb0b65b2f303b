"""Scale samples from a feed's ``scale.csv`` (``t,grams``), handed out up to a given time."""

from __future__ import annotations

import csv
from pathlib import Path

from firmware.errors import FeedError
from firmware.scale.samples import ScaleSample


def read_scale_csv(path: Path) -> list[ScaleSample]:
    samples: list[ScaleSample] = []
    with path.open(newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.DictReader(f), start=2):
            try:
                samples.append(ScaleSample(float(row["t"]), float(row["grams"])))
            except (KeyError, TypeError, ValueError) as e:
                raise FeedError(f"{path}:{lineno}: {e}") from e
    samples.sort(key=lambda s: s.t_s)
    return samples


class ScaleReplay:
    """Replays samples in time order; ``until(t_s)`` returns those not yet handed out."""

    def __init__(self, samples: list[ScaleSample]) -> None:
        self._samples = samples
        self._next = 0

    @classmethod
    def from_feed(cls, feed: Path) -> ScaleReplay | None:
        path = feed / "scale.csv"
        return cls(read_scale_csv(path)) if path.exists() else None

    def until(self, t_s: float) -> list[ScaleSample]:
        start = self._next
        while self._next < len(self._samples) and self._samples[self._next].t_s <= t_s:
            self._next += 1
        return self._samples[start : self._next]
