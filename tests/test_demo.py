"""The demo end to end (embedded broker, host on SQLite, cart outbox + link): the printed total
is what the catalog says the trip costs, and the balance dropped by exactly that."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.demo import DEFAULT_TRIP, kr
from smartcart.catalog import Pricing, default_catalog
from smartcart.cli import app


def amounts(output: str, label: str) -> list[int]:
    """Minor units of every "12 345,67 kr" on the output line starting with ``label:``."""
    lines = [ln for ln in output.splitlines() if ln.startswith(f"{label}: ")]
    assert lines, f"no {label!r} line in the demo output:\n{output}"
    return [int(re.sub(r"[ ,]", "", a)) for a in re.findall(r"-?\d[\d ]*,\d\d(?= kr)", lines[0])]


def catalog_total(trip: Path) -> int:
    """Price the trip straight from the catalog, independently of cart and host code."""
    catalog = default_catalog()
    qty: dict[str, int] = defaultdict(int)
    grams: dict[str, int] = defaultdict(int)
    for line in trip.read_text().splitlines():
        step = json.loads(line)
        if step["type"] == "unresolved":  # the demo's shopper picks the best candidate
            best = max(step["candidates"], key=lambda c: c["score"])
            step = {**step, "type": step["action"], "sku": best["sku"]}
        sku, sign = step["sku"], 1 if step["type"] == "add" else -1
        if catalog[sku].pricing is Pricing.PER_KG:
            # A remove without a weight takes the line's average item (the contract's rule).
            grams[sku] += sign * step.get("grams", grams[sku] // max(qty[sku], 1))
        qty[sku] += sign
    return sum(
        catalog[sku].price_for(n, grams[sku] if catalog[sku].pricing is Pricing.PER_KG else None)
        for sku, n in qty.items()
        if n > 0
    )


def run_demo(*args: str) -> str:
    result = CliRunner().invoke(app, ["demo", "--speed", "0", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_charges_exactly_the_catalog_price_of_the_trip() -> None:
    out = run_demo()
    expected = catalog_total(DEFAULT_TRIP)
    assert expected == 7963  # the committed trip: 79,63 kr (a guard against editing it blind)
    [total] = amounts(out, "Charged")
    before, after = amounts(out, "Balance")
    assert total == expected
    assert before - after == expected
    [total_row] = [ln for ln in out.splitlines() if "Total" in ln]
    assert kr(expected) in total_row  # the receipt table's own total line
    assert "0,258 kg" in out and "25,00 kr/kg" in out  # two weighed bananas, per-kg price
    assert "Oatly" not in out  # added, then removed
    assert "shopper picks lime" in out and "Lime" in out  # the unsure add, answered


def test_demo_plays_another_trip_with_a_weighed_removal(tmp_path: Path) -> None:
    trip = tmp_path / "trip.jsonl"
    steps = [
        {"t": 1.0, "type": "add", "sku": "regular-tomato", "grams": 104},
        {"t": 2.0, "type": "add", "sku": "regular-tomato", "grams": 97},
        {"t": 3.0, "type": "add", "sku": "regular-tomato", "grams": 111},
        {"t": 4.0, "type": "remove", "sku": "regular-tomato"},  # no weight: the average goes
        {"t": 5.0, "type": "add", "sku": "kiwi", "grams": 88},
    ]
    trip.write_text("".join(json.dumps(s) + "\n" for s in steps))
    out = run_demo("--trip", str(trip), "--balance", "10000")
    expected = catalog_total(trip)
    [total] = amounts(out, "Charged")
    before, after = amounts(out, "Balance")
    assert (total, before, after) == (expected, 10000, 10000 - expected)


@pytest.mark.parametrize(
    ("amount", "text"),
    [(2450, "24,50 kr"), (5, "0,05 kr"), (123456, "1 234,56 kr"), (-1200, "-12,00 kr")],
)
def test_money_prints_swedish_style(amount: int, text: str) -> None:
    assert kr(amount) == text


def _detector_shipped() -> bool:
    from models.manifest import ManifestError, read

    try:
        return "detector" in read()
    except ManifestError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_runs_the_real_pipeline_on_a_rendered_feed() -> None:
    if not _detector_shipped():
        pytest.skip("no detector in models/manifest.json yet: --feed needs the cart's models")
    from host.sim import cached_feed

    # Short (16 s, two events) so CI replays it in reasonable time; rendered once, then cached.
    feed = cached_feed(seed=9101, events=2, distractors=0, duration_s=16.0)
    out = run_demo("--feed", str(feed))
    [total] = amounts(out, "Charged")
    before, after = amounts(out, "Balance")
    assert total > 0 and before - after == total
