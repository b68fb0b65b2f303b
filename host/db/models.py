"""The host's tables, as SQLAlchemy 2 typed ORM models (the schema Alembic migrates to).

Three groups:
- **Ledger** (``accounts``, ``ledger_transactions``, ``ledger_entries``): double entry with debit
  and credit as separate positive integer columns in minor units. A CHECK makes every entry
  exactly one positive side; ``host.ledger`` refuses unbalanced transactions before they are
  written. Balances are sums over entries; nothing is updated in place.
- **Cart stream** (``carts``, ``sessions``, ``applied_events``, ``pending_events``,
  ``basket_lines``): ``carts.applied_seq`` is the highest seq durably applied and moves in the
  same transaction as the ``applied_events`` rows (unique ``event_id``, unique
  ``(cart_id, seq)``). ``basket_lines`` and ``sessions.open_unresolved`` are projections of the
  applied events, kept in that same transaction.
- **Checkout** (``checkout_attempts``, ``receipts``, ``receipt_lines``, ``receipt_adjustments``)
  and ``dead_letters``. One charge per session is a unique ``receipts.session_id`` plus a
  partial unique index on charged attempts; ``request_id`` is the idempotency key.

Times are stored timezone-aware (``UtcDateTime`` makes SQLite give them back aware too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY, not BIGINT.
BigId = BigInteger().with_variant(Integer, "sqlite")

# Stable constraint names so Alembic migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which drops tzinfo) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AccountKind(StrEnum):
    CUSTOMER = "customer"  # a shopper's prepaid wallet (the store owes it: credit-normal)
    FUNDING = "funding"  # money that came in at the till / by card for top-ups (debit-normal)
    SALES = "sales"  # store revenue (credit-normal)


class TxKind(StrEnum):
    TOP_UP = "top_up"
    CHARGE = "charge"
    REFUND = "refund"
    CORRECTION = "correction"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    UNRESOLVED = "unresolved"  # a seq gap, an unresolved item, or a basket awaiting a snapshot
    CHECKED_OUT = "checked_out"
    ABANDONED = "abandoned"  # superseded by a newer session on the same cart


OPEN_STATUSES = (SessionStatus.ACTIVE, SessionStatus.UNRESOLVED)


class Product(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    department: Mapped[str] = mapped_column(String(60))
    pricing: Mapped[str] = mapped_column(String(16))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    unit_weight_g: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_non_negative"),
        CheckConstraint("pricing IN ('per_unit', 'per_kg')", name="pricing_known"),
    )


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # SHA-256 of the customer's secret pairing token (host.accounts): the phone proves who it
    # pairs for with the token; the id alone is no secret. NULL: no token issued yet.
    pairing_token_sha256: Mapped[str | None] = mapped_column(
        String(64), nullable=True, unique=True, index=True
    )


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id"), unique=True, nullable=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Unique when set: a retried top-up / charge / refund with the same key posts once.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    memo: Mapped[str] = mapped_column(String(200), default="")
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    debit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))

    __table_args__ = (
        # Exactly one side, and it is positive: no signed amounts, no empty entries.
        CheckConstraint(
            "(debit_minor > 0 AND credit_minor = 0) OR (debit_minor = 0 AND credit_minor > 0)",
            name="one_positive_side",
        ),
    )


class Cart(Base):
    __tablename__ = "carts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    current_session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    firmware: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (CheckConstraint("applied_seq >= 0", name="applied_seq_non_negative"),)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.ACTIVE.value)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_seq: Mapped[int] = mapped_column(BigInteger)  # cart's applied_seq at start
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Projections of the applied events, moved in the same transaction as they are.
    open_unresolved: Mapped[int] = mapped_column(Integer, default=0)
    # A resolution answered an unresolved event the host never saw (it was skipped by a
    # snapshot reconcile): the basket is unknown until the cart's next snapshot.
    basket_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    reconciled_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'unresolved', 'checked_out', 'abandoned')", name="status_known"
        ),
        CheckConstraint("open_unresolved >= 0", name="open_unresolved_non_negative"),
    )


class AppliedEvent(Base):
    __tablename__ = "applied_events"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str | None] = mapped_column(String(80), nullable=True)
    grams: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str | None] = mapped_column(String(8), nullable=True)
    resolves: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # False when the event was valid but had no effect (its session was already closed).
    effective: Mapped[bool] = mapped_column(Boolean, default=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("cart_id", "seq", name="uq_applied_events_cart_seq"),)


class PendingEvent(Base):
    """An event that arrived ahead of a gap in its cart's seq; applied when the gap closes."""

    __tablename__ = "pending_events"

    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BasketLine(Base):
    __tablename__ = "basket_lines"

    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    grams: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_non_negative"),)


class CheckoutAttempt(Base):
    __tablename__ = "checkout_attempts"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    cart_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # charged | refused
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tries: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("outcome IN ('charged', 'refused')", name="outcome_known"),
        # At most one charged attempt per session, whatever request ids arrive.
        Index(
            "uq_checkout_attempts_one_charge",
            "session_id",
            unique=True,
            sqlite_where=text("outcome = 'charged'"),
            postgresql_where=text("outcome = 'charged'"),
        ),
    )


class Receipt(Base):
    __tablename__ = "receipts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    cart_id: Mapped[str] = mapped_column(String(64))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    balance_after_minor: Mapped[int] = mapped_column(BigInteger)
    # Null for an empty basket: nothing to post.
    transaction_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), nullable=True
    )
    charged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("receipts.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    pricing: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    grams: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("receipt_id", "line_no", name="uq_receipt_lines_no"),)


class ReceiptAdjustment(Base):
    """A staff refund or correction of one receipt line; the money moves in ``transaction_id``.

    ``amount_minor`` > 0 is money back to the customer, < 0 an extra charge (a correction
    upwards). The line's effective amount is its original amount minus these.
    """

    __tablename__ = "receipt_adjustments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_line_id: Mapped[int] = mapped_column(ForeignKey("receipt_lines.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # refund | correction
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)  # corrected to
    grams: Mapped[int | None] = mapped_column(Integer, nullable=True)  # corrected to
    reason: Mapped[str] = mapped_column(String(200))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
