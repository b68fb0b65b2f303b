"""``smartcart cart calibrate``: per-cart calibration written into cart.toml (hardware/README §6).

- ``camera``: grab one frame from the configured camera, draw the basket polygon on it (the
  config's, or a proposed ``--polygon``, normalised 0..1) and write a PNG that the kiosk
  browser or any image viewer shows. ``--write`` stores the proposal as ``[basket] polygon``.
- ``scale``: read the empty basket (tare), then a known weight; ``[scale] offset_counts`` and
  ``counts_per_gram`` come from ``firmware/scale/hx711.py``'s ``tare`` and ``calibrate``.
- ``ring``: how the basket swings on its load cells (``firmware/scale/ring.py``), measured from
  a recorded ``scale.csv`` (``smartcart cart record`` while a weight is put in and lifted out a
  few times); ``[scale] ring_hz`` and ``ring_decay_s`` let per-kg items be weighed under the
  swing instead of after it.

Headless on purpose (no GUI window: the cart has a kiosk, not a desktop), and prompts go
through a callable so a test drives them. Every value is checked by ``CartConfig``'s own
validation before the file is replaced, so a bad proposal never reaches the live cart. The file
is re-serialised with tomli-w (atomic replace): values survive, comments do not.

Registered by firmware/cli.py: only typer and the standard library at module level.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from firmware.errors import ConfigError, FirmwareError

if TYPE_CHECKING:
    import numpy as np

    from firmware.config import CartConfig
    from firmware.scale.hx711 import HX711, Calibration
    from firmware.scale.ring import Ring

Polygon = tuple[tuple[float, float], ...]
Prompt = Callable[[str], object]  # shows the instruction, returns once the person is ready

app = typer.Typer(no_args_is_help=True)
Config = Annotated[Path, typer.Option("--config", "-c", help="Cart TOML config to calibrate")]


def parse_polygon(text: str) -> Polygon:
    """``"x1,y1 x2,y2 ..."`` (normalised 0..1) as corners; the ranges are the config's job."""
    corners = []
    for pair in text.split():
        x, _, y = pair.partition(",")
        try:
            corners.append((float(x), float(y)))
        except ValueError:
            raise ConfigError(f"bad corner {pair!r}: want x,y normalised to 0..1") from None
    return tuple(corners)


def update_config(path: Path, section: str, values: dict[str, Any], write: bool) -> CartConfig:
    """``path`` with ``[section]`` updated, validated as a whole; replaces the file if ``write``."""
    import tomli_w
    from pydantic import ValidationError

    from firmware.config import CartConfig

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from e
    raw.setdefault(section, {}).update(values)
    try:
        cfg = CartConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"refused, {path} left as it was: {e}") from e
    if write:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(tomli_w.dumps(raw), encoding="utf-8")
        os.replace(tmp, path)  # a power cut leaves the old file or the new one, never half
    return cfg


