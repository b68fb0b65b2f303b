"""The cart's running basket, folded from its own events: tables of events -> lines."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.link.basket import Basket, Line
from smartcart.catalog import Pricing, default_catalog
from smartcart.contract import messages as m

CART = "cart-0042"
SESSION = str(uuid.uuid4())
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Trip:
    """Builder: contract events with growing seqs, as an outbox would mint them."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(
        self, type_: str, sku: str | None = None, grams: int | None = None, **over: object
    ) -> m.CartEvent:
        self.seq += 1
        fields: dict[str, object] = dict(
            event_id=str(uuid.uuid4()),
            cart_id=CART,
            session_id=SESSION,
            seq=self.seq,
            occurred_at=NOW,
            type=type_,
            sku=sku,
            grams=grams,
        )
        fields.update(over)
        return m.CartEvent.model_validate(fields)


def lines(basket: Basket) -> set[tuple[str, int, int | None]]:
    return {(ln.sku, ln.quantity, ln.grams) for ln in basket.lines.values()}


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([("add", "banana", 131)], {("banana", 1, 131)}),
        ([("add", "banana", 131), ("add", "banana", 120)], {("banana", 2, 251)}),
        ([("add", "kiwi", 90), ("add", "kiwi", 88)], {("kiwi", 2, None)}),  # per-unit: no grams
        ([("add", "kiwi", 90), ("remove", "kiwi", None)], set()),
        (
            [("add", "banana", 130), ("add", "banana", 110), ("remove", "banana", 110)],
            {("banana", 1, 130)},
        ),
        (
            [("add", "banana", 130), ("add", "banana", 110), ("remove", "banana", None)],
            {("banana", 1, 120)},
        ),  # no weight on the remove: the line's average item goes
        ([("remove", "kiwi", None)], set()),  # nothing to remove: nothing changes
        (
            [("add", "kiwi", None), ("add", "lemon", None), ("remove", "kiwi", None)],
            {("lemon", 1, None)},
        ),
    ],
)
def test_adds_and_removes(steps: list[tuple[str, str, int | None]], expected: set) -> None:
    trip = Trip()
    basket = Basket.replay(SESSION, [trip(t, s, g) for t, s, g in steps])
    assert lines(basket) == expected
    assert basket.seq == len(steps)


def test_unresolved_waits_for_the_shoppers_answer() -> None:
    trip = Trip()
    asked = trip(
        "unresolved",
        None,
        95,
        action="add",
        candidates=[{"sku": "lemon", "score": 0.5}, {"sku": "lime", "score": 0.4}],
    )
    basket = Basket(SESSION).apply(asked)
    assert lines(basket) == set() and len(basket.pending) == 1
    basket = basket.apply(trip("resolution", "lime", None, resolves=asked.event_id))
    assert lines(basket) == {("lime", 1, None)} and not basket.pending


def test_none_of_these_changes_nothing() -> None:
    trip = Trip()
    asked = trip("unresolved", None, 95, action="add", candidates=[{"sku": "lemon", "score": 0.5}])
    basket = Basket.replay(
        SESSION, [asked, trip("resolution", None, None, resolves=asked.event_id)]
    )
    assert lines(basket) == set() and not basket.pending


def test_events_already_folded_or_of_another_session_are_ignored() -> None:
    trip = Trip()
    add = trip("add", "kiwi")
    basket = Basket(SESSION).apply(add).apply(add)  # a resend folded twice counts once
    other = add.model_copy(update={"session_id": str(uuid.uuid4()), "seq": 9})
    assert basket.apply(other) == basket
    assert basket.lines["kiwi"] == Line("kiwi", 1, None)


def test_snapshot_is_a_valid_contract_message() -> None:
    trip = Trip()
    events = [trip("add", "banana", 131), trip("add", "kiwi", 90)]
    events.append(
        trip("unresolved", None, 95, action="add", candidates=[{"sku": "lemon", "score": 0.5}])
    )
    basket = Basket.replay(SESSION, events)
    snap = basket.snapshot(CART, NOW)
    assert snap.seq == 3 and snap.unresolved == 1
    assert [(ln.sku, ln.quantity, ln.grams) for ln in snap.lines] == [
        ("banana", 1, 131),
        ("kiwi", 1, None),
    ]


# The cart's basket must fold events exactly as the host does: the host reconciles a gap from
# the cart's snapshot, so any difference would silently change what the shopper pays.
_SKUS = ["banana", "vine-tomato", "kiwi", "arla-standard-milk"]  # two per-kg, two per-unit


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "remove"]),
            st.sampled_from(_SKUS),
            st.one_of(st.none(), st.integers(1, 2000)),
        ),
        max_size=30,
    )
)
@settings(max_examples=60, deadline=None)
def test_the_cart_folds_events_as_the_host_prices_them(steps: list) -> None:
    from host import pricing
    from host.errors import Rejected

    catalog = default_catalog()
    trip, host_lines = Trip(), {}
    events = []
    for action, sku, grams in steps:
        if action == "add" and catalog[sku].pricing is Pricing.PER_KG and grams is None:
            grams = 100  # a per-kg add always carries its weight (the host refuses it otherwise)
        events.append(trip(action, sku, grams))
        with contextlib.suppress(Rejected):  # a remove of what is not there: changes nothing
            host_lines[sku] = pricing.after(catalog, host_lines.get(sku), action, sku, grams)
    expected = {(s, ln.quantity, ln.grams) for s, ln in host_lines.items() if ln.quantity > 0}
    assert lines(Basket.replay(SESSION, events)) == expected
