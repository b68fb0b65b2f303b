"""Checkout, receipts, and staff refunds/corrections.

``checkout`` decides one ``CheckoutRequest`` inside the caller's transaction and returns the
message for the cart (``Receipt`` or ``CheckoutRefused``):

1. A ``request_id`` already charged gets its receipt again (the idempotency key). A session
   already charged under another request id also gets its receipt: one charge per session,
   backed by unique ``receipts.session_id`` and a partial unique index on charged attempts.
2. It refuses while the host may not know the whole basket (``missing_events``: a seq gap, a
   basket waiting for a snapshot, or the cart's ``last_seq`` not yet applied) or while an
   unresolved item waits for the shopper (``unresolved_items``).
3. It authorises and captures the total through the payment gateway; a decline
   (``insufficient_funds``) writes no money and says so.
4. It stores the receipt (lines, grams, unit prices, total, balance after) and closes the session.

Refunds and corrections never edit a receipt: each is a ``receipt_adjustments`` row plus a new
balanced ledger transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from host import ledger, pricing
from host.db.models import (
    BasketLine,
    Cart,
    CheckoutAttempt,
    PendingEvent,
    Receipt,
    ReceiptAdjustment,
    ReceiptLine,
    SessionStatus,
    TxKind,
    utcnow,
)
from host.db.models import Session as ShoppingSession
from host.errors import Conflict, Declined, LedgerError, NotFound
from host.payments import Capture, PaymentGateway
from smartcart.catalog import Catalog, Pricing
from smartcart.contract import messages as m

GatewayFactory = Callable[[Session], PaymentGateway]

_ADVICE = {
    "missing_events": "The host is missing some of this cart's events; they are being resent. "
    "Try again in a moment.",
    "unresolved_items": "An item in the basket is not identified yet: answer the question on "
    "the cart's screen, then check out again.",
    "no_session": "This cart has no shopping session at the host: ask staff to start one.",
    "already_closed": "This shopping session is closed: ask staff to start a new one.",
}


def checkout(
    s: Session,
    req: m.CheckoutRequest,
    catalog: Catalog,
    currency: str,
    gateway_for: GatewayFactory,
) -> m.Receipt | m.CheckoutRefused:
    # The cart row first, as the event path takes it (host.stream prefetch, which has already
    # locked it for a batch): locking it after reading the session let two workers deadlock,
    # and everything read below now follows a sibling worker's commit on this cart.
    cart = s.get(Cart, req.cart_id, with_for_update=True)
    attempt = s.get(CheckoutAttempt, req.request_id)
    if attempt is not None and attempt.outcome == "charged":
        return receipt_message(s, _receipt_by_session(s, attempt.session_id))
    session = s.get(ShoppingSession, req.session_id)
    if cart is None or session is None or session.cart_id != req.cart_id:
        return _refused(req, "no_session", _ADVICE["no_session"])
    if session.status == SessionStatus.CHECKED_OUT.value:
        return receipt_message(s, _receipt_by_session(s, session.id))
    if session.status == SessionStatus.ABANDONED.value:
        return _record_refusal(s, req, attempt, "already_closed", _ADVICE["already_closed"])

    if _has_pending(s, cart.id) or session.basket_stale or req.last_seq > cart.applied_seq:
        detail = (
            f"applied up to seq {cart.applied_seq}, the cart sent up to {req.last_seq}. "
            + _ADVICE["missing_events"]
        )
        return _record_refusal(s, req, attempt, "missing_events", detail)
    if session.open_unresolved > 0:
        return _record_refusal(s, req, attempt, "unresolved_items", _ADVICE["unresolved_items"])

    lines = [
        pricing.price(catalog, pricing.LineState(r.sku, r.quantity, r.grams))
        for r in s.scalars(
            select(BasketLine)
            .where(BasketLine.session_id == session.id, BasketLine.quantity > 0)
            .order_by(BasketLine.sku)
        )
    ]
    total = sum(line.amount_minor for line in lines)
    tx_id: str | None = None
    if total > 0:
        gateway = gateway_for(s)
        try:
            auth = gateway.authorise(session.customer_id, total, currency, req.request_id)
        except Declined as d:
            return _record_refusal(s, req, attempt, "insufficient_funds", d.message)
        tx_id = gateway.capture(auth, session_id=session.id, memo=f"cart {cart.id}").transaction_id

    now = utcnow()
    receipt = Receipt(
        id=str(uuid.uuid4()),
        session_id=session.id,
        request_id=req.request_id,
        customer_id=session.customer_id,
        cart_id=cart.id,
        total_minor=total,
        currency=currency,
        balance_after_minor=ledger.balance_minor(
            s, ledger.customer_account_id(session.customer_id)
        ),
        transaction_id=tx_id,
        charged_at=now,
    )
    s.add(receipt)
    s.flush()
    s.add_all(
        ReceiptLine(
            receipt_id=receipt.id,
            line_no=i,
            sku=line.sku,
            name=line.name,
            pricing=line.pricing.value,
            quantity=line.quantity,
            grams=line.grams,
            unit_price_minor=line.unit_price_minor,
            amount_minor=line.amount_minor,
        )
        for i, line in enumerate(lines, start=1)
    )
    session.status = SessionStatus.CHECKED_OUT.value
    session.closed_at = now
    if cart.current_session_id == session.id:
        cart.current_session_id = None
    _upsert_attempt(s, req, attempt, "charged", None)
    s.flush()
    return receipt_message(s, receipt)


def _has_pending(s: Session, cart_id: str) -> bool:
    return (
        s.scalar(select(PendingEvent.seq).where(PendingEvent.cart_id == cart_id).limit(1))
        is not None
    )


def _refused(req: m.CheckoutRequest, reason: m.RefusalReason, message: str) -> m.CheckoutRefused:
    return m.CheckoutRefused(
        cart_id=req.cart_id,
        session_id=req.session_id,
        request_id=req.request_id,
        reason=reason,
        message=message[:500],
    )


def _record_refusal(
    s: Session,
    req: m.CheckoutRequest,
    attempt: CheckoutAttempt | None,
    reason: m.RefusalReason,
    message: str,
) -> m.CheckoutRefused:
    _upsert_attempt(s, req, attempt, "refused", reason)
    return _refused(req, reason, message)


def _upsert_attempt(
    s: Session,
    req: m.CheckoutRequest,
    attempt: CheckoutAttempt | None,
    outcome: str,
    reason: str | None,
) -> None:
    # A refused request may be retried with the same request_id once the cause is gone; the
    # row keeps the latest outcome and how often it was asked.
    now = utcnow()
    if attempt is None:
        s.add(
            CheckoutAttempt(
                request_id=req.request_id,
                session_id=req.session_id,
                cart_id=req.cart_id,
                outcome=outcome,
                reason=reason,
                tries=1,
                first_at=now,
                last_at=now,
            )
        )
    else:
        attempt.outcome = outcome
        attempt.reason = reason
        attempt.tries += 1
        attempt.last_at = now
    s.flush()


def _receipt_by_session(s: Session, session_id: str) -> Receipt:
    receipt = s.scalar(select(Receipt).where(Receipt.session_id == session_id))
    if receipt is None:
        raise NotFound(f"no receipt for session {session_id}")
    return receipt


def receipt_for_session(s: Session, session_id: str) -> Receipt | None:
    return s.scalar(select(Receipt).where(Receipt.session_id == session_id))


def receipt_lines(s: Session, receipt_id: str) -> list[ReceiptLine]:
    return list(
        s.scalars(
            select(ReceiptLine)
            .where(ReceiptLine.receipt_id == receipt_id)
            .order_by(ReceiptLine.line_no)
        )
    )


def receipt_message(s: Session, receipt: Receipt) -> m.Receipt:
    """The contract form of a stored receipt (what the cart gets, and the demo prints)."""
    return m.Receipt(
        cart_id=receipt.cart_id,
        session_id=receipt.session_id,
        request_id=receipt.request_id,
        receipt_id=receipt.id,
        lines=tuple(
            m.ReceiptLine(
                sku=r.sku,
                name=r.name,
                pricing=r.pricing,
                quantity=r.quantity,
                grams=r.grams,
                unit_price_minor=r.unit_price_minor,
                amount_minor=r.amount_minor,
            )
            for r in receipt_lines(s, receipt.id)
        ),
        total_minor=receipt.total_minor,
        currency=receipt.currency,
        balance_minor=receipt.balance_after_minor,
        charged_at=receipt.charged_at,
    )


# ---- staff: refunds and corrections ----


@dataclass(frozen=True, slots=True)
class Adjustment:
    adjustment_id: int
    receipt_id: str
    line_no: int
    kind: str
    amount_minor: int  # > 0 back to the customer, < 0 charged extra
    transaction_id: str
    balance_minor: int
    created_at: datetime


def _line(s: Session, receipt_id: str, line_no: int) -> tuple[Receipt, ReceiptLine]:
    receipt = s.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound(f"no receipt {receipt_id}")
    line = s.scalar(
        select(ReceiptLine).where(
            ReceiptLine.receipt_id == receipt_id, ReceiptLine.line_no == line_no
        )
    )
    if line is None:
        raise NotFound(f"receipt {receipt_id} has no line {line_no}")
    return receipt, line


def effective_amount_minor(s: Session, line: ReceiptLine) -> int:
    """What the customer still pays for a line after earlier refunds and corrections."""
    adjusted = s.scalar(
        select(func.coalesce(func.sum(ReceiptAdjustment.amount_minor), 0)).where(
            ReceiptAdjustment.receipt_line_id == line.id
        )
    )
    return line.amount_minor - int(adjusted or 0)


def refund_line(
    s: Session,
    receipt_id: str,
    line_no: int,
    amount_minor: int | None,
    reason: str,
    gateway_for: GatewayFactory,
) -> Adjustment:
    """Give back ``amount_minor`` of a line (all that is left of it when None)."""
    receipt, line = _line(s, receipt_id, line_no)
    remaining = effective_amount_minor(s, line)
    amount = remaining if amount_minor is None else amount_minor
    if amount <= 0:
        raise Conflict(f"nothing to refund on line {line_no} (left: {remaining})")
    if amount > remaining:
        raise Conflict(f"refund {amount} exceeds what is left on line {line_no}: {remaining}")
    return _adjust(s, receipt, line, "refund", amount, None, None, reason, gateway_for)


def correct_line(
    s: Session,
    receipt_id: str,
    line_no: int,
    quantity: int,
    grams: int | None,
    reason: str,
    gateway_for: GatewayFactory,
) -> Adjustment:
    """Re-price a line at its receipt's unit price for the right quantity / grams; the
    difference is refunded (or, upwards, charged) as a new ledger transaction."""
    receipt, line = _line(s, receipt_id, line_no)
    if quantity < 0:
        raise Conflict("quantity cannot be negative")
    if line.pricing == Pricing.PER_KG.value:
        if grams is None or grams < 0:
            raise Conflict("a per-kg line is corrected with its weighed grams")
        correct = (line.unit_price_minor * grams + 500) // 1000
    else:
        correct = line.unit_price_minor * quantity
    delta = effective_amount_minor(s, line) - correct
    if delta == 0:
        raise Conflict(f"line {line_no} already costs {correct}: nothing to correct")
    return _adjust(s, receipt, line, "correction", delta, quantity, grams, reason, gateway_for)


def _adjust(
    s: Session,
    receipt: Receipt,
    line: ReceiptLine,
    kind: str,
    amount_minor: int,
    quantity: int | None,
    grams: int | None,
    reason: str,
    gateway_for: GatewayFactory,
) -> Adjustment:
    gateway = gateway_for(s)
    key = str(uuid.uuid4())
    tx_kind = TxKind.REFUND if kind == "refund" else TxKind.CORRECTION
    memo = f"{kind} receipt {receipt.id} line {line.line_no}: {reason}"
    if amount_minor > 0:
        capture = Capture(
            receipt.transaction_id or "", receipt.customer_id, amount_minor, receipt.currency
        )
        tx_id = gateway.refund(capture, amount_minor, key, kind=tx_kind, memo=memo)
    else:
        try:
            auth = gateway.authorise(receipt.customer_id, -amount_minor, receipt.currency, key)
        except Declined as d:
            raise Conflict(f"the extra charge was declined: {d.message}") from d
        tx_id = gateway.capture(auth, session_id=receipt.session_id, memo=memo).transaction_id
    if not tx_id:
        raise LedgerError("the gateway returned no transaction")
    row = ReceiptAdjustment(
        receipt_line_id=line.id,
        kind=kind,
        amount_minor=amount_minor,
        quantity=quantity,
        grams=grams,
        reason=reason[:200],
        transaction_id=tx_id,
        created_at=utcnow(),
    )
    s.add(row)
    s.flush()
    return Adjustment(
        adjustment_id=row.id,
        receipt_id=receipt.id,
        line_no=line.line_no,
        kind=kind,
        amount_minor=amount_minor,
        transaction_id=tx_id,
        balance_minor=ledger.balance_minor(s, ledger.customer_account_id(receipt.customer_id)),
        created_at=row.created_at,
    )
