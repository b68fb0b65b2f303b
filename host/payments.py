"""The payment-gateway interface (authorise, then capture) and the ledger as its built-in gateway.

Shaped like a card processor's API so a real one can replace the ledger later: checkout first
*authorises* the amount (a hold that may be declined), then *captures* it (money moves), and can
*void* an authorisation it will not capture; refunds go back against a capture. Every call
carries an idempotency key minted once by the caller (the checkout's ``request_id``), so a
retry never charges twice.

``LedgerGateway`` is bound to one database session: it authorises against the customer's
prepaid wallet (locking the account row on PostgreSQL so two workers cannot both spend the same
money) and captures by posting a balanced ledger transaction, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from host import ledger
from host.db.models import Account, TxKind
from host.errors import Declined, LedgerError, NotFound


@dataclass(frozen=True, slots=True)
class Authorisation:
    auth_id: str
    customer_id: str
    amount_minor: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Capture:
    transaction_id: str
    customer_id: str
    amount_minor: int
    currency: str


class PaymentGateway(Protocol):
    def authorise(
        self, customer_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> Authorisation:
        """Hold ``amount_minor``; raise ``Declined`` (reason insufficient_funds, ...)."""
        ...

    def capture(self, auth: Authorisation, *, session_id: str | None, memo: str) -> Capture:
        """Move the authorised money; idempotent by the authorisation's key."""
        ...

    def void(self, auth: Authorisation) -> None:
        """Release an authorisation that will not be captured."""
        ...

    def refund(
        self, capture: Capture, amount_minor: int, idempotency_key: str, *, kind: TxKind, memo: str
    ) -> str:
        """Return up to the captured amount; return the refund's reference."""
        ...


class LedgerGateway:
    """The store's own prepaid wallets as a payment gateway."""

    def __init__(self, s: Session) -> None:
        self._s = s

    def authorise(
        self, customer_id: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> Authorisation:
        if amount_minor <= 0:
            raise LedgerError(f"authorise a positive amount, got {amount_minor}")
        account_id = ledger.customer_account_id(customer_id)
        # Row lock (PostgreSQL; SQLite's writer lock already serialises): a concurrent
        # checkout of the same customer waits here instead of spending the same balance.
        account = self._s.scalar(select(Account).where(Account.id == account_id).with_for_update())
        if account is None:
            raise NotFound(f"no account for customer {customer_id}")
        if account.currency != currency:
            raise LedgerError(f"account is in {account.currency}, charge in {currency}")
        balance = ledger.balance_minor(self._s, account_id)
        if balance < amount_minor:
            raise Declined(
                "insufficient_funds",
                f"balance {balance} < {amount_minor} {currency}: top up at the till and try again",
            )
        return Authorisation(
            str(uuid.uuid4()), customer_id, amount_minor, currency, idempotency_key
        )

    def capture(self, auth: Authorisation, *, session_id: str | None, memo: str) -> Capture:
        tx_id = ledger.post(
            self._s,
            TxKind.CHARGE,
            [
                ledger.Posting(
                    ledger.customer_account_id(auth.customer_id), debit_minor=auth.amount_minor
                ),
                ledger.Posting(ledger.STORE_SALES, credit_minor=auth.amount_minor),
            ],
            auth.currency,
            idempotency_key=f"charge:{auth.idempotency_key}",
            memo=memo,
            session_id=session_id,
        )
        return Capture(tx_id, auth.customer_id, auth.amount_minor, auth.currency)

    def void(self, auth: Authorisation) -> None:
        # Nothing was held outside this database transaction; the caller's rollback or simply
        # not capturing releases it.
        return None

    def refund(
        self, capture: Capture, amount_minor: int, idempotency_key: str, *, kind: TxKind, memo: str
    ) -> str:
        if not 0 < amount_minor <= capture.amount_minor:
            raise LedgerError(f"refund {amount_minor} outside 1..{capture.amount_minor}")
        return ledger.post(
            self._s,
            kind,
            [
                ledger.Posting(ledger.STORE_SALES, debit_minor=amount_minor),
                ledger.Posting(
                    ledger.customer_account_id(capture.customer_id), credit_minor=amount_minor
                ),
            ],
            capture.currency,
            idempotency_key=f"refund:{idempotency_key}",
            memo=memo,
        )
