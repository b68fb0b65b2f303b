"""The camera choice follows from the geometry, and the bracket is printed at the tilt it needs."""

from __future__ import annotations

import math
import re

import pytest
from hardware_modules import HARDWARE, load

cov = load("coverage.py")
BASKET = cov.Basket()
MAST_M = 0.25


def test_wide_module_covers_the_basket_and_the_standard_one_does_not():
    assert cov.best_fit(cov.CM3_WIDE.cropped_to(4, 3), False, BASKET, MAST_M).covers
    for portrait in (False, True):
        assert not cov.best_fit(cov.CM3, portrait, BASKET, MAST_M).covers


def test_standard_module_would_need_an_impractical_mast():
    assert cov.min_mast_m(cov.CM3.cropped_to(4, 3), False, BASKET) > 0.6
    assert cov.min_mast_m(cov.CM3_WIDE.cropped_to(4, 3), False, BASKET) <= MAST_M


def test_4_3_crop_narrows_only_the_width():
    wide43 = cov.CM3_WIDE.cropped_to(4, 3)
    assert wide43.vfov_deg == cov.CM3_WIDE.vfov_deg
    expected = 2 * math.degrees(math.atan(0.75 * math.tan(math.radians(51))))
    assert wide43.hfov_deg == pytest.approx(expected)
    assert cov.CM3_WIDE.cropped_to(16, 9) is cov.CM3_WIDE


def test_blind_strip_by_similar_triangles():
    # Camera 0.10 m behind and 0.37 m above the rim, basket 0.38 m deep: 0.38 * 0.10 / 0.37.
    assert cov.blind_strip_m(BASKET, MAST_M) == pytest.approx(0.38 * 0.10 / 0.37)


def test_a_point_behind_the_camera_is_never_seen():
    cam = cov.camera_position(BASKET, MAST_M)
    assert cov.margin_deg(cov.CM3_WIDE, False, 45.0, cam, [(0.0, -1.0, 0.0)]) < 0


def test_bracket_default_tilt_is_the_calculated_one():
    scad = (HARDWARE / "mechanical" / "camera_bracket.scad").read_text()
    tilt = float(re.search(r"^camera_tilt_deg = ([0-9.]+);", scad, re.M).group(1))
    fit = cov.best_fit(cov.CM3_WIDE.cropped_to(4, 3), False, BASKET, MAST_M)
    assert tilt == fit.pitch_deg
