"""Customers, their wallets and shopping sessions: the staff-side writes and reads.

All functions take the caller's ORM session and do not commit; ``HostWorker`` and the API own
the transactions. Starting a session on a cart that still has an open one abandons the old one
(a cart serves one shopper at a time); the cart's ``applied_seq`` carries over, because a cart's
seq only grows across sessions.

A customer's phone pairs with a cart by showing the customer's secret pairing token, never the
customer id (ids are not secrets). The token is random, handed out once when it is issued, and
only its SHA-256 is stored: a copy of the database pairs nobody.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from host import ledger, pricing
from host.db.models import (
    OPEN_STATUSES,
    BasketLine,
    Cart,
    Customer,
    Product,
    SessionStatus,
    utcnow,
)
from host.db.models import Session as ShoppingSession
from host.errors import Conflict, LedgerError, NotFound
from smartcart.catalog import Catalog


@dataclass(frozen=True, slots=True)
class StartedSession:
    session_id: str
    cart_id: str
    customer_name: str
    started_at: datetime
    acked_seq: int


def sync_catalog(s: Session, catalog: Catalog) -> int:
    """Upsert the catalog into ``products`` (prices change between releases); return the count."""
    existing = {row.sku: row for row in s.scalars(select(Product))}
    for p in catalog.values():
        row = existing.get(p.sku)
        if row is None:
            row = Product(sku=p.sku)
            s.add(row)
        row.name = p.name
        row.department = p.department
        row.pricing = p.pricing.value
        row.price_minor = p.price_minor
        row.currency = p.currency
        row.unit_weight_g = p.unit_weight_g
    return len(catalog)


def ensure_carts(s: Session, cart_ids: Sequence[str]) -> None:
    """Create the rows of carts the host has not seen, in one statement.

    Insert-or-ignore: two workers (or a worker and the API) meeting a new cart at once must
    not fail each other on the primary key.
    """
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        insert(Cart)
        .values([{"id": c, "applied_seq": 0, "online": False} for c in cart_ids])
        .on_conflict_do_nothing(index_elements=["id"])
    )


def ensure_cart(s: Session, cart_id: str) -> Cart:
    """The cart's row, created if new, locked for this transaction."""
    ensure_carts(s, [cart_id])
    cart = s.get(Cart, cart_id, with_for_update=True, populate_existing=True)
    assert cart is not None  # inserted or already there
    return cart


def create_customer(s: Session, name: str, top_up_minor: int, currency: str) -> str:
    if not name.strip():
        raise Conflict("a customer needs a name")
    if top_up_minor < 0:
        raise LedgerError(f"an opening top-up cannot be negative, got {top_up_minor}")
    customer_id = str(uuid.uuid4())
    s.add(Customer(id=customer_id, name=name.strip()))
    s.flush()
    ledger.open_customer_account(s, customer_id, currency)
    s.flush()
    if top_up_minor > 0:
        ledger.top_up(s, customer_id, top_up_minor, currency)
    return customer_id


def _token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_pairing_token(s: Session, customer_id: str) -> str:
    """A new pairing token for the customer, replacing any earlier one; return it (only once)."""
    row = customer(s, customer_id)
    token = secrets.token_urlsafe(24)  # 192 bits: unguessable, so an unsalted hash is enough
    row.pairing_token_sha256 = _token_sha256(token)
    s.flush()
    return token


def customer_by_pairing_token(s: Session, token: str) -> Customer | None:
    """The customer whose pairing token this is, or None.

    A lookup by the token's hash: the database compares digests, so timing reveals nothing
    about the token itself.
    """
    return s.scalar(select(Customer).where(Customer.pairing_token_sha256 == _token_sha256(token)))


def customer(s: Session, customer_id: str) -> Customer:
    row = s.get(Customer, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    return row


def balance_minor(s: Session, customer_id: str) -> int:
    customer(s, customer_id)
    return ledger.balance_minor(s, ledger.customer_account_id(customer_id))


def top_up(
    s: Session, customer_id: str, amount_minor: int, currency: str, idempotency_key: str | None
) -> int:
    """Credit the wallet; return the new balance."""
    customer(s, customer_id)
    ledger.top_up(s, customer_id, amount_minor, currency, idempotency_key=idempotency_key)
    return balance_minor(s, customer_id)


def start_session(s: Session, cart_id: str, customer_id: str) -> StartedSession:
    shopper = customer(s, customer_id)
    cart = ensure_cart(s, cart_id)
    now = utcnow()
    for old in s.scalars(
        select(ShoppingSession).where(
            ShoppingSession.cart_id == cart_id, ShoppingSession.status.in_(OPEN_STATUSES)
        )
    ):
        old.status = SessionStatus.ABANDONED.value
        old.closed_at = now
    session_id = str(uuid.uuid4())
    s.add(
        ShoppingSession(
            id=session_id,
            cart_id=cart_id,
            customer_id=customer_id,
            status=SessionStatus.ACTIVE.value,
            started_at=now,
            started_seq=cart.applied_seq,
            open_unresolved=0,
            basket_stale=False,
        )
    )
    cart.current_session_id = session_id
    s.flush()
    return StartedSession(session_id, cart_id, shopper.name, now, cart.applied_seq)


def shopping_session(s: Session, session_id: str) -> ShoppingSession:
    row = s.get(ShoppingSession, session_id)
    if row is None:
        raise NotFound(f"no session {session_id}")
    return row


def basket(s: Session, catalog: Catalog, session_id: str) -> list[pricing.PricedLine]:
    """The live basket of a session, priced at today's catalog prices."""
    shopping_session(s, session_id)
    rows = s.scalars(
        select(BasketLine)
        .where(BasketLine.session_id == session_id, BasketLine.quantity > 0)
        .order_by(BasketLine.sku)
    )
    return [pricing.price(catalog, pricing.LineState(r.sku, r.quantity, r.grams)) for r in rows]
