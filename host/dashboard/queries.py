"""Read models for the dashboard: what staff see, as frozen values built in one transaction.

Every function takes the caller's ORM session and only reads. ``fingerprint`` is a handful of
aggregates that move whenever anything on the dashboard would: the live stream re-renders only
when it changes, so an idle store costs one small query per tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host import accounts, checkout
from host.db.models import (
    AppliedEvent,
    Cart,
    CheckoutAttempt,
    Customer,
    Receipt,
    ReceiptAdjustment,
    SessionStatus,
)
from host.db.models import Session as ShoppingSession
from smartcart.catalog import Catalog

CartState = Literal["idle", "shopping", "unresolved", "checked out", "abandoned"]

_STATE: dict[str, CartState] = {
    SessionStatus.ACTIVE.value: "shopping",
    SessionStatus.UNRESOLVED.value: "unresolved",
    SessionStatus.CHECKED_OUT.value: "checked out",
    SessionStatus.ABANDONED.value: "abandoned",
}


@dataclass(frozen=True, slots=True)
class CartRow:
    cart_id: str
    online: bool
    state: CartState
    session_id: str | None  # the open session, else the cart's latest one
    customer_name: str | None
    item_count: int
    total_minor: int
    last_event_at: datetime | None
    firmware: str | None


@dataclass(frozen=True, slots=True)
class LineRow:
    sku: str
    name: str
    per_kg: bool
    quantity: int
    grams: int | None
    unit_price_minor: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class EventRow:
    at: datetime
    seq: int | None  # None for checkout attempts
    kind: str  # add, remove, unresolved, resolution, checkout
    text: str
    effective: bool


@dataclass(frozen=True, slots=True)
class AdjustmentRow:
    kind: str
    amount_minor: int
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReceiptLineRow:
    line_no: int
    line: LineRow
    effective_minor: int
    adjustments: tuple[AdjustmentRow, ...]


@dataclass(frozen=True, slots=True)
class ReceiptDetail:
    receipt_id: str
    charged_at: datetime
    total_minor: int
    refunded_minor: int  # net of all adjustments (> 0: back to the customer)
    balance_after_minor: int
    currency: str
    lines: tuple[ReceiptLineRow, ...]


@dataclass(frozen=True, slots=True)
class SessionDetail:
    session_id: str
    cart_id: str
    state: CartState
    customer_id: str
    customer_name: str
    balance_minor: int
    started_at: datetime
    closed_at: datetime | None
    open_unresolved: int
    lines: tuple[LineRow, ...]
    total_minor: int
    events: tuple[EventRow, ...]
    receipt: ReceiptDetail | None


def fingerprint(s: Session) -> tuple[object, ...]:
    """Aggregates that change whenever anything the dashboard shows changes."""
    queries = (
        select(func.count(), func.max(AppliedEvent.applied_at)),
        select(func.count(), func.max(Cart.status_at), func.sum(Cart.applied_seq)),
        select(func.count()).select_from(Cart).where(Cart.online.is_(True)),
        select(
            func.count(), func.max(ShoppingSession.closed_at), func.max(ShoppingSession.started_at)
        ),
        select(func.count(), func.max(CheckoutAttempt.last_at)),
        select(func.count(), func.max(ReceiptAdjustment.id)),
        select(func.count())
        .select_from(ShoppingSession)
        .where(ShoppingSession.status == SessionStatus.UNRESOLVED.value),
    )
    return tuple(tuple(s.execute(q).one()) for q in queries)


def carts(s: Session, catalog: Catalog) -> list[CartRow]:
    rows = []
    for cart in s.scalars(select(Cart).order_by(Cart.id)):
        session = _latest_session(s, cart)
        if session is None:
            rows.append(
                CartRow(cart.id, cart.online, "idle", None, None, 0, 0, None, cart.firmware)
            )
            continue
        lines = accounts.basket(s, catalog, session.id) if session.status != "checked_out" else []
        receipt = checkout.receipt_for_session(s, session.id)
        last_event = s.scalar(
            select(func.max(AppliedEvent.occurred_at)).where(AppliedEvent.session_id == session.id)
        )
        customer = s.get(Customer, session.customer_id)
        rows.append(
            CartRow(
                cart_id=cart.id,
                online=cart.online,
                state=_STATE.get(session.status, "idle"),
                session_id=session.id,
                customer_name=None if customer is None else customer.name,
                item_count=sum(ln.quantity for ln in lines),
                total_minor=(
                    receipt.total_minor if receipt else sum(ln.amount_minor for ln in lines)
                ),
                last_event_at=last_event,
                firmware=cart.firmware,
            )
        )
    return rows


def session_detail(s: Session, catalog: Catalog, session_id: str) -> SessionDetail:
    session = accounts.shopping_session(s, session_id)
    customer = accounts.customer(s, session.customer_id)
    lines = tuple(
        LineRow(
            ln.sku,
            ln.name,
            ln.pricing.value == "per_kg",
            ln.quantity,
            ln.grams,
            ln.unit_price_minor,
            ln.amount_minor,
        )
        for ln in accounts.basket(s, catalog, session_id)
    )
    receipt = checkout.receipt_for_session(s, session_id)
    return SessionDetail(
        session_id=session.id,
        cart_id=session.cart_id,
        state=_STATE.get(session.status, "idle"),
        customer_id=customer.id,
        customer_name=customer.name,
        balance_minor=accounts.balance_minor(s, customer.id),
        started_at=session.started_at,
        closed_at=session.closed_at,
        open_unresolved=session.open_unresolved,
        lines=lines,
        total_minor=sum(ln.amount_minor for ln in lines),
        events=_history(s, catalog, session_id),
        receipt=None if receipt is None else _receipt(s, receipt),
    )


def _latest_session(s: Session, cart: Cart) -> ShoppingSession | None:
    if cart.current_session_id is not None:
        current = s.get(ShoppingSession, cart.current_session_id)
        if current is not None:
            return current
    return s.scalar(
        select(ShoppingSession)
        .where(ShoppingSession.cart_id == cart.id)
        .order_by(ShoppingSession.started_at.desc())
        .limit(1)
    )


def _name(catalog: Catalog, sku: str | None) -> str:
    if sku is None:
        return "none of these"
    product = catalog.get(sku)
    return sku if product is None else product.name


def _history(s: Session, catalog: Catalog, session_id: str) -> tuple[EventRow, ...]:
    events = list(
        s.scalars(
            select(AppliedEvent)
            .where(AppliedEvent.session_id == session_id)
            .order_by(AppliedEvent.seq)
        )
    )
    rows = []
    for ev in events:
        grams = f" {ev.grams} g" if ev.grams else ""
        if ev.type in ("add", "remove"):
            text = f"{ev.type} {_name(catalog, ev.sku)}{grams}"
        elif ev.type == "unresolved":
            text = f"unsure what was {'added' if ev.action == 'add' else 'taken out'}{grams}"
        else:
            text = f"shopper answered: {_name(catalog, ev.sku)}"
        rows.append(EventRow(ev.occurred_at, ev.seq, ev.type, text, ev.effective))
    for attempt in s.scalars(
        select(CheckoutAttempt).where(CheckoutAttempt.session_id == session_id)
    ):
        text = "paid" if attempt.outcome == "charged" else f"checkout refused: {attempt.reason}"
        if attempt.tries > 1:
            text += f" ({attempt.tries} tries)"
        rows.append(EventRow(attempt.last_at, None, "checkout", text, True))
    rows.sort(key=lambda r: r.at)
    return tuple(rows)


def _receipt(s: Session, receipt: Receipt) -> ReceiptDetail:
    lines = []
    for r in checkout.receipt_lines(s, receipt.id):
        adjustments = tuple(
            AdjustmentRow(a.kind, a.amount_minor, a.reason, a.created_at)
            for a in s.scalars(
                select(ReceiptAdjustment)
                .where(ReceiptAdjustment.receipt_line_id == r.id)
                .order_by(ReceiptAdjustment.id)
            )
        )
        line = LineRow(
            r.sku,
            r.name,
            r.pricing == "per_kg",
            r.quantity,
            r.grams,
            r.unit_price_minor,
            r.amount_minor,
        )
        lines.append(
            ReceiptLineRow(r.line_no, line, checkout.effective_amount_minor(s, r), adjustments)
        )
    return ReceiptDetail(
        receipt_id=receipt.id,
        charged_at=receipt.charged_at,
        total_minor=receipt.total_minor,
        refunded_minor=sum(a.amount_minor for ln in lines for a in ln.adjustments),
        balance_after_minor=receipt.balance_after_minor,
        currency=receipt.currency,
        lines=tuple(lines),
    )
