"""Render a ``Trip`` into a ``cartfeed/1`` feed folder: video, frames.csv, scale.csv, truth.

Per frame: the static background (floor, basket, resting items with their shadows, vignette)
is cached and redrawn only when an item comes to rest or is lifted; the moving hand and what it
carries are drawn into a BGRA layer, motion-blurred along their motion during the exposure and
composited; then exposure and white balance for that moment, and sensor noise from a small
seeded bank. The MJPEG encoder adds the compression. All randomness flows from the one seed, so
the same seed and options give the same bytes.

``render_feed`` is the Python API (used by the cart firmware's replay tests); ``cached_feed``
renders once per (seed, options, renderer version) into ``~/.cache/smartcart/feeds/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from host.sim import scene
from host.sim.cutouts import Cutout, load_cutouts
from host.sim.errors import SimError
from host.sim.script import Action, Item, Trip, plan_trip, scale_trace
from smartcart.catalog import default_catalog
from smartcart.dataset import cache_dir
from smartcart.feed.format import FeedMeta, FeedWriter

RENDERER_VERSION = "4"  # bump when output changes, so cached feeds are re-rendered
EXPOSURE_FRAMES = 0.5  # shutter open for half the frame interval: the blur length
_NOISE_BANK = 6


class _Renderer:
    def __init__(self, trip: Trip, size_px: tuple[int, int], rng: np.random.Generator,
                 cutouts: Mapping[str, Cutout]) -> None:  # fmt: skip
        self.trip, self.size_px, self.cutouts = trip, size_px, cutouts
        self.view = scene.BasketView(size_px, trip.polygon_norm)
        w, h = size_px
        floor = scene.store_floor(rng, size_px)
        scene.draw_basket(floor, self.view, scene.BasketStyle.random(rng))
        self.empty = floor
        self.vignette = scene.vignette(size_px, float(rng.uniform(0.1, 0.35)))
        sigma = float(rng.uniform(1.5, 3.0))
        self.noise = [_sensor_noise(rng, size_px, sigma) for _ in range(_NOISE_BANK)]
        self.rest = trip.rest_intervals()
        self.items = {i.key: i for i in trip.items}
        self._bg_key: tuple[int, ...] | None = None
        self._bg = floor

    def sprite(self, item: Item, h: float, u: float, v: float) -> np.ndarray:
        length = item.length_cm * self.view.px_per_cm(u, v, h)
        return scene.product_sprite(self.cutouts[item.sku].bgra, length, item.angle_deg)

    def background(self, t_s: float) -> np.ndarray:
        resting = tuple(k for k, (a, b) in sorted(self.rest.items()) if a <= t_s < b)
        if resting != self._bg_key:
            bg = self.empty.copy()
            for key in resting:  # in key order: later items lie on top of earlier ones
                item = self.items[key]
                centre = self.view.to_image(item.u, item.v)
                scene.paste(bg, self.sprite(item, 0.0, item.u, item.v), centre, shadow=0.35)
            self._bg = (bg * self.vignette).astype(np.uint8)
            self._bg_key = resting
        return self._bg

    def draw_action(self, frame: np.ndarray, action: Action, t_s: float, dt_s: float) -> None:
        key = action.at(t_s)
        if key is None:
            return
        later = action.at(min(action.end_s, t_s + dt_s)) or key
        x, y = self.view.to_image(key.u, key.v, key.h)
        x2, y2 = self.view.to_image(later.u, later.v, later.h)
        layer = np.zeros((*frame.shape[:2], 4), np.uint8)
        u, v = min(max(key.u, 0), 1), min(max(key.v, 0), 1)  # off the image: the edge's scale
        scale = self.view.px_per_cm(u, v, key.h)
        reach = scene.hand_reach_px(scale)
        if action.item is not None and action.carrying(t_s):
            scene.paste(layer, self.sprite(action.item, key.h, u, v), (x, y))
            reach = scene.hand_reach_px(scale, action.item.length_cm * scale)
        wrist = (x - math.cos(action.angle_rad) * reach, y - math.sin(action.angle_rad) * reach)
        pose = scene.HandPose(wrist, action.angle_rad, scale, key.grip, action.skin_bgr,
                              action.sleeve_bgr)  # fmt: skip
        scene.draw_hand(layer, pose)
        scene.composite_layer(frame, layer, (x2 - x, y2 - y))

    def frame(self, t_s: float, dt_s: float, index: int) -> np.ndarray:
        frame = self.background(t_s).copy()
        for action in self.trip.actions:
            if action.start_s <= t_s <= action.end_s:
                self.draw_action(frame, action, t_s, dt_s)
        frame = scene.apply_light(frame, self.trip.lighting.gain_bgr(t_s))
        brighter, darker = self.noise[index % _NOISE_BANK]
        return cv2.subtract(cv2.add(frame, brighter), darker)  # saturating uint8: cheap


def _sensor_noise(
    rng: np.random.Generator, size_px: tuple[int, int], sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """One frame of sensor noise, as (brighter, darker) uint8 BGR parts: mostly luma, slightly
    blotchy as after a phone-class ISP's demosaicing, which also keeps MJPEG frames near a
    real camera's size."""
    w, h = size_px
    luma = rng.normal(0, sigma, (h, w, 1)).astype(np.float32)
    noise = luma + rng.normal(0, sigma * 0.4, (h, w, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.7) * 1.6  # the blur takes ~40% of the sigma
    return np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)


