"""Applying cart messages: exactly once, in seq order, gaps held, checkout rules (both DBs).

Driven through ``HostWorker.apply_messages`` (the worker thread's path minus the broker), so
each test is one of the rules in ``host.stream`` / ``host.checkout`` against a real database.
"""

from __future__ import annotations

import uuid

import pytest
from hostkit import CartScript, replies, wire
from sqlalchemy import func, select

from host import ledger
from host.db.models import AppliedEvent, BasketLine, DeadLetter, LedgerEntry, PendingEvent
from host.worker import HostWorker

APPLE = "golden-delicious"  # per kg, 3200 öre/kg
AVOCADO = "avocado"  # per unit, 1500 öre
KIWI = "kiwi"  # per unit, 500 öre


def shopper(host: HostWorker, balance_minor: int = 50_000) -> tuple[str, CartScript]:
    customer_id = host.create_customer("Alice", top_up_minor=balance_minor)
    session_id = host.start_session("cart-0001", customer_id)
    return customer_id, CartScript(session_id)


def basket(host: HostWorker, session_id: str) -> dict[str, tuple[int, int | None]]:
    with host.transaction() as s:
        rows = s.scalars(
            select(BasketLine).where(BasketLine.session_id == session_id, BasketLine.quantity > 0)
        )
        return {r.sku: (r.quantity, r.grams) for r in rows}


def count(host: HostWorker, model: type) -> int:
    with host.transaction() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_an_event_delivered_twice_is_applied_once(host: HostWorker) -> None:
    _, cart = shopper(host)
    add = cart.add(AVOCADO)
    out = host.apply_messages([wire(add), wire(add)])
    out += host.apply_messages([wire(add)])  # and again in a later batch
    assert basket(host, cart.session_id) == {AVOCADO: (1, None)}
    assert count(host, AppliedEvent) == 1
    # Every copy is acknowledged, so the cart can forget it whichever copy it resent.
    assert [a.acked_seq for a in replies(out, "ack")] == [1, 1]


def test_out_of_order_events_are_applied_in_seq_order(host: HostWorker) -> None:
    _, cart = shopper(host)
    add1, add2, rm = cart.add(KIWI), cart.add(KIWI), cart.remove(KIWI)
    # The remove first would be refused (nothing to remove) if applied on arrival.
    out = host.apply_messages([wire(rm)])
    assert replies(out, "ack")[0].acked_seq == 0
    assert host.session_status(cart.session_id) == "unresolved"
    host.apply_messages([wire(add2)])
    out = host.apply_messages([wire(add1)])
    assert replies(out, "ack")[0].acked_seq == 3
    assert basket(host, cart.session_id) == {KIWI: (1, None)}
    with host.transaction() as s:
        applied = s.execute(
            select(AppliedEvent.seq, AppliedEvent.event_id).order_by(AppliedEvent.applied_at)
        ).all()
    assert [seq for seq, _ in applied] == [1, 2, 3]
    assert count(host, PendingEvent) == 0
    assert host.session_status(cart.session_id) == "active"


def test_a_gap_blocks_checkout_until_the_cart_resends(host: HostWorker) -> None:
    customer_id, cart = shopper(host)
    lost, later = cart.add(AVOCADO), cart.add(KIWI)
    host.apply_messages([wire(later)])
    request = cart.checkout()
    refused = replies(host.apply_messages([wire(request)]), "checkout_refused")
    assert [r.reason for r in refused] == ["missing_events"]
    assert host.balance_minor(customer_id) == 50_000
    host.apply_messages([wire(lost)])  # the cart resends what was not acknowledged
    receipt = replies(host.apply_messages([wire(request)]), "receipt")[0]  # same request id
    assert receipt.total_minor == 1500 + 500
    assert host.balance_minor(customer_id) == 50_000 - 2000


