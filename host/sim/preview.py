"""Look at a feed instead of reading it: a contact sheet (PNG) or a short GIF, truth drawn on.

Contact sheet: one tile per truth event (the frame a moment after an add settles, or while a
removed item is on its way out), plus the first and last frames; each with the basket polygon
and a caption; under them the scale trace with every event marked. GIF: the feed at a few
frames per second, the polygon, the live scale reading and each truth event's caption for two
seconds after it. Works on any cartfeed/1 feed, recorded or simulated.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from host.sim.errors import SimError
from smartcart.feed.format import Feed, ScaleTrace, TruthEvent, open_feed

TILE_PX = (320, 240)
_GREEN, _RED, _WHITE, _BLACK = (90, 230, 90), (90, 90, 255), (255, 255, 255), (0, 0, 0)


def _caption(e: TruthEvent) -> str:
    action, sku = e.resolved()
    grams = f" {e.grams} g" if e.grams is not None else ""
    return f"{e.t:.2f}s {'+' if action == 'add' else '-'} {sku}{grams}"


Colour = tuple[int, int, int]


def _label(
    img: np.ndarray, text: str, org: tuple[int, int], colour: Colour = _WHITE, scale: float = 0.42
) -> None:
    # A dark band behind the text keeps it readable on any background.
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    band = img[max(0, y - h - 3) : y + base + 1, max(0, x - 3) : x + w + 3]
    band[:] = band // 3
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def _tile(
    frame: np.ndarray, feed: Feed, lines: list[tuple[str, tuple[int, int, int]]]
) -> np.ndarray:
    tile = cv2.resize(frame, TILE_PX, interpolation=cv2.INTER_AREA)
    poly = (np.array(feed.meta.basket_polygon) * TILE_PX).astype(np.int32)
    cv2.polylines(tile, [poly], True, _GREEN, 1, cv2.LINE_AA)
    for i, (text, colour) in enumerate(lines):
        _label(tile, text, (6, 18 + 16 * i), colour)
    return tile


def _scale_strip(
    scale: ScaleTrace | None, truth: list[TruthEvent], width: int, end_s: float
) -> np.ndarray:
    strip = np.full((120, width, 3), 250, np.uint8)
    if scale is None or len(scale.t_s) < 2:
        _label(strip, "no scale.csv", (8, 60), _BLACK)
        return strip
    lo, hi = min(0.0, float(scale.grams.min())), max(1.0, float(scale.grams.max()))
    x = (scale.t_s / end_s * (width - 1)).astype(np.int32)
    y = (110 - (scale.grams - lo) / (hi - lo) * 95).astype(np.int32)
    for e in truth:
        ex = int(e.t / end_s * (width - 1))
        cv2.line(strip, (ex, 5), (ex, 115), _GREEN if e.resolved()[0] == "add" else _RED, 1)
    cv2.polylines(strip, [np.stack([x, y], axis=1)], False, (40, 40, 40), 1, cv2.LINE_AA)
    text = f"scale.csv: {lo:.0f}..{hi:.0f} g over {end_s:.0f} s; truth: green add, red remove"
    cv2.putText(strip, text, (8, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, _BLACK, 1, cv2.LINE_AA)
    return strip


def contact_sheet(feed: Feed, *, columns: int = 4) -> np.ndarray:
    truth = feed.truth() or []
    times = feed.frame_times()
    end_s = float(times[-1]) if len(times) else 0.0
    # Adds: shortly after they settle; removes: as they leave (the truth t is the crossing).
    wanted: list[tuple[float, list[tuple[str, Colour]]]] = [(0.0, [("start", _WHITE)])]
    for e in truth:
        action = e.resolved()[0]
        t = e.t + 0.6 if action == "add" else max(0.0, e.t - 0.15)
        wanted.append((t, [(_caption(e), _GREEN if action == "add" else _RED)]))
    wanted.append((end_s, [("end", _WHITE)]))
    indices = [int(np.clip(np.searchsorted(times, t), 0, len(times) - 1)) for t, _ in wanted]
    frames: dict[int, np.ndarray] = {}
    for index, _, frame in feed.frames():
        if index in indices:
            frames[index] = frame
        if index >= max(indices):
            break
    tiles = [
        _tile(frames[i], feed, [(f"#{i} {times[i]:.2f}s", _WHITE), *lines])
        for i, (_, lines) in zip(indices, wanted, strict=True)
        if i in frames
    ]
    if not tiles:
        raise SimError(f"{feed.path}: no decodable frames")
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[r : r + columns]) for r in range(0, len(tiles), columns)]
    sheet = np.vstack(rows)
    return np.vstack([sheet, _scale_strip(feed.scale(), truth, sheet.shape[1], end_s)])


def gif_frames(
    feed: Feed, *, fps: float = 4.0, start_s: float = 0.0, seconds: float | None = None
) -> list[np.ndarray]:
    truth = sorted(feed.truth() or [], key=lambda e: e.t)
    scale = feed.scale()
    next_t = start_s
    out = []
    for _, t, frame in feed.frames():
        if t < next_t:
            continue
        if seconds is not None and t > start_s + seconds:
            break
        next_t += 1 / fps
        lines = [(f"{t:6.2f} s" + (f"   {scale.at(t):7.1f} g" if scale else ""), _WHITE)]
        for e in truth:
            if e.t <= t < e.t + 2.0:
                lines.append((_caption(e), _GREEN if e.resolved()[0] == "add" else _RED))
        out.append(_tile(frame, feed, lines))
    return out


def preview(feed_dir: Path, out: Path, *, fps: float = 4.0, seconds: float | None = None) -> Path:
    """Write a contact sheet (``.png``) or an animation (``.gif``) of the feed to ``out``."""
    feed = open_feed(feed_dir)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".png":
        ok = cv2.imwrite(str(out), contact_sheet(feed))
    elif suffix == ".gif":
        frames = gif_frames(feed, fps=fps, seconds=seconds)
        if not frames:
            raise SimError(f"{feed_dir}: no frames to animate")
        ok = cv2.imwritemulti(str(out), frames)
    else:
        raise SimError(f"{out}: preview writes .png (contact sheet) or .gif")
    if not ok:
        raise SimError(f"{out}: OpenCV could not write it")
    return out