def draw_polygon(img_bgr: np.ndarray, polygon: Polygon) -> np.ndarray:
    """A copy of the frame with the polygon's edges and numbered corners drawn on it."""
    import cv2
    import numpy as np

    h, w = img_bgr.shape[:2]
    pts = np.array([(round(x * w), round(y * h)) for x, y in polygon], np.int32)
    out = img_bgr.copy()
    thick = max(2, w // 320)
    cv2.polylines(out, [pts], isClosed=True, color=(0, 255, 255), thickness=thick)
    for i, (px, py) in enumerate(pts, start=1):
        cv2.circle(out, (int(px), int(py)), 3 * thick, (0, 0, 255), -1)
        cv2.putText(out, str(i), (int(px) + 4 * thick, int(py)), 0, 0.4 * thick, (0, 0, 255), 1)
    return out


def grab_frame(cfg: CartConfig) -> np.ndarray:
    """One full-resolution frame from the configured camera."""
    from firmware.camera.open import open_camera
    from firmware.errors import CameraError

    camera = open_camera(cfg.camera)
    try:
        for frame in camera.frames():
            return frame.main_bgr
    finally:
        camera.close()
    raise CameraError("the camera delivered no frame")


def calibrate_camera(config: Path, out: Path, polygon: Polygon | None, write: bool) -> Polygon:
    """Draw the current or proposed polygon on a live frame into ``out``; store it if ``write``."""
    import cv2

    from firmware.config import load_config

    cfg = load_config(config)
    values = None if polygon is None else {"polygon": [list(c) for c in polygon]}
    if values is not None:  # checked before anything is drawn
        cfg = update_config(config, "basket", values, write=False)
    if not cv2.imwrite(str(out), draw_polygon(grab_frame(cfg), cfg.basket.polygon)):
        raise ConfigError(f"cannot write {out}")
    if values is not None and write:  # only once the camera has shown it
        update_config(config, "basket", values, write=True)
    return cfg.basket.polygon


def calibrate_scale(
    config: Path, known_grams: float, hx: HX711, prompt: Prompt, samples: int = 20
) -> Calibration:
    """Tare the empty basket, read ``known_grams`` on it, write the calibration into ``config``."""
    from firmware.config import load_config
    from firmware.scale.hx711 import calibrate, tare

    load_config(config)  # a broken file is refused before anyone lifts a weight
    prompt("Empty the basket, then press Enter to tare")
    offset_counts = tare(hx, samples)
    prompt(f"Put the {known_grams:g} g reference on the floor plate's centre, then press Enter")
    cal = calibrate(hx, offset_counts, known_grams, samples)
    values = {"offset_counts": cal.offset_counts, "counts_per_gram": cal.counts_per_gram}
    update_config(config, "scale", values, write=True)
    return cal


def calibrate_ring(config: Path, trace: Path, write: bool) -> tuple[Ring, int]:
    """The basket's ring measured from ``trace`` (a feed's ``scale.csv``), and the number of
    lifts it came from; stored as ``[scale] ring_hz`` / ``ring_decay_s`` if ``write``."""
    from firmware.config import load_config
    from firmware.scale.ring import estimate
    from smartcart.feed.format import read_scale

    load_config(config)  # a broken file is refused before the trace is read
    try:
        scale_trace = read_scale(trace)
        ring, used = estimate(scale_trace.t_s, scale_trace.grams)
    except ValueError as e:  # FeedError is one: a bad file, or no lift in it
        raise ConfigError(f"{trace}: {e}") from e
    values = {"ring_hz": ring.hz, "ring_decay_s": ring.decay_s}
    update_config(config, "scale", values, write=write)
    return ring, used


def _enter(message: str) -> object:
    return typer.prompt(message, default="", show_default=False)


@app.command()
def camera(
    config: Config,
    out: Annotated[Path, typer.Option(help="Overlay PNG to write")] = Path("basket.png"),
    polygon: Annotated[
        str | None,
        typer.Option(help='Proposed rim corners, normalised: "x1,y1 x2,y2 x3,y3 x4,y4"'),
    ] = None,
    write: Annotated[bool, typer.Option(help="Store --polygon as [basket] polygon")] = False,
) -> None:
    """Draw the basket polygon on a camera frame (PNG); --write stores a proposed one."""
    if write and polygon is None:
        raise typer.BadParameter("--write needs a --polygon to store")
    try:
        corners = calibrate_camera(
            config, out, None if polygon is None else parse_polygon(polygon), write
        )
    except FirmwareError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    shown = " ".join(f"{x:g},{y:g}" for x, y in corners)
    typer.echo(f"{out}: polygon {shown}" + (f" written to {config}" if write else ""))


@app.command()
def scale(
    config: Config,
    known_grams: Annotated[float, typer.Option(min=1.0, help="The reference weight, grams")],
    samples: Annotated[int, typer.Option(min=3, help="Readings averaged per step")] = 20,
) -> None:
    """Tare the empty basket, then weigh a known weight: writes the scale calibration."""
    from firmware.config import load_config
    from firmware.scale.hx711 import HX711

    try:
        sc = load_config(config).scale
        hx = HX711(sc.data_pin, sc.clock_pin, sc.gpiochip)
        try:
            cal = calibrate_scale(config, known_grams, hx, _enter, samples)
        finally:
            hx.close()
    except FirmwareError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    typer.echo(
        f"{config}: offset_counts {cal.offset_counts}, counts_per_gram {cal.counts_per_gram:.3f}"
    )


@app.command()
def ring(
    config: Config,
    trace: Annotated[
        Path, typer.Option(help="scale.csv of a feed recorded while a weight was lifted out")
    ],
    write: Annotated[bool, typer.Option(help="Store it as [scale] ring_hz / ring_decay_s")] = False,
) -> None:
    """Measure how the basket swings on its load cells from a recorded scale.csv."""
    try:
        found, used = calibrate_ring(config, trace, write)
    except FirmwareError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    typer.echo(
        f"{trace}: ring_hz {found.hz:g}, ring_decay_s {found.decay_s:g} (from {used} lifts)"
        + (f" written to {config}" if write else "")
    )
