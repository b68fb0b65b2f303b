"""Open the cart's load cells as its config describes (None where the cart has none)."""

from __future__ import annotations

from firmware.config import ScaleConfig
from firmware.scale.hx711 import HX711, Calibration, HX711Scale


def open_scale(cfg: ScaleConfig) -> HX711Scale | None:
    if not cfg.enabled:
        return None
    hx = HX711(cfg.data_pin, cfg.clock_pin, cfg.gpiochip)
    return HX711Scale(hx, Calibration(cfg.offset_counts, cfg.counts_per_gram), average=cfg.average)
