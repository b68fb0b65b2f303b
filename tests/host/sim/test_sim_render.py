"""Rendered feeds: same seed same bytes, and truth that agrees with the frames and the scale.

Feeds are rendered at test time into the cache (``cached_feed``), short and small; nothing
rendered is committed. The trip script is re-planned from the same seed to know when each
gesture starts and ends, so frames without a hand can be compared.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from host.sim import cached_feed, render_feed
from host.sim.script import plan_trip, scale_trace
from smartcart.catalog import default_catalog
from smartcart.feed.format import open_feed

SEED = 11
OPTIONS = {"duration_s": 24.0, "events": 3, "distractors": 1, "size_px": (320, 240)}


@pytest.fixture(scope="module")
def feed_dir() -> Path:
    return cached_feed(SEED, **OPTIONS)


@pytest.fixture(scope="module")
def frames(feed_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    feed = open_feed(feed_dir)
    times, images = [], []
    for _, t, img in feed.frames():
        times.append(t)
        images.append(img)
    return np.array(times), np.stack(images)


@pytest.fixture(scope="module")
def trip():
    return plan_trip(np.random.default_rng(SEED), default_catalog(), (320, 240),
                     duration_s=24.0, events=3, distractors=1)  # fmt: skip


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    short = {"duration_s": 7.0, "events": 1, "distractors": 0, "size_px": (160, 120)}
    a = render_feed(tmp_path / "a", 3, **short)
    b = render_feed(tmp_path / "b", 3, **short)
    c = render_feed(tmp_path / "c", 4, **short)
    assert _digest(a) == _digest(b)
    assert set(_digest(a)) == {"meta.json", "video.avi", "frames.csv", "scale.csv", "truth.jsonl"}
    assert _digest(a)["video.avi"] != _digest(c)["video.avi"]


def test_layout_agrees_with_meta(feed_dir: Path, frames, trip) -> None:
    feed = open_feed(feed_dir)
    times, images = frames
    assert feed.meta.source == "simulated" and feed.meta.fps == 15
    assert images.shape[1:] == (240, 320, 3)
    assert len(feed.frame_times()) == len(images)
    assert np.all(np.diff(times) > 0) and abs(np.median(np.diff(times)) - 1 / 15) < 0.002
    scale = feed.scale()
    assert scale is not None and abs(np.median(np.diff(scale.t_s)) - 0.1) < 0.01
    assert feed.meta.basket_polygon == trip.polygon_norm
    # Four gestures, one of them a distractor: three truth events, in time order.
    truth = feed.truth()
    assert truth is not None and len(truth) == 3 == len(trip.truth())
    assert [e.t for e in truth] == sorted(e.t for e in truth)
    assert {a.kind for a in trip.actions} - {"add", "remove"}


def _change_centre(before: np.ndarray, after: np.ndarray) -> tuple[float, float, int]:
    """Centroid (px) and area of the largest region that differs, after matching exposure:
    lighting drifts between the two frames, so each channel is rescaled by its median ratio."""
    b, a = before.astype(np.float32), after.astype(np.float32)
    a *= np.median(b, axis=(0, 1)) / np.maximum(np.median(a, axis=(0, 1)), 1)
    changed = (np.abs(a - b).max(axis=2) > 45).astype(np.uint8)
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, _, stats, centroids = cv2.connectedComponentsWithStats(changed)
    assert n > 1, "nothing changed between the frames"
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y = centroids[biggest]
    return float(x), float(y), int(stats[biggest, cv2.CC_STAT_AREA])


def test_truth_agrees_with_frames(feed_dir: Path, frames, trip) -> None:
    times, images = frames
    polygon = open_feed(feed_dir).meta.polygon_px().reshape(-1, 1, 2)

    def at(t: float) -> np.ndarray:
        return images[min(int(np.searchsorted(times, t)), len(images) - 1)]

    events = [a for a in trip.actions if a.kind in ("add", "remove")]
    truth = open_feed(feed_dir).truth()
    assert truth is not None
    for action, event in zip(events, truth, strict=True):
        assert action.start_s < event.t < action.end_s
        # Without hands in view: just before the gesture, and just after it.
        x, y, area = _change_centre(at(action.start_s - 0.1), at(action.end_s + 0.2))
        assert area > 150, f"{event}: the item barely shows"
        assert cv2.pointPolygonTest(polygon, (x, y), False) >= 0, f"{event}: change outside"
        if event.type == "add":  # and it stays there, in every hand-free frame after t
            later = at(min(times[-1], action.end_s + 2.0))
            x2, y2, _ = _change_centre(at(action.start_s - 0.1), later)
            assert cv2.pointPolygonTest(polygon, (x2, y2), False) >= 0


def test_scale_steps_by_the_truth_grams(feed_dir: Path, trip) -> None:
    feed = open_feed(feed_dir)
    scale, truth = feed.scale(), feed.truth()
    assert scale is not None and truth is not None
    events = [a for a in trip.actions if a.kind in ("add", "remove")]

    def settled(t0: float, t1: float) -> float:
        inside = (scale.t_s >= t0) & (scale.t_s <= t1)
        return float(np.median(scale.grams[inside]))

    for action, event in zip(events, truth, strict=True):
        step = settled(action.end_s, action.end_s + 0.5) - settled(
            action.start_s - 0.5, action.start_s
        )
        expected = event.grams if event.type == "add" else -event.grams
        assert step == pytest.approx(expected, abs=6), event
    # Distractors leave the weight where it was.
    for action in trip.actions:
        if action.kind in ("hover", "reach"):
            step = settled(action.end_s, action.end_s + 0.5) - settled(
                action.start_s - 0.5, action.start_s
            )
            assert abs(step) < 6


def test_hand_pushes_while_it_presses(feed_dir: Path, trip) -> None:
    scale = open_feed(feed_dir).scale()
    assert scale is not None
    for action in trip.actions:
        if action.kind == "add" and action.press_s is not None:
            p0, p1 = action.press_s
            pressing = scale.grams[(scale.t_s > p0 + 0.15) & (scale.t_s < p1)]
            settled = scale.at(action.end_s + 0.5)
            if len(pressing):  # presses can be shorter than one 10 Hz sample
                assert pressing.max() > settled + 15


def test_cached_feed_is_rendered_once(feed_dir: Path) -> None:
    stamp = (feed_dir / "video.avi").stat().st_mtime_ns
    assert cached_feed(SEED, **OPTIONS) == feed_dir
    assert (feed_dir / "video.avi").stat().st_mtime_ns == stamp


def test_an_hx711_at_80_sps_averaged_by_4_gives_20_quiet_samples_a_second(trip) -> None:
    slow_t, slow_g = scale_trace(trip, np.random.default_rng(1))
    fast_t, fast_g = scale_trace(trip, np.random.default_rng(1), sps=80, average=4)
    assert np.median(np.diff(slow_t)) == pytest.approx(0.1, abs=0.005)
    assert np.median(np.diff(fast_t)) == pytest.approx(0.05, abs=0.005)

    def noise(t: np.ndarray, g: np.ndarray) -> float:
        # Before the first action nothing moves: what is left is the cells' noise.
        return float(np.std(g[t < trip.actions[0].start_s - 0.2]))

    # 2.7 g a sample at 80 SPS, halved by the mean of four: about the 1.5 g of one at 10 SPS.
    assert noise(fast_t, fast_g) == pytest.approx(noise(slow_t, slow_g), rel=0.35)
    for action in (a for a in trip.actions if a.kind in ("add", "remove")):
        after = action.end_s + 0.6
        assert np.interp(after, fast_t, fast_g) == pytest.approx(
            np.interp(after, slow_t, slow_g), abs=12
        )


@pytest.mark.parametrize(("sps", "average"), [(20, 1), (10, 0)])
def test_an_hx711_has_two_rates(trip, sps: int, average: int) -> None:
    with pytest.raises(ValueError, match="10 or 80"):
        scale_trace(trip, np.random.default_rng(1), sps=sps, average=average)
