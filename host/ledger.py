"""The double-entry ledger: every money movement is one balanced transaction of entries.

Accounts:
- ``customer:<id>``: a shopper's prepaid wallet. The store owes it, so it is credit-normal:
  balance = credits - debits.
- ``store:funding``: money received for top-ups (cash at the till, a card). Debit-normal.
- ``store:sales``: revenue. Credit-normal.

A top-up debits funding and credits the wallet; a charge debits the wallet and credits sales; a
refund is the reverse of a charge. Each entry has exactly one positive side (a CHECK in the
database too) and each transaction's debits equal its credits (checked here before anything is
written; PostgreSQL re-checks at commit). Entries are append-only: balances are always sums.
Across all accounts debits minus credits is therefore zero, ``trial_balance_minor`` says so.

Everything here works inside the caller's ORM session and transaction; nothing commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host.db.models import Account, AccountKind, LedgerEntry, LedgerTransaction, TxKind
from host.errors import LedgerError

STORE_FUNDING = "store:funding"
STORE_SALES = "store:sales"


@dataclass(frozen=True, slots=True)
class Posting:
    """One side of a transaction: a debit or a credit to one account, in minor units."""

    account_id: str
    debit_minor: int = 0
    credit_minor: int = 0

    def __post_init__(self) -> None:
        one_side = (self.debit_minor > 0) != (self.credit_minor > 0)
        if not one_side or self.debit_minor < 0 or self.credit_minor < 0:
            raise LedgerError(
                f"posting to {self.account_id}: exactly one of debit/credit must be positive "
                f"(got debit={self.debit_minor}, credit={self.credit_minor})"
            )


def customer_account_id(customer_id: str) -> str:
    return f"customer:{customer_id}"


def ensure_store_accounts(s: Session, currency: str) -> None:
    for account_id, kind in (
        (STORE_FUNDING, AccountKind.FUNDING),
        (STORE_SALES, AccountKind.SALES),
    ):
        if s.get(Account, account_id) is None:
            s.add(Account(id=account_id, kind=kind.value, currency=currency))
    s.flush()


def open_customer_account(s: Session, customer_id: str, currency: str) -> str:
    account_id = customer_account_id(customer_id)
    s.add(
        Account(
            id=account_id,
            kind=AccountKind.CUSTOMER.value,
            customer_id=customer_id,
            currency=currency,
        )
    )
    return account_id


def post(
    s: Session,
    kind: TxKind,
    postings: Sequence[Posting],
    currency: str,
    *,
    idempotency_key: str | None = None,
    memo: str = "",
    session_id: str | None = None,
) -> str:
    """Write one balanced transaction; return its id.

    With an ``idempotency_key`` that was already posted, nothing is written and the earlier
    transaction's id is returned (a retried request moves money once).
    """
    if len(postings) < 2:
        raise LedgerError("a transaction needs at least two postings")
    debits = sum(p.debit_minor for p in postings)
    credits = sum(p.credit_minor for p in postings)
    if debits != credits:
        raise LedgerError(f"unbalanced transaction: debits {debits} != credits {credits}")
    if idempotency_key is not None:
        earlier = s.scalar(
            select(LedgerTransaction.id).where(LedgerTransaction.idempotency_key == idempotency_key)
        )
        if earlier is not None:
            return earlier
    tx_id = str(uuid.uuid4())
    s.add(
        LedgerTransaction(
            id=tx_id,
            kind=kind.value,
            idempotency_key=idempotency_key,
            memo=memo[:200],
            session_id=session_id,
        )
    )
    # Flush the transaction row before its entries: the FK is checked per statement.
    s.flush()
    s.add_all(
        LedgerEntry(
            transaction_id=tx_id,
            account_id=p.account_id,
            debit_minor=p.debit_minor,
            credit_minor=p.credit_minor,
            currency=currency,
        )
        for p in postings
    )
    s.flush()
    return tx_id


def balance_minor(s: Session, account_id: str) -> int:
    """Credit-normal balance (credits - debits): what the store owes a customer wallet."""
    row = s.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.credit_minor), 0),
            func.coalesce(func.sum(LedgerEntry.debit_minor), 0),
        ).where(LedgerEntry.account_id == account_id)
    ).one()
    return int(row[0]) - int(row[1])


def trial_balance_minor(s: Session) -> int:
    """Debits minus credits over every entry: zero for a sound ledger."""
    row = s.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.debit_minor), 0),
            func.coalesce(func.sum(LedgerEntry.credit_minor), 0),
        )
    ).one()
    return int(row[0]) - int(row[1])


def unbalanced_transactions(s: Session) -> list[str]:
    """Ids of transactions whose entries do not balance (none, in a sound ledger)."""
    stmt = (
        select(LedgerEntry.transaction_id)
        .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.debit_minor) != func.sum(LedgerEntry.credit_minor))
    )
    return list(s.scalars(stmt))


def top_up(
    s: Session,
    customer_id: str,
    amount_minor: int,
    currency: str,
    *,
    idempotency_key: str | None = None,
) -> str:
    if amount_minor <= 0:
        raise LedgerError(f"a top-up must be positive, got {amount_minor}")
    return post(
        s,
        TxKind.TOP_UP,
        [
            Posting(STORE_FUNDING, debit_minor=amount_minor),
            Posting(customer_account_id(customer_id), credit_minor=amount_minor),
        ],
        currency,
        idempotency_key=idempotency_key,
        memo="top-up",
    )
