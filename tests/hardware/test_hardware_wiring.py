"""The wiring documents agree with each other and with the firmware's pin defaults."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hardware_modules import HARDWARE

from firmware.config import ScaleConfig

WIRING_MD = (HARDWARE / "wiring.md").read_text()
SVG_TEXT = " ".join(
    t.text or "" for t in ET.parse(HARDWARE / "wiring.svg").iter("{http://www.w3.org/2000/svg}text")
)


def pin_row(signal: str) -> tuple[int, str]:
    match = re.search(rf"^\| (\d+) \| (GPIO\d+) \| HX711 \*\*{signal}\*\*", WIRING_MD, re.M)
    assert match, f"no pin table row for HX711 {signal}"
    return int(match.group(1)), match.group(2)


def test_hx711_pins_match_the_firmware_defaults():
    defaults = ScaleConfig()
    assert pin_row("DAT") == (29, f"GPIO{defaults.data_pin}")
    assert pin_row("CLK") == (31, f"GPIO{defaults.clock_pin}")


def test_svg_shows_the_same_pins():
    defaults = ScaleConfig()
    assert f"DAT -> GPIO{defaults.data_pin} (pin 29)" in SVG_TEXT
    assert f"CLK -> GPIO{defaults.clock_pin} (pin 31)" in SVG_TEXT
    assert "GPIO17 (pin 11)" in SVG_TEXT and "| 11 | GPIO17 |" in WIRING_MD


def test_no_header_pin_is_used_twice():
    pins = [int(p) for p in re.findall(r"^\| (\d+) \|", WIRING_MD, re.M)]
    assert len(pins) == len(set(pins))
    assert {2, 6} <= set(pins)  # Touch Display 2's power, where Raspberry Pi puts it
