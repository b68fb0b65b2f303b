"""Builders for host tests: one cart's contract messages, their wire form, reply filters."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from host.settings import HostSettings, staff_token_sha256
from smartcart.contract import encode, topics
from smartcart.contract import messages as m

CART = "cart-0001"
# The staff bearer token test hosts accept (their settings list its SHA-256).
STAFF_TOKEN = "test-staff-token-5b0f6c1e"
STAFF_SHA256 = (staff_token_sha256(STAFF_TOKEN),)
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CartScript:
    """Builds one cart's contract messages with growing seqs (the one builder per type)."""

    session_id: str
    cart_id: str = CART
    seq: int = 0
    sent: list[m.CartEvent] = field(default_factory=list)

    def event(self, type_: str, **kw: Any) -> m.CartEvent:
        self.seq += 1
        ev = m.CartEvent(
            event_id=str(uuid.uuid4()),
            cart_id=self.cart_id,
            session_id=self.session_id,
            seq=self.seq,
            occurred_at=now(),
            type=type_,  # type: ignore[arg-type]
            **kw,
        )
        self.sent.append(ev)
        return ev

    def add(self, sku: str, grams: int | None = None) -> m.CartEvent:
        return self.event("add", sku=sku, grams=grams)

    def remove(self, sku: str, grams: int | None = None) -> m.CartEvent:
        return self.event("remove", sku=sku, grams=grams)

    def checkout(self, request_id: str | None = None) -> m.CheckoutRequest:
        return m.CheckoutRequest(
            request_id=request_id or str(uuid.uuid4()),
            cart_id=self.cart_id,
            session_id=self.session_id,
            last_seq=self.seq,
            requested_at=now(),
        )

    def snapshot(
        self, lines: list[tuple[str, int, int | None]], unresolved: int = 0
    ) -> m.BasketSnapshot:
        return m.BasketSnapshot(
            cart_id=self.cart_id,
            session_id=self.session_id,
            seq=self.seq,
            taken_at=now(),
            lines=tuple(m.BasketLine(sku=s, quantity=q, grams=g) for s, q, g in lines),
            unresolved=unresolved,
        )


def wire(msg: Any) -> tuple[str, bytes]:
    """(topic, payload) of a cart->host message, as it arrives from the broker."""
    channel = {
        "cart_event": topics.Channel.EVENTS,
        "basket_snapshot": topics.Channel.BASKET,
        "cart_status": topics.Channel.STATUS,
        "checkout_request": topics.Channel.CHECKOUT,
    }[msg.kind]
    return topics.topic(msg.cart_id, channel), encode(msg)


def replies(out: list[Any], type_: str) -> list[Any]:
    return [o.message for o in out if o.message.type == type_]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(db_url: str, broker_url: str, **kw: Any) -> HostSettings:
    """Settings for a test worker on a broker other test runs may share: its own client id and
    share group, and a session that ends with the test (nothing left queued on the broker)."""
    token = uuid.uuid4().hex[:8]
    return HostSettings(
        database_url=db_url,
        broker_url=broker_url,
        worker_id=f"test-host-{token}",
        share_group=f"test-{token}",
        mqtt_session_expiry_s=0,
        **kw,
    )
