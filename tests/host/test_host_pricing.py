"""Basket arithmetic by table: one event's effect on one line, and what a line costs."""

from __future__ import annotations

import pytest

from host.errors import Rejected
from host.pricing import LineState, after, price
from smartcart.catalog import default_catalog

CAT = default_catalog()
APPLE, KIWI = "golden-delicious", "kiwi"  # 3200 öre/kg; 500 öre each


@pytest.mark.parametrize(
    ("line", "action", "sku", "grams", "expected"),
    [
        (None, "add", KIWI, None, LineState(KIWI, 1, None)),
        (None, "add", KIWI, 95, LineState(KIWI, 1, None)),  # per-unit lines keep no grams
        (LineState(KIWI, 2, None), "remove", KIWI, None, LineState(KIWI, 1, None)),
        (None, "add", APPLE, 180, LineState(APPLE, 1, 180)),
        (LineState(APPLE, 1, 180), "add", APPLE, 200, LineState(APPLE, 2, 380)),
        (LineState(APPLE, 2, 380), "remove", APPLE, 200, LineState(APPLE, 1, 180)),
        (LineState(APPLE, 2, 380), "remove", APPLE, None, LineState(APPLE, 1, 190)),  # average
        (LineState(APPLE, 1, 180), "remove", APPLE, 400, LineState(APPLE, 0, 0)),
    ],
)
def test_after(
    line: LineState | None, action: str, sku: str, grams: int | None, expected: LineState
) -> None:
    assert after(CAT, line, action, sku, grams) == expected


@pytest.mark.parametrize(
    ("line", "action", "sku", "grams", "reason"),
    [
        (None, "add", "no-such-sku", None, "unknown_sku"),
        (None, "add", APPLE, None, "grams_required"),
        (None, "remove", KIWI, None, "not_in_basket"),
        (LineState(KIWI, 0, None), "remove", KIWI, None, "not_in_basket"),
    ],
)
def test_after_refuses(
    line: LineState | None, action: str, sku: str, grams: int | None, reason: str
) -> None:
    with pytest.raises(Rejected) as e:
        after(CAT, line, action, sku, grams)
    assert e.value.reason == reason


@pytest.mark.parametrize(
    ("line", "amount_minor"),
    [
        (LineState(KIWI, 3, None), 1500),
        (LineState(APPLE, 1, 1000), 3200),
        (LineState(APPLE, 2, 333), 1066),  # 1065.6 rounds half up
        (LineState(APPLE, 1, 0), 0),
    ],
)
def test_price(line: LineState, amount_minor: int) -> None:
    assert price(CAT, line).amount_minor == amount_minor