def test_a_gap_is_reconciled_by_the_carts_snapshot(host: HostWorker) -> None:
    customer_id, cart = shopper(host)
    cart.add(APPLE, grams=400)  # lost for good
    cart.add(KIWI)  # lost for good
    last = cart.add(KIWI)
    host.apply_messages([wire(last)])
    assert host.session_status(cart.session_id) == "unresolved"
    snap = cart.snapshot([(APPLE, 1, 400), (KIWI, 2, None)])
    out = host.apply_messages([wire(snap)])
    assert replies(out, "ack")[0].acked_seq == 3
    assert host.session_status(cart.session_id) == "active"
    receipt = replies(host.apply_messages([wire(cart.checkout())]), "receipt")[0]
    assert {(x.sku, x.quantity, x.grams, x.amount_minor) for x in receipt.lines} == {
        (APPLE, 1, 400, 1280),
        (KIWI, 2, None, 1000),
    }
    assert host.balance_minor(customer_id) == 50_000 - 2280


def test_checkout_sent_twice_or_retried_charges_once(host: HostWorker) -> None:
    customer_id, cart = shopper(host)
    host.apply_messages([wire(cart.add(AVOCADO)), wire(cart.add(APPLE, grams=1000))])
    request = cart.checkout()
    first = host.apply_messages([wire(request), wire(request)])
    again = host.apply_messages([wire(request)])
    other_id = host.apply_messages([wire(cart.checkout(str(uuid.uuid4())))])  # a new request id
    receipts = replies(first + again + other_id, "receipt")
    assert len(receipts) == 4
    assert {r.receipt_id for r in receipts} == {receipts[0].receipt_id}
    assert receipts[0].total_minor == 1500 + 3200
    assert host.balance_minor(customer_id) == 50_000 - 4700
    with host.transaction() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2 + 2  # top-up + charge


def test_insufficient_funds_declines_and_charges_nothing(host: HostWorker) -> None:
    customer_id, cart = shopper(host, balance_minor=1000)
    host.apply_messages([wire(cart.add(AVOCADO))])
    refused = replies(host.apply_messages([wire(cart.checkout())]), "checkout_refused")
    assert [r.reason for r in refused] == ["insufficient_funds"]
    assert host.balance_minor(customer_id) == 1000
    assert host.receipt(cart.session_id) is None
    host.top_up(customer_id, 1000)
    receipt = replies(host.apply_messages([wire(cart.checkout())]), "receipt")[0]
    assert receipt.balance_minor == 500


def test_unresolved_item_blocks_checkout_until_resolution(host: HostWorker) -> None:
    customer_id, cart = shopper(host)
    question = cart.event(
        "unresolved",
        action="add",
        grams=500,
        candidates=[{"sku": APPLE, "score": 0.5}, {"sku": "pink-lady", "score": 0.4}],
    )
    host.apply_messages([wire(question)])
    refused = replies(host.apply_messages([wire(cart.checkout())]), "checkout_refused")
    assert [r.reason for r in refused] == ["unresolved_items"]
    answer = cart.event("resolution", resolves=question.event_id, sku="pink-lady")
    host.apply_messages([wire(answer)])
    assert basket(host, cart.session_id) == {"pink-lady": (1, 500)}
    receipt = replies(host.apply_messages([wire(cart.checkout())]), "receipt")[0]
    assert receipt.total_minor == (3900 * 500 + 500) // 1000
    assert host.balance_minor(customer_id) == 50_000 - receipt.total_minor


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff not json", "not_json"),
        (b'{"v": 2, "kind": "cart_event"}', "unknown_version"),
        (b'{"v": 1, "kind": "cart_event"}', "invalid"),
        (b"{" + b" " * 70_000 + b"}", "oversized"),
    ],
)
def test_bad_payloads_land_in_dead_letters_with_no_state_change(
    host: HostWorker, payload: bytes, reason: str
) -> None:
    _, cart = shopper(host)
    host.apply_messages([wire(cart.add(KIWI))])
    topic = wire(cart.add(KIWI))[0]
    cart.seq -= 1  # the bad message does not consume a seq
    out = host.apply_messages([(topic, payload)])
    assert out == []
    with host.transaction() as s:
        letters = s.scalars(select(DeadLetter)).all()
        assert [(d.reason, d.payload, d.topic) for d in letters] == [(reason, payload, topic)]
    assert basket(host, cart.session_id) == {KIWI: (1, None)}
    assert count(host, AppliedEvent) == 1