def render_feed(
    out_dir: Path,
    seed: int,
    *,
    duration_s: float | None = None,
    events: int | None = None,
    distractors: int | None = None,
    size_px: tuple[int, int] = (640, 480),
    fps: float = 15.0,
    jpeg_quality: int = 50,
    cart_id: str = "sim-cart",
    scale_sps: int = 10,
    scale_average: int = 1,
) -> Path:
    """Render a simulated feed into ``out_dir`` (created; existing feed files overwritten).
    ``scale_sps``, ``scale_average``: the HX711's rate and the reader's averaging
    (``host.sim.script.scale_trace``)."""
    if fps <= 0 or min(size_px) < 64:
        raise SimError("fps must be positive and the image at least 64x64 px")
    rng = np.random.default_rng(seed)
    catalog = default_catalog()
    trip = plan_trip(rng, catalog, size_px, duration_s=duration_s, events=events,
                     distractors=distractors)  # fmt: skip
    renderer = _Renderer(trip, size_px, rng, load_cutouts())
    polygon = tuple((round(x, 4), round(y, 4)) for x, y in trip.polygon_norm)
    meta = FeedMeta(
        cart_id=cart_id,
        fps=fps,
        width=size_px[0],
        height=size_px[1],
        basket_polygon=polygon,
        catalog=catalog.name,
        source="simulated",
        notes=f"smartcart sim render --seed {seed} (renderer {RENDERER_VERSION})",
    )
    n_frames = int(trip.duration_s * fps)
    # A real camera's timestamps jitter by a millisecond or two around the nominal rate.
    times = np.arange(n_frames) / fps + rng.uniform(0, 0.002, n_frames)
    # Encoding (in OpenCV, without the GIL) overlaps drawing the next frame; one worker keeps
    # the frames in order, and waiting on the write two frames back bounds the queue.
    with FeedWriter(out_dir, meta, jpeg_quality=jpeg_quality) as writer, \
            ThreadPoolExecutor(max_workers=1) as encoder:  # fmt: skip
        pending: deque[Future[None]] = deque()
        for i, t in enumerate(times):
            frame = renderer.frame(float(t), EXPOSURE_FRAMES / fps, i)
            pending.append(encoder.submit(writer.write_frame, frame, float(t)))
            if len(pending) > 2:
                pending.popleft().result()
        for f in pending:
            f.result()
        writer.write_scale(*scale_trace(trip, rng, scale_sps, scale_average))
        writer.write_truth(trip.truth())
    return Path(out_dir)


def feeds_cache_dir() -> Path:
    return cache_dir() / "feeds"


def cached_feed(seed: int, **options: object) -> Path:
    """A feed rendered once per (seed, options, renderer version) and kept in the cache.

    Renders into a temporary folder beside the cache entry and renames it into place, so a
    concurrent caller sees either no feed or a complete one.
    """
    spec = json.dumps({"seed": seed, "v": RENDERER_VERSION, **options}, sort_keys=True, default=str)
    digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
    dest = feeds_cache_dir() / f"seed{seed}-{digest}"
    if (dest / "truth.jsonl").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        render_feed(tmp, seed, **options)  # type: ignore[arg-type]
        try:
            tmp.rename(dest)
        except OSError:  # another process finished first: theirs is as good as ours
            if not (dest / "truth.jsonl").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
