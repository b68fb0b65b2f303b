"""The ledger's rules, in code and in the database, and refunds/corrections as new entries."""

from __future__ import annotations

import pytest
from hostkit import CartScript, replies, wire
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from host import checkout, ledger
from host.db.models import LedgerEntry, LedgerTransaction, TxKind
from host.errors import Conflict, LedgerError
from host.payments import LedgerGateway
from host.worker import HostWorker


def test_postings_have_exactly_one_positive_side() -> None:
    with pytest.raises(LedgerError):
        ledger.Posting("a", debit_minor=5, credit_minor=5)
    with pytest.raises(LedgerError):
        ledger.Posting("a")
    with pytest.raises(LedgerError):
        ledger.Posting("a", debit_minor=-5)


def test_an_unbalanced_transaction_is_refused_before_anything_is_written(host: HostWorker) -> None:
    customer_id = host.create_customer("Bob")
    with host.transaction() as s, pytest.raises(LedgerError, match="unbalanced"):
        ledger.post(
            s,
            TxKind.TOP_UP,
            [
                ledger.Posting(ledger.STORE_FUNDING, debit_minor=100),
                ledger.Posting(ledger.customer_account_id(customer_id), credit_minor=99),
            ],
            "SEK",
        )
    with host.transaction() as s:
        assert s.scalars(select(LedgerTransaction)).all() == []


def test_the_database_refuses_signed_or_empty_entries(host: HostWorker) -> None:
    customer_id = host.create_customer("Bob", top_up_minor=100)
    with host.transaction() as s:
        tx_id = s.scalar(select(LedgerTransaction.id))
    for debit, credit in [(-1, 0), (0, 0), (5, 5)]:
        with pytest.raises(DBAPIError), host.transaction() as s:
            s.add(
                LedgerEntry(
                    transaction_id=tx_id,
                    account_id=ledger.customer_account_id(customer_id),
                    debit_minor=debit,
                    credit_minor=credit,
                    currency="SEK",
                )
            )


def test_entries_are_append_only(host: HostWorker) -> None:
    host.create_customer("Bob", top_up_minor=100)
    for sql in ("UPDATE ledger_entries SET credit_minor = 1000", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="append-only"), host.transaction() as s:
            s.execute(text(sql))


def test_a_top_up_with_a_retried_key_posts_once(host: HostWorker) -> None:
    customer_id = host.create_customer("Bob")
    host.top_up(customer_id, 2500, idempotency_key="till-7-0001")
    host.top_up(customer_id, 2500, idempotency_key="till-7-0001")
    assert host.balance_minor(customer_id) == 2500


def _charged(host: HostWorker) -> tuple[str, str, checkout.m.Receipt]:
    customer_id = host.create_customer("Alice", top_up_minor=10_000)
    cart = CartScript(host.start_session("cart-0001", customer_id))
    host.apply_messages(
        [
            wire(cart.add("avocado")),
            wire(cart.add("avocado")),
            wire(cart.add("golden-delicious", 500)),
        ]
    )
    receipt = replies(host.apply_messages([wire(cart.checkout())]), "receipt")[0]
    return customer_id, cart.session_id, receipt


def test_a_refund_is_a_new_balanced_transaction(host: HostWorker) -> None:
    customer_id, _, receipt = _charged(host)
    assert receipt.total_minor == 3000 + 1600
    avocado = next(line for line in receipt.lines if line.sku == "avocado")
    line_no = list(receipt.lines).index(avocado) + 1
    with host.transaction() as s:
        entries_before = len(s.scalars(select(LedgerEntry)).all())
        adj = checkout.refund_line(
            s, receipt.receipt_id, line_no, 1500, "one was bruised", LedgerGateway
        )
    assert adj.balance_minor == 10_000 - 4600 + 1500
    assert host.balance_minor(customer_id) == 10_000 - 4600 + 1500
    with host.transaction() as s:
        assert len(s.scalars(select(LedgerEntry)).all()) == entries_before + 2
        tx = s.get(LedgerTransaction, adj.transaction_id)
        assert tx is not None and tx.kind == "refund"
        assert ledger.unbalanced_transactions(s) == []
        assert ledger.trial_balance_minor(s) == 0
        # The receipt itself is untouched.
        assert (
            checkout.receipt_message(
                s, checkout.receipt_for_session(s, receipt.session_id)
            ).total_minor
            == 4600
        )
        with pytest.raises(Conflict, match="exceeds"):
            checkout.refund_line(s, receipt.receipt_id, line_no, 1501, "too much", LedgerGateway)


def test_a_correction_refunds_or_charges_the_difference(host: HostWorker) -> None:
    customer_id, _, receipt = _charged(host)
    apple_no = next(i for i, line in enumerate(receipt.lines, 1) if line.sku == "golden-delicious")
    with host.transaction() as s:
        down = checkout.correct_line(
            s, receipt.receipt_id, apple_no, 1, 250, "scale drift", LedgerGateway
        )
    assert down.amount_minor == 1600 - 800
    with host.transaction() as s:
        up = checkout.correct_line(
            s, receipt.receipt_id, apple_no, 1, 1000, "it was heavier", LedgerGateway
        )
    assert up.amount_minor == 800 - 3200
    assert host.balance_minor(customer_id) == 10_000 - 4600 + 800 - 2400
    with host.transaction() as s:
        assert ledger.trial_balance_minor(s) == 0
        assert ledger.unbalanced_transactions(s) == []


def test_postgres_refuses_an_unbalanced_transaction_at_commit(
    host: HostWorker, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip(
            "the commit-time balance trigger is PostgreSQL's (SQLite relies on host.ledger)"
        )
    customer_id = host.create_customer("Bob")
    with pytest.raises(DBAPIError, match="does not balance"), host.transaction() as s:
        s.add(LedgerTransaction(id="00000000-0000-4000-8000-000000000001", kind="top_up"))
        s.flush()
        s.add(
            LedgerEntry(
                transaction_id="00000000-0000-4000-8000-000000000001",
                account_id=ledger.customer_account_id(customer_id),
                debit_minor=0,
                credit_minor=100,
                currency="SEK",
            )
        )
