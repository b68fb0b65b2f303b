"""Which camera sees the whole basket from the handle? A pinhole coverage calculation.

Run: ``.venv/bin/python hardware/coverage.py`` (options: ``--help``; measure your own trolley).

Frame: origin at the centre of the basket's rear rim, x to the shopper's right, y forward
along the basket, z up; metres. The camera sits on the handle clamp's mast, looking forward
and down at ``pitch`` degrees below horizontal. A point is seen when its angle off the optical
axis is inside half the field of view on both image axes (pinhole model; the Wide lens's barrel
distortion only helps at the edges, so this is conservative).

What must be seen: the whole rim opening (every add and remove crosses it: the basket polygon
in the firmware is drawn on it) and the floor, except a blind strip along the rear wall that no
camera behind that wall can see (width ``depth * setback / (camera height above rim)``).

Stated geometry (defaults): a common 100-125 L supermarket trolley, measured as
rim 0.80 m long, 0.52 m wide at the rear and 0.44 m at the front, 0.38 m deep; handle 0.10 m
behind and 0.12 m above the rear rim; the bracket's mast lifts the camera 0.25 m above the
handle. Fields of view are Raspberry Pi's published figures for the 16:9 full sensor
(Camera Module 3: 66 x 41 deg; Camera Module 3 Wide: 102 x 67 deg); a 4:3 stream (the
firmware's 1280x960 main stream) crops the sensor's width to 3/4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import typer


@dataclass(frozen=True, slots=True)
class Basket:
    length_m: float = 0.80
    rear_width_m: float = 0.52
    front_width_m: float = 0.44
    depth_m: float = 0.38
    handle_setback_m: float = 0.10  # handle axis behind the rear rim
    handle_above_rim_m: float = 0.12


@dataclass(frozen=True, slots=True)
class Lens:
    name: str
    hfov_deg: float  # full 16:9 sensor width
    vfov_deg: float
    sensor_px: tuple[int, int] = (4608, 2592)

    def cropped_to(self, aspect_w: int, aspect_h: int) -> Lens:
        """The same lens when the stream crops the 16:9 sensor's width to ``aspect_w:aspect_h``."""
        keep = (aspect_w / aspect_h) / (self.sensor_px[0] / self.sensor_px[1])
        if keep >= 1:
            return self
        hfov = 2 * math.degrees(math.atan(keep * math.tan(math.radians(self.hfov_deg / 2))))
        return Lens(f"{self.name} ({aspect_w}:{aspect_h})", hfov, self.vfov_deg, self.sensor_px)


DEFAULT = Basket()
CM3 = Lens("Camera Module 3", 66.0, 41.0)
CM3_WIDE = Lens("Camera Module 3 Wide", 102.0, 67.0)

Point = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Fit:
    lens: Lens
    portrait: bool  # camera rolled 90 deg: the image's long axis runs along the basket
    pitch_deg: float
    margin_deg: float  # smallest angular distance of a target inside the frame edge (<0: out)

    @property
    def covers(self) -> bool:
        return self.margin_deg >= 0


def camera_position(basket: Basket, mast_m: float) -> Point:
    return (0.0, -basket.handle_setback_m, basket.handle_above_rim_m + mast_m)


def blind_strip_m(basket: Basket, mast_m: float) -> float:
    """Width of the floor strip along the rear wall hidden behind that wall."""
    _, y_cam, z_cam = camera_position(basket, mast_m)
    return basket.depth_m * -y_cam / z_cam


def targets(basket: Basket, mast_m: float) -> list[Point]:
    """Rim corners and mid-edges, and the visible floor's corners."""
    rear, front, length = basket.rear_width_m / 2, basket.front_width_m / 2, basket.length_m
    rim = [
        (-rear, 0.0, 0.0),
        (rear, 0.0, 0.0),
        (-front, length, 0.0),
        (front, length, 0.0),
        (0.0, 0.0, 0.0),
        (0.0, length, 0.0),
    ]
    y0 = blind_strip_m(basket, mast_m)
    w0 = rear + (front - rear) * y0 / length
    floor = [
        (-w0, y0, -basket.depth_m),
        (w0, y0, -basket.depth_m),
        (-front, length, -basket.depth_m),
        (front, length, -basket.depth_m),
    ]
    return rim + floor


def margin_deg(lens: Lens, portrait: bool, pitch_deg: float, cam: Point, pts: list[Point]) -> float:
    p = math.radians(pitch_deg)
    forward = (0.0, math.cos(p), -math.sin(p))
    down = (0.0, -math.sin(p), -math.cos(p))
    half_across, half_along = (
        (lens.vfov_deg / 2, lens.hfov_deg / 2)
        if portrait
        else (lens.hfov_deg / 2, lens.vfov_deg / 2)
    )
    worst = math.inf
    for pt in pts:
        rel = (pt[0] - cam[0], pt[1] - cam[1], pt[2] - cam[2])
        depth = sum(a * b for a, b in zip(rel, forward, strict=True))
        if depth <= 0:
            return -90.0
        across = math.degrees(math.atan(abs(rel[0]) / depth))
        along = math.degrees(
            math.atan(abs(sum(a * b for a, b in zip(rel, down, strict=True))) / depth)
        )
        worst = min(worst, half_across - across, half_along - along)
    return worst


