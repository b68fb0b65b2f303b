"""Builders for security tests: one cart's messages, signed by whatever key is given."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from host.db.models import AppliedEvent, BasketLine, Cart, DeadLetter, LedgerEntry, Receipt
from host.worker import HostWorker
from smartcart.contract import encode, topics
from smartcart.contract import messages as m
from smartcart.contract.signing import Signer

_CHANNEL = {
    "cart_event": topics.Channel.EVENTS,
    "basket_snapshot": topics.Channel.BASKET,
    "cart_status": topics.Channel.STATUS,
    "checkout_request": topics.Channel.CHECKOUT,
}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CartMessages:
    """Builds a cart's messages with growing seqs; signs them when it has a key."""

    cart_id: str
    session_id: str
    signer: Signer | None
    seq: int = 0
    sent: list[m.CartEvent] = field(default_factory=list)

    def _sign(self, msg: Any) -> Any:
        return msg if self.signer is None else self.signer.sign(msg)

    def add(self, sku: str, grams: int | None = None, *, seq: int | None = None) -> m.CartEvent:
        self.seq = seq if seq is not None else self.seq + 1
        ev = self._sign(
            m.CartEvent(
                event_id=str(uuid.uuid4()),
                cart_id=self.cart_id,
                session_id=self.session_id,
                seq=self.seq,
                occurred_at=now(),
                type="add",
                sku=sku,
                grams=grams,
            )
        )
        self.sent.append(ev)
        return ev

    def checkout(self) -> m.CheckoutRequest:
        return self._sign(
            m.CheckoutRequest(
                request_id=str(uuid.uuid4()),
                cart_id=self.cart_id,
                session_id=self.session_id,
                last_seq=self.seq,
                requested_at=now(),
            )
        )

    def snapshot(self, lines: list[tuple[str, int]], seq: int) -> m.BasketSnapshot:
        return self._sign(
            m.BasketSnapshot(
                cart_id=self.cart_id,
                session_id=self.session_id,
                seq=seq,
                taken_at=now(),
                lines=tuple(m.BasketLine(sku=s, quantity=q) for s, q in lines),
            )
        )


def wire(msg: Any, topic_cart: str | None = None) -> tuple[str, bytes]:
    """(topic, payload) as the broker delivers it; ``topic_cart`` to post on another's topic."""
    return topics.topic(topic_cart or msg.cart_id, _CHANNEL[msg.kind]), encode(msg)


@dataclass(frozen=True)
class HostState:
    """Everything a rejected message must leave untouched, for before/after comparisons."""

    applied: int
    applied_seqs: dict[str, int]
    lines: tuple[tuple[str, str, int], ...]
    receipts: int
    ledger_entries: int


def state(host: HostWorker) -> HostState:
    with host.transaction() as s:
        return HostState(
            applied=s.scalar(select(func.count()).select_from(AppliedEvent)) or 0,
            applied_seqs={c.id: c.applied_seq for c in s.scalars(select(Cart))},
            lines=tuple(
                (r.session_id, r.sku, r.quantity)
                for r in s.scalars(
                    select(BasketLine).order_by(BasketLine.session_id, BasketLine.sku)
                )
            ),
            receipts=s.scalar(select(func.count()).select_from(Receipt)) or 0,
            ledger_entries=s.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
        )


def dead_letters(host: HostWorker) -> list[tuple[str, str]]:
    with host.transaction() as s:
        return [(d.reason, d.topic) for d in s.scalars(select(DeadLetter).order_by(DeadLetter.id))]
