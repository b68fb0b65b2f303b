"""``smartcart cart record``: write a cartfeed/1 feed from the live camera and scale.

The one place the cart stores images, and only when a person runs this command. The feed is
written by the feed format's own ``FeedWriter`` (MJPEG ``video.avi``, ``frames.csv`` with each
frame's sensor time from the first frame, ``meta.json`` with the cart's basket polygon) plus
``scale.csv`` with net grams on the same clock. No ``truth.jsonl``: a person labels a recorded
feed afterwards.
"""

from __future__ import annotations

from pathlib import Path

from firmware.camera.open import open_camera
from firmware.config import CartConfig
from firmware.errors import FeedError
from firmware.scale.open import open_scale
from smartcart.feed import errors as feed_errors
from smartcart.feed.format import FeedMeta, FeedWriter


def record_feed(cfg: CartConfig, out: Path, seconds: float) -> int:
    """Record for ``seconds``; returns the number of frames written."""
    if out.exists():
        raise FeedError(f"{out}: exists; a recording never overwrites another")
    camera = open_camera(cfg.camera)
    scale = open_scale(cfg.scale)
    writer: FeedWriter | None = None
    t0_ns: int | None = None
    scale_t: list[float] = []
    scale_g: list[float] = []
    n = 0
    try:
        for frame in camera.frames():
            if t0_ns is None:
                t0_ns = frame.ts_ns
                h, w = frame.main_bgr.shape[:2]
                meta = FeedMeta(
                    cart_id=cfg.cart_id, fps=cfg.camera.fps, width=w, height=h,
                    basket_polygon=cfg.basket.polygon, source="recorded",
                    notes=f"smartcart cart record, {cfg.camera.type} camera",
                )  # fmt: skip
                writer = FeedWriter(out, meta)
            assert writer is not None
            t_s = (frame.ts_ns - t0_ns) / 1e9
            writer.write_frame(frame.main_bgr, t_s)
            n += 1
            for sample in scale.drain() if scale is not None else ():
                scale_t.append(sample.t_s - t0_ns / 1e9)  # both CLOCK_MONOTONIC
                scale_g.append(sample.grams)
            if t_s >= seconds:
                break
    except feed_errors.FeedError as e:
        raise FeedError(str(e)) from e
    finally:
        camera.close()
        if scale is not None:
            scale.close()
        if writer is not None:
            if scale is not None:
                writer.write_scale(scale_t, scale_g)
            writer.close()
    return n