def best_fit(lens: Lens, portrait: bool, basket: Basket, mast_m: float) -> Fit:
    cam, pts = camera_position(basket, mast_m), targets(basket, mast_m)
    pitches = [p / 2 for p in range(0, 181)]  # 0..90 deg in 0.5 deg steps
    best = max(pitches, key=lambda p: margin_deg(lens, portrait, p, cam, pts))
    return Fit(lens, portrait, best, margin_deg(lens, portrait, best, cam, pts))


def far_rim_px_per_cm(fit: Fit, basket: Basket, mast_m: float, stream_width_px: int) -> float:
    """Image scale at the far rim centre: how many pixels one centimetre spans there."""
    _, y_cam, z_cam = camera_position(basket, mast_m)
    distance_m = math.hypot(basket.length_m - y_cam, z_cam)
    hfov = fit.lens.vfov_deg if fit.portrait else fit.lens.hfov_deg
    focal_px = stream_width_px / (2 * math.tan(math.radians(hfov / 2)))
    return focal_px * 0.01 / distance_m


def min_mast_m(lens: Lens, portrait: bool, basket: Basket, max_m: float = 1.5) -> float | None:
    """The shortest mast (1 cm steps) at which ``lens`` covers the basket; None within max_m."""
    for cm in range(round(max_m * 100) + 1):
        if best_fit(lens, portrait, basket, cm / 100).covers:
            return cm / 100
    return None


def main(
    length_m: Annotated[float, typer.Option(help="Rim length, rear to front")] = DEFAULT.length_m,
    rear_width_m: Annotated[float, typer.Option()] = DEFAULT.rear_width_m,
    front_width_m: Annotated[float, typer.Option()] = DEFAULT.front_width_m,
    depth_m: Annotated[float, typer.Option(help="Floor to rim")] = DEFAULT.depth_m,
    handle_setback_m: Annotated[float, typer.Option()] = DEFAULT.handle_setback_m,
    handle_above_rim_m: Annotated[float, typer.Option()] = DEFAULT.handle_above_rim_m,
    mast_m: Annotated[float, typer.Option(help="Camera above the handle axis")] = 0.25,
    stream_width_px: Annotated[int, typer.Option(help="Main stream width")] = 1280,
) -> None:
    """Print the coverage of each camera option and the recommended pitch."""
    basket = Basket(
        length_m, rear_width_m, front_width_m, depth_m, handle_setback_m, handle_above_rim_m
    )
    cam = camera_position(basket, mast_m)
    typer.echo(
        f"basket: rim {length_m:.2f} m long, {rear_width_m:.2f}->{front_width_m:.2f} m wide,"
        f" {depth_m:.2f} m deep"
    )
    typer.echo(
        f"camera: {-cam[1]:.2f} m behind and {cam[2]:.2f} m above the rear rim "
        f"(mast {mast_m:.2f} m)"
    )
    typer.echo(
        f"floor blind strip along the rear wall: {blind_strip_m(basket, mast_m) * 100:.1f} cm"
        " (no camera behind that wall sees it; items there still crossed the rim)\n"
    )
    typer.echo(f"{'lens':36} {'orientation':11} {'pitch':>6} {'margin':>8}  covers")
    lenses = [CM3, CM3.cropped_to(4, 3), CM3_WIDE, CM3_WIDE.cropped_to(4, 3)]
    fits = [
        best_fit(lens, portrait, basket, mast_m) for lens in lenses for portrait in (False, True)
    ]
    for fit in fits:
        orientation = "portrait" if fit.portrait else "landscape"
        typer.echo(
            f"{fit.lens.name:36} {orientation:11} {fit.pitch_deg:5.1f}° "
            f"{fit.margin_deg:+7.1f}°  {'yes' if fit.covers else 'NO'}"
        )
    for lens in (CM3.cropped_to(4, 3), CM3_WIDE.cropped_to(4, 3)):
        mast = min_mast_m(lens, False, basket)
        needed = f"{mast:.2f} m" if mast is not None else "more than 1.5 m"
        typer.echo(f"shortest mast for {lens.name}, landscape: {needed}")
    chosen = best_fit(CM3_WIDE.cropped_to(4, 3), False, basket, mast_m)
    density = far_rim_px_per_cm(chosen, basket, mast_m, stream_width_px)
    typer.echo(
        f"\nchoice: {chosen.lens.name}, landscape, tilt {chosen.pitch_deg:.1f}° below "
        f"horizontal (bracket parameter camera_tilt_deg), margin {chosen.margin_deg:.1f}°;"
        f"\n        {density:.1f} px/cm at the far rim in a {stream_width_px} px wide stream"
    )


if __name__ == "__main__":
    typer.run(main)
