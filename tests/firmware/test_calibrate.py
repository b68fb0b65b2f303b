"""``smartcart cart calibrate``: the camera overlay on a synthetic feed and its polygon written
into cart.toml, a refused polygon, and the scale calibration driven through the HX711 stand-in
(the lgpio calls of tests/firmware/scale) with scripted prompts.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic_feed import H, W, write_feed
from typer.testing import CliRunner

import firmware.camera.open
from firmware.calibrate import calibrate_scale
from firmware.camera.feed import FeedSource
from firmware.cli import app
from firmware.config import load_config
from firmware.scale.hx711 import HX711

sys.path.insert(0, str(Path(__file__).parent / "scale"))
from test_hx711 import StandInHX711Chip  # noqa: E402

TOML = """# cart-0042
cart_id = "cart-0042"

[scale]
enabled = false
"""


@pytest.fixture
def cart_toml(tmp_path: Path) -> Path:
    path = tmp_path / "cart.toml"
    path.write_text(TOML, encoding="utf-8")
    return path


@pytest.fixture
def feed_camera(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = write_feed(tmp_path / "feed", seconds=1.0, scale=False)
    monkeypatch.setattr(firmware.camera.open, "open_camera", lambda cfg: FeedSource(feed))


def _yellow(img: np.ndarray) -> np.ndarray:
    b, g, r = (img[..., i].astype(int) for i in range(3))
    return (b < 80) & (g > 200) & (r > 200)


def test_camera_draws_the_proposal_and_writes_it(cart_toml: Path, feed_camera: None) -> None:
    out = cart_toml.parent / "basket.png"
    args = ["calibrate", "camera", "-c", str(cart_toml), "--out", str(out)]
    proposal = "0.1,0.2 0.9,0.2 0.9,0.9 0.1,0.9"
    result = CliRunner().invoke(app, [*args, "--polygon", proposal, "--write"])
    assert result.exit_code == 0, result.output
    img = cv2.imread(str(out))
    assert img.shape == (H, W, 3)
    yellow = _yellow(img)
    assert yellow[round(0.2 * H), round(0.5 * W)]  # the top edge, where the proposal has it
    assert yellow[round(0.5 * H), round(0.9 * W)]  # the right edge
    assert not yellow[round(0.5 * H), round(0.5 * W)]  # the inside is the camera's image
    written = tomllib.loads(cart_toml.read_text(encoding="utf-8"))
    assert written["basket"]["polygon"] == [[0.1, 0.2], [0.9, 0.2], [0.9, 0.9], [0.1, 0.9]]
    assert written["scale"] == {"enabled": False}  # the rest of the file is kept
    assert load_config(cart_toml).basket.polygon[0] == (0.1, 0.2)


def test_camera_without_a_proposal_shows_the_config_and_writes_nothing(
    cart_toml: Path, feed_camera: None
) -> None:
    out = cart_toml.parent / "now.png"
    result = CliRunner().invoke(
        app, ["calibrate", "camera", "-c", str(cart_toml), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert _yellow(cv2.imread(str(out))).sum() > 100  # the default polygon
    assert cart_toml.read_text(encoding="utf-8") == TOML


@pytest.mark.parametrize(
    ("polygon", "why"),
    [
        ("0.1,0.2 1.5,0.2 0.9,0.9", "less than or equal to 1"),
        ("0.1,0.2 0.9,0.2", "at least 3 corners"),
        ("0.1,0.2 0.9;0.2 0.9,0.9", "bad corner '0.9;0.2'"),
    ],
)
def test_a_bad_polygon_is_refused_and_nothing_is_written(
    cart_toml: Path, feed_camera: None, polygon: str, why: str
) -> None:
    out = cart_toml.parent / "bad.png"
    args = ["calibrate", "camera", "-c", str(cart_toml), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--polygon", polygon, "--write"])
    assert result.exit_code == 1
    assert why in result.output
    assert cart_toml.read_text(encoding="utf-8") == TOML
    assert not out.exists()


def test_scale_calibration_tares_then_weighs_and_writes(cart_toml: Path) -> None:
    empty, per_gram = -81234, 421.5
    chip = StandInHX711Chip([empty])
    prompts: list[str] = []

    def prompt(message: str) -> None:
        prompts.append(message)
        if len(prompts) == 2:  # the person puts the kilogram on the plate
            chip.counts = [round(empty + per_gram * 1000)]

    cal = calibrate_scale(cart_toml, 1000.0, HX711(5, 6, lgpio=chip), prompt, samples=5)
    assert (cal.offset_counts, cal.counts_per_gram) == (empty, per_gram)
    assert "Empty the basket" in prompts[0] and "1000 g" in prompts[1]
    scale = load_config(cart_toml).scale
    assert (scale.offset_counts, scale.counts_per_gram, scale.enabled) == (empty, per_gram, False)


def test_ring_calibration_measures_the_swing_of_a_recorded_trace(cart_toml: Path) -> None:
    """From a feed's scale.csv in which a 500 g load was put in and lifted out three times."""
    rng = np.random.default_rng(3)
    t = np.arange(0, 24, 0.1)
    g = np.zeros_like(t)
    for t_in, t_out in ((1.0, 5.0), (9.0, 13.0), (17.0, 21.0)):
        g += 500 * (np.clip((t - t_in) / 0.15, 0, 1) - np.clip((t - t_out) / 0.25, 0, 1))
        dt = t - t_out - 0.25
        g += np.where(dt >= 0, -75 * np.exp(-dt / 0.3) * np.cos(2 * np.pi * 2.5 * dt), 0)
    trace = cart_toml.parent / "scale.csv"
    rows = [f"{a:.3f},{b:.1f}" for a, b in zip(t, g + rng.normal(0, 1.5, t.shape), strict=True)]
    trace.write_text("t,grams\n" + "\n".join(rows) + "\n", encoding="utf-8")

    result = CliRunner().invoke(
        app, ["calibrate", "ring", "-c", str(cart_toml), "--trace", str(trace), "--write"]
    )
    assert result.exit_code == 0, result.output
    scale = load_config(cart_toml).scale
    assert scale.ring_hz == pytest.approx(2.5, abs=0.1)
    assert scale.ring_decay_s == pytest.approx(0.3, abs=0.05)


def test_ring_calibration_without_a_lift_is_refused_and_writes_nothing(cart_toml: Path) -> None:
    trace = cart_toml.parent / "scale.csv"
    trace.write_text("t,grams\n" + "".join(f"{i / 10},500.0\n" for i in range(100)))
    result = CliRunner().invoke(
        app, ["calibrate", "ring", "-c", str(cart_toml), "--trace", str(trace), "--write"]
    )
    assert result.exit_code == 1
    assert "no load step" in result.output
    assert cart_toml.read_text(encoding="utf-8") == TOML
