"""``Frame`` and the ``FrameSource`` protocol every camera adapter implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    index: int  # sequence number as delivered (gaps where frames were dropped)
    ts_ns: int  # capture time: sensor timestamp live, feed time in a replay (ns from start)
    lores_bgr: np.ndarray  # HxWx3 uint8, about 320 wide: detection and motion
    main_bgr: np.ndarray  # HxWx3 uint8, full resolution: recognition crops

    def __post_init__(self) -> None:
        for name in ("lores_bgr", "main_bgr"):
            a = getattr(self, name)
            if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
                raise ValueError(f"{name} must be HxWx3 uint8, got {a.shape} {a.dtype}")

    @property
    def t_s(self) -> float:
        return self.ts_ns / 1e9


@dataclass(slots=True)
class SourceStats:
    """Counters a source keeps while it runs (mutable: owned by the source alone)."""

    delivered: int = 0
    dropped: int = 0  # frames the sensor produced that the loop was too slow to take
    bad: int = 0  # frames that could not be decoded


class FrameSource(Protocol):
    """An open stream of frames; iterate to read, ``close`` to release the device."""

    stats: SourceStats

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def lores_size(main_wh: tuple[int, int], lores_width: int) -> tuple[int, int]:
    """(width, height) of the detection image: ``lores_width`` wide, same aspect, even sides."""
    w, h = main_wh
    lw = min(lores_width, w) // 2 * 2
    lh = max(2, round(h * lw / w) // 2 * 2)
    return lw, lh
