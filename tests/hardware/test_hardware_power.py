"""The power bank in the BOM is the one the budget chooses, and it lasts the stated stretch."""

from __future__ import annotations

import pytest
from hardware_modules import load

power = load("power_budget.py")
bom = load("bom.py")


def test_budget_sums_the_loads():
    b = power.budget(off_dock_h=8.0, shopping_share=0.5)
    assert b.shopping_w == pytest.approx(sum(x.shopping_w for x in power.LOADS))
    assert b.average_w == pytest.approx((b.shopping_w + b.idle_w) / 2)
    assert b.needed_wh == pytest.approx(b.average_w * 8.0)


def test_peak_fits_a_5v_3a_pd_profile():
    assert power.budget(8.0, 1.0).shopping_w < power.PD_5V_3A_W


def test_chosen_bank_lasts_the_off_dock_stretch_at_end_of_life():
    b = power.budget(8.0, 0.5)
    chosen = power.smallest_sufficient(b)
    assert chosen is not None and chosen.rated_wh <= 100  # no dangerous-goods shipping
    assert power.runtime_h(chosen, b.average_w, end_of_life=True) >= 8.0
    smaller = [bank for bank in power.BANKS if bank.rated_wh < chosen.rated_wh]
    assert all(power.runtime_h(s, b.average_w, end_of_life=True) < 8.0 for s in smaller)


def test_bom_lists_the_chosen_bank():
    chosen = power.smallest_sufficient(power.budget(8.0, 0.5))
    assert chosen.part_number in {line.part_number for line in bom.read_bom()}


def test_every_load_says_where_its_figure_comes_from():
    for item in power.LOADS:
        assert any(word in item.source for word in ("measured", "assumed", "datasheet")), item
