"""Replay recorded feeds through the full pipeline, as fast as the CPU allows.

``replay_feed`` reads a cartfeed/1 folder (video + frames.csv timing + scale.csv), runs every
frame through ``CartPipeline`` on the feed's own clock and returns the basket changes; the
``events_jsonl`` helpers write them in the feed format's event shape (``t``, ``type``, ``sku``,
``grams``; ``action`` and ``candidates`` for unresolved; extra ``confidence`` and ``track_id``),
so the scorer compares them with ``truth.jsonl`` directly. Nothing leaves the process: a
replay stores no image and, unless the caller hands the changes to a link, sends nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from firmware.basket.changes import BasketChange
from firmware.camera.feed import FeedSource
from firmware.config import BasketConfig, ScaleConfig
from firmware.pipeline import CartPipeline, DetectorLike, RecognizerLike, StageTimes
from firmware.scale.replay import ScaleReplay
from smartcart.catalog import Catalog
from smartcart.feed.format import Candidate, TruthEvent


@dataclass(frozen=True, slots=True)
class ReplayResult:
    feed: Path
    changes: tuple[BasketChange, ...]
    frames: int
    wall_s: float
    times: StageTimes
    bad_frames: int
    # Per change decided during the feed: feed time from the event's t (rest / crossing) to
    # the frame whose processing emitted it, plus that frame's processing time.
    latencies_s: tuple[float, ...] = ()


def replay_feed(
    feed: Path,
    detector: DetectorLike,
    recognizer: RecognizerLike,
    catalog: Catalog,
    basket: BasketConfig | None = None,
    scale: ScaleConfig | None = None,
    tolerate_truncation: bool = False,
    on_frame: Callable[[int], None] | None = None,
    on_change: Callable[[BasketChange], None] | None = None,
    on_crops: Callable[[BasketChange, list[np.ndarray]], None] | None = None,
) -> ReplayResult:
    """``on_crops``: each change that names a track, with that track's crops as the change was
    decided (what labelling crops from recorded trips needs, ``firmware.harvest``)."""
    source = FeedSource(feed, tolerate_truncation=tolerate_truncation)
    scale_replay = ScaleReplay.from_feed(feed)
    polygon = (
        basket.polygon
        if basket and basket.polygon != BasketConfig().polygon
        else source.meta.basket_polygon
    )
    lores = source.lores_wh
    pipeline = CartPipeline(
        detector,
        recognizer,
        catalog,
        polygon,
        lores,
        (source.meta.width, source.meta.height),
        t0_utc=datetime.now(UTC),
        basket=basket,
        scale=scale,
        has_scale=scale_replay is not None,
    )
    changes: list[BasketChange] = []
    latencies: list[float] = []
    start = time.perf_counter()
    t_s = 0.0
    try:
        frames = source.frames()
        while True:
            grab = time.perf_counter_ns()
            frame = next(frames, None)
            if frame is None:
                break
            t_s = frame.t_s
            samples = scale_replay.until(t_s) if scale_replay is not None else ()
            done = time.perf_counter_ns()
            new = pipeline.process(frame, samples, capture_ns=done - grab)
            compute_s = (time.perf_counter_ns() - done) / 1e9
            latencies += [t_s - c.t_s + compute_s for c in new]
            changes += new
            if on_crops is not None:
                for c in new:
                    if c.track_id is not None:
                        on_crops(c, pipeline.named_crops(c.track_id))
            if on_change is not None:
                for c in new:
                    on_change(c)
            if on_frame is not None:
                on_frame(1)
        tail = pipeline.finish(t_s)
    finally:
        source.close()
    changes += tail
    for c in tail:
        if on_change is not None:
            on_change(c)
        if on_crops is not None and c.track_id is not None:
            on_crops(c, pipeline.named_crops(c.track_id))
    return ReplayResult(
        feed,
        tuple(changes),
        pipeline.times.frames,
        time.perf_counter() - start,
        pipeline.times,
        source.stats.bad,
        tuple(latencies),
    )


def event_dict(change: BasketChange) -> dict[str, Any]:
    """A change in the feed format's event shape (``TruthEvent.to_json``) plus extra keys."""
    event = TruthEvent(
        t=max(change.t_s, 0.0),
        type=change.type,  # type: ignore[arg-type]  # resolution never comes from a replay
        sku=change.sku,
        grams=change.grams,
        action=change.action,
        candidates=tuple(Candidate(c.sku, c.score) for c in change.candidates),
    )
    out = event.to_json()
    if change.type == "unresolved" and change.grams is not None:
        out["grams"] = change.grams  # what the scale said, for the shopper's screen
    if change.confidence is not None:
        out["confidence"] = round(change.confidence, 4)
    if change.track_id is not None:
        out["track_id"] = change.track_id
    return out


def write_events(path: Path, changes: Iterable[BasketChange]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for c in sorted(changes, key=lambda c: c.t_s):
            f.write(json.dumps(event_dict(c)) + "\n")
