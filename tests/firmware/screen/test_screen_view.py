"""The cart screen's pure parts by tables: money, toasts, questions, lines, pairing codes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from firmware.link.basket import Basket
from firmware.screen import view as v
from firmware.screen.money import grams_label, kr
from firmware.screen.pairing import mint_code, pairing_url, qr_svg
from smartcart.catalog import default_catalog
from smartcart.contract import messages as m

CATALOG = default_catalog()
SESSION = str(uuid.uuid4())


class Trip:
    """Builds one session's contract events with growing seqs."""

    def __init__(self) -> None:
        self.seq = 0
        self.events: list[m.CartEvent] = []

    def __call__(self, type_: str, **kw: object) -> m.CartEvent:
        self.seq += 1
        ev = m.CartEvent(
            event_id=str(uuid.uuid4()),
            cart_id="cart-0042",
            session_id=SESSION,
            seq=self.seq,
            occurred_at=datetime.now(UTC),
            type=type_,  # type: ignore[arg-type]
            **kw,  # type: ignore[arg-type]
        )
        self.events.append(ev)
        return ev

    def basket(self) -> Basket:
        return Basket.replay(SESSION, self.events)


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (2450, "24,50 kr"),
        (5, "0,05 kr"),
        (0, "0,00 kr"),
        (123456, "1 234,56 kr"),
        (-1200, "-12,00 kr"),
    ],
)
def test_amounts_read_the_swedish_way(minor: int, text: str) -> None:
    assert kr(minor) == text


@pytest.mark.parametrize(("grams", "text"), [(0, "0 g"), (412, "412 g"), (1250, "1,250 kg")])
def test_weights(grams: int, text: str) -> None:
    assert grams_label(grams) == text


def test_lines_are_priced_by_weight_or_by_count() -> None:
    trip = Trip()
    trip("add", sku="banana", grams=412)
    trip("add", sku="oatly-oat-milk")
    trip("add", sku="oatly-oat-milk")
    banana, milk = v.basket_lines(CATALOG, trip.basket())
    assert (banana.detail, banana.amount, banana.grams) == ("412 g × 25,00 kr/kg", "10,30 kr", 412)
    assert (milk.detail, milk.amount, milk.quantity) == ("2 × 24,00 kr", "48,00 kr", 2)
    assert banana.tile == v.Tile("B", "#c2410c")  # Fruit


def test_toasts_say_what_changed_after_a_seq() -> None:
    trip = Trip()
    trip("add", sku="banana", grams=131)
    trip("add", sku="oatly-oat-milk")
    asked = trip("unresolved", action="add", candidates=(m.Candidate(sku="lemon", score=0.4),))
    trip("resolution", sku="lemon", resolves=asked.event_id)
    trip("remove", sku="oatly-oat-milk")
    skipped = trip("unresolved", action="remove", candidates=(m.Candidate(sku="lime", score=0.3),))
    trip("resolution", sku=None, resolves=skipped.event_id)  # "none of these": no toast

    texts = [t.text for t in v.toasts(CATALOG, trip.events, after_seq=0)]
    assert texts == [
        "Added Banana (131 g)",
        "Added Oatly Oat Milk",
        "Added Lemon",
        "Removed Oatly Oat Milk",
    ]
    assert [t.text for t in v.toasts(CATALOG, trip.events, after_seq=4)] == [
        "Removed Oatly Oat Milk"
    ]


def test_only_open_questions_are_asked_oldest_first() -> None:
    trip = Trip()
    first = trip(
        "unresolved",
        action="add",
        grams=190,
        candidates=(
            m.Candidate(sku="granny-smith", score=0.5),
            m.Candidate(sku="golden-delicious", score=0.3),
        ),
    )
    second = trip("unresolved", action="remove", candidates=(m.Candidate(sku="lime", score=0.9),))
    asked = v.questions(CATALOG, trip.basket(), trip.events)
    assert [q.event_id for q in asked] == [first.event_id, second.event_id]
    assert asked[0].prompt == "Which item did you add?"
    assert [c.name for c in asked[0].choices] == ["Granny Smith", "Golden Delicious"]
    assert asked[1].prompt == "Which item did you take out?"

    trip("resolution", sku="granny-smith", resolves=first.event_id)
    (left,) = v.questions(CATALOG, trip.basket(), trip.events)
    assert left.event_id == second.event_id


@pytest.mark.parametrize(
    ("reason", "advice"),
    [
        ("insufficient_funds", "Top up your account"),
        ("unresolved_items", "Answer the question"),
        ("missing_events", "Wait a moment"),
        ("offline", "Your basket is safe"),
        ("something_new", "Ask a member of staff"),
    ],
)
def test_every_refusal_says_what_to_do(reason: str, advice: str) -> None:
    assert advice in v.refusal(reason, "host message").advice


def test_pairing_codes_are_signed_with_the_cart_key_and_fit_a_qr_code() -> None:
    key = m.cart_pairing_key(b"store secret", "cart-0042")
    now = datetime(2026, 11, 25, 9, 30, 12, 345678, tzinfo=UTC)
    code = mint_code("cart-0042", key, now)
    assert code.issued_at == now.replace(microsecond=0)
    assert code.sig == m.pairing_sig(key, code.pairing_text())
    assert mint_code("cart-0042", key, now).nonce != code.nonce  # one-time: a new nonce each
    url = pairing_url("http://host:8080/pair", code)
    assert url == (
        f"http://host:8080/pair?cart=cart-0042&nonce={code.nonce}"
        f"&t={int(now.timestamp())}&sig={code.sig}"
    )
    svg = qr_svg(url)
    assert svg.startswith("<svg") and "<?xml" not in svg