def test_unknown_sku_and_missing_grams_are_dead_lettered(host: HostWorker) -> None:
    _, cart = shopper(host)
    unknown = cart.add("no-such-product")
    cart.seq -= 1
    weightless = cart.add(APPLE)  # per kg without grams
    cart.seq -= 1
    fine = cart.add(KIWI)
    out = host.apply_messages([wire(unknown), wire(weightless), wire(fine)])
    assert replies(out, "ack")[0].acked_seq == 1
    with host.transaction() as s:
        assert sorted(s.scalars(select(DeadLetter.reason))) == ["grams_required", "unknown_sku"]
    assert basket(host, cart.session_id) == {KIWI: (1, None)}


def test_a_cart_cannot_speak_for_another(host: HostWorker) -> None:
    _, cart = shopper(host)
    ev = cart.add(KIWI)
    out = host.apply_messages([("smartcart/v1/carts/cart-0002/events", wire(ev)[1])])
    assert out == []
    with host.transaction() as s:
        assert list(s.scalars(select(DeadLetter.reason))) == ["topic_mismatch"]


def test_per_kg_lines_sum_weights_and_removes_take_them_off(host: HostWorker) -> None:
    _, cart = shopper(host)
    host.apply_messages(
        [wire(cart.add(APPLE, 180)), wire(cart.add(APPLE, 220)), wire(cart.remove(APPLE, 175))]
    )
    assert basket(host, cart.session_id) == {APPLE: (1, 225)}


def test_ledger_balances_sum_to_zero_after_a_day_of_shopping(host: HostWorker) -> None:
    for i in range(3):
        customer_id = host.create_customer(f"Shopper {i}", top_up_minor=10_000)
        # A cart's seq only grows across sessions: carry on from what the host applied.
        cart = CartScript(host.start_session("cart-0001", customer_id), seq=host_applied(host))
        host.apply_messages([wire(cart.add(AVOCADO)), wire(cart.add(APPLE, 333))])
        host.apply_messages([wire(cart.checkout())])
    with host.transaction() as s:
        assert ledger.trial_balance_minor(s) == 0
        assert ledger.unbalanced_transactions(s) == []
        sales = ledger.balance_minor(s, ledger.STORE_SALES)
    assert sales == 3 * (1500 + (3200 * 333 + 500) // 1000)


def host_applied(host: HostWorker) -> int:
    from host.db.models import Cart

    with host.transaction() as s:
        cart = s.get(Cart, "cart-0001")
        return 0 if cart is None else cart.applied_seq


def test_an_answer_to_a_question_lost_in_a_gap_waits_for_the_next_snapshot(
    host: HostWorker,
) -> None:
    customer_id, cart = shopper(host)
    question = cart.event(
        "unresolved", action="add", grams=300, candidates=[{"sku": "pink-lady", "score": 0.6}]
    )
    held = cart.add(KIWI)
    host.apply_messages([wire(held)])  # the question itself never arrives
    host.apply_messages([wire(cart.snapshot([(KIWI, 1, None)], unresolved=1))])
    refusals = replies(host.apply_messages([wire(cart.checkout())]), "checkout_refused")
    assert [r.reason for r in refusals] == ["unresolved_items"]
    # The shopper answers; the host never saw the question, so it cannot know the action...
    host.apply_messages(
        [wire(cart.event("resolution", resolves=question.event_id, sku="pink-lady"))]
    )
    refusals = replies(host.apply_messages([wire(cart.checkout())]), "checkout_refused")
    assert [r.reason for r in refusals] == ["missing_events"]
    # ...until the cart's next snapshot says what the basket is.
    host.apply_messages([wire(cart.snapshot([(KIWI, 1, None), ("pink-lady", 1, 300)]))])
    receipt = replies(host.apply_messages([wire(cart.checkout())]), "receipt")[0]
    assert receipt.total_minor == 500 + (3900 * 300 + 500) // 1000
    assert host.balance_minor(customer_id) == 50_000 - receipt.total_minor
