"""The bill of materials is complete, well-formed, and the README shows exactly it."""

from __future__ import annotations

import csv
from decimal import Decimal

from hardware_modules import HARDWARE, load

bom = load("bom.py")


def test_every_row_is_complete():
    with bom.BOM_CSV.open(newline="") as f:
        rows = list(csv.reader(f))
    assert {len(r) for r in rows} == {7}, "a stray comma shifted a column"
    lines = bom.read_bom()
    assert len({x.ref for x in lines}) == len(lines)
    for x in lines:
        assert x.qty > 0 and x.unit_price_usd > 0 and x.part_number and x.manufacturer, x


def test_the_parts_the_design_depends_on_are_there():
    by_part = {x.part_number: x for x in bom.read_bom()}
    assert "SC1112" in by_part  # Raspberry Pi 5 4 GB
    assert "SC0874" in by_part  # Camera Module 3 Wide
    assert "SC1635" in by_part  # Touch Display 2 7-inch
    assert by_part["SEN-10245"].qty == 4  # four half-bridge load cells
    assert "SEN-13879" in by_part  # HX711


def test_printed_parts_point_at_existing_models():
    for x in bom.read_bom():
        if x.manufacturer == "smartcart":
            assert (HARDWARE.parent / x.part_number).is_file(), x.part_number
    scads = {p.relative_to(HARDWARE.parent).as_posix() for p in HARDWARE.rglob("*.scad")}
    assert scads <= {x.part_number for x in bom.read_bom()}


def test_readme_table_is_the_csv():
    readme = (HARDWARE / "README.md").read_text()
    table = readme.split("<!-- bom:begin -->")[1].split("<!-- bom:end -->")[0].strip()
    assert table == bom.markdown(bom.read_bom())


def test_total_is_exact():
    lines = bom.read_bom()
    assert sum((x.price_usd for x in lines), Decimal(0)) == sum(
        (x.qty * x.unit_price_usd for x in lines), Decimal(0)
    )
