"""The basket ledger: what fusion has said is in the basket, and which held items a remove fits."""

from __future__ import annotations

from datetime import UTC, datetime

from firmware.basket.changes import BasketChange, Candidate
from firmware.basket.ledger import BasketLedger, HeldItem
from firmware.basket.weights import ProductWeights
from smartcart.catalog import default_catalog

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
agrees = ProductWeights(default_catalog()).agrees


def change(type_: str, sku: str | None = None, grams: int | None = None, **kw) -> BasketChange:
    return BasketChange(type_, AT, 0.0, sku=sku, grams=grams, **kw)  # type: ignore[arg-type]


def test_adds_and_removes_keep_what_is_held() -> None:
    ledger = BasketLedger()
    ledger.record(change("add", "lemon", 112))
    ledger.record(change("add", "god-morgon-orange-juice", 1069))
    ledger.record(change("add", "lemon", 104))
    ledger.record(change("remove", "lemon", 103))  # the 104 g lemon, the nearer weight
    assert ledger.items == (
        HeldItem(("lemon",), 112),
        HeldItem(("god-morgon-orange-juice",), 1069),
    )


def test_count_of_a_product_held() -> None:
    ledger = BasketLedger()
    ledger.record(change("add", "lemon", 112))
    ledger.record(change("add", "lemon", 104))
    ledger.record(change("add", "god-morgon-orange-juice", 1069))
    assert (ledger.count("lemon"), ledger.count("god-morgon-orange-juice")) == (2, 1)
    assert ledger.count("lime") == 0


def test_a_remove_fits_by_the_items_own_measured_grams() -> None:
    ledger = BasketLedger()
    ledger.record(change("add", "god-morgon-orange-juice", 1069))
    ledger.record(change("add", "banana", 412))  # per kg: only its own grams describe it
    assert ledger.fitting(1066, agrees) == ("god-morgon-orange-juice",)
    assert ledger.fitting(405, agrees) == ("banana",)
    assert ledger.fitting(300, agrees) == ()  # nothing in the basket weighs that


def test_an_item_added_without_a_scale_fits_by_the_catalog() -> None:
    ledger = BasketLedger()
    ledger.record(change("add", "lemon"))
    assert ledger.fitting(100, agrees) == ("lemon",)
    assert ledger.fitting(300, agrees) == ()


def test_an_unresolved_add_is_held_as_its_candidates() -> None:
    ledger = BasketLedger()
    asked = (Candidate("lime", 0.5), Candidate("lemon", 0.4))
    ledger.record(change("unresolved", grams=72, action="add", candidates=asked))
    assert ledger.skus() == {"lime", "lemon"}
    assert ledger.fitting(70, agrees) == ("lime",)
    ledger.record(change("remove", "lime", 71))
    assert ledger.items == ()


def test_an_item_reweighed_keeps_its_place_and_names() -> None:
    ledger = BasketLedger()
    first = ledger.record(change("add", "lemon", 118))
    ledger.record(change("add", "lemon", 118))  # another lemon, the same weight
    assert first is not None
    ledger.reweigh(first, 104)
    assert ledger.items == (HeldItem(("lemon",), 104), HeldItem(("lemon",), 118))
