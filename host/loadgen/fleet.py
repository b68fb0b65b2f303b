"""Simulated carts, the staff desk and the audit: the pieces fault tests and the load run share.

``SimCart`` is the real cart link (``Outbox`` with the cart's own signing key + ``CartLink``),
driven by a script instead of a camera. It keeps its own log of every event it minted (seq,
event id, when it was submitted) and when the host's ``Ack`` for it arrived: the log is what
"nothing lost, nothing duplicated" is checked against, never the host's own counters.

``Staff`` opens shopping sessions the way the store's desk does: a row in the host database and
a ``SessionStarted`` on the cart's host topic.

``audit`` compares every cart's log with the host's ``applied_events``: an event the cart minted
that the host never applied is *lost*, unless the host replaced that session's basket from the
cart's signed ``BasketSnapshot`` at or past its seq (``sessions.reconciled_seq``): then it is
*reconciled* (its effect is in the basket, the per-event row is not). An event id or (cart, seq)
applied twice, or an applied event no cart minted, is *duplicated* / *foreign*.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from firmware.basket.changes import BasketChange
from firmware.link.mqtt import CartLink, HostMessage, LinkConfig
from firmware.link.outbox import Outbox
from host import accounts, db
from host.db.models import AppliedEvent, LedgerTransaction, Receipt, TxKind
from host.db.models import Session as ShoppingSession
from smartcart.contract import encode
from smartcart.contract import messages as m
from smartcart.contract.signing import Keyring, Signer
from smartcart.contract.topics import Channel, topic

# Per-unit products (no grams needed) with their prices in öre, for scripted trips.
SKUS = ("kiwi", "lemon", "lime", "avocado", "mango", "pineapple", "papaya", "pomegranate")


@dataclass(frozen=True, slots=True)
class Sent:
    seq: int
    event_id: str
    session_id: str
    submitted_s: float  # time.monotonic() when the event was durable in the outbox


@dataclass
class SimCart:
    """``cart = SimCart(...).start(); cart.add("kiwi"); cart.checkout()``."""

    cart_id: str
    broker_url: str
    workdir: Path
    signer: Signer | None
    resend_after_s: float = 10.0
    keepalive_s: int = 15
    log: list[Sent] = field(default_factory=list)
    acked_s: dict[int, float] = field(default_factory=dict)  # seq -> when its ack arrived
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _link: CartLink | None = None
    _outbox: Outbox | None = None
    _t0: datetime = field(default_factory=lambda: datetime.now(UTC))

    def start(self) -> SimCart:
        self._outbox = Outbox(self.workdir / f"{self.cart_id}.sqlite", self.cart_id, self.signer)
        config = LinkConfig(
            cart_id=self.cart_id,
            broker_url=self.broker_url,
            keepalive_s=self.keepalive_s,
            reconnect_min_s=1,
            reconnect_max_s=2,
            resend_after_s=self.resend_after_s,
            checkout_retry_s=0.5,
        )
        self._link = CartLink(config, self._outbox, on_message=self._on_host).start()
        return self

    @property
    def link(self) -> CartLink:
        assert self._link is not None, "start() first"
        return self._link

    def stop(self) -> None:
        if self._link is not None:
            self._link.stop()
            self._link = None
        if self._outbox is not None:
            self._outbox.close()
            self._outbox = None

    def _on_host(self, msg: HostMessage) -> None:
        if not isinstance(msg, m.Ack | m.SessionStarted):
            return
        now = time.monotonic()
        with self._lock:
            for sent in reversed(self.log):
                if sent.seq > msg.acked_seq:
                    continue
                if sent.seq in self.acked_s:
                    break  # everything below was acknowledged earlier
                self.acked_s[sent.seq] = now

    def add(self, sku: str, shopping_t_s: float | None = None) -> m.CartEvent:
        """One item into the basket; ``shopping_t_s`` stamps it that far into the trip."""
        t_s = shopping_t_s if shopping_t_s is not None else len(self.log) * 30.0
        change = BasketChange("add", self._t0 + timedelta(seconds=t_s), t_s, sku=sku)
        event = self.link.submit(change)
        with self._lock:
            self.log.append(Sent(event.seq, event.event_id, event.session_id, time.monotonic()))
        return event

    def checkout(self, timeout_s: float = 30.0) -> m.Receipt | m.CheckoutRefused:
        return self.link.checkout(timeout_s)

    def latencies_s(self) -> list[float]:
        """Submit -> acknowledged (applied and committed by the host), per acked event."""
        with self._lock:
            return [self.acked_s[s.seq] - s.submitted_s for s in self.log if s.seq in self.acked_s]


def make_keys(cart_ids: Iterable[str], keyring_path: Path) -> dict[str, Signer]:
    """A fresh key per cart, all enrolled in the keyring file the host reads."""
    signers = {c: Signer.generate(c) for c in cart_ids}
    ring = Keyring.load(keyring_path)
    for c, s in signers.items():
        ring.enrol(c, s.public)
    ring.save(keyring_path)
    return signers


class Staff:
    """The store's desk: customers, top-ups and sessions, straight to the host database, and
    ``SessionStarted`` to the cart through the broker (as the host account would)."""

    def __init__(self, database_url: str, broker_url: str, currency: str = "SEK") -> None:
        self.engine = db.make_engine(database_url)
        self._sessions = db.session_factory(self.engine)
        self.currency = currency
        parts = urlsplit(broker_url)
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"staff-{uuid.uuid4().hex[:8]}"
        )
        if parts.username:
            self._client.username_pw_set(parts.username, parts.password)
        self._client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
        self._client.loop_start()

    def open_session(self, cart_id: str, balance_minor: int = 100_000) -> tuple[str, str]:
        """(customer id, session id) of a new session on ``cart_id``, announced to the cart."""
        with self._sessions.begin() as s:
            customer_id = accounts.create_customer(
                s, f"shopper of {cart_id}", balance_minor, self.currency
            )
            started = accounts.start_session(s, cart_id, customer_id)
        msg = m.SessionStarted(
            cart_id=cart_id,
            session_id=started.session_id,
            started_at=started.started_at,
            customer_name=started.customer_name,
            acked_seq=started.acked_seq,
        )
        info = self._client.publish(topic(cart_id, Channel.HOST), encode(msg), qos=1)
        info.wait_for_publish(10)
        return customer_id, started.session_id

    def balance_minor(self, customer_id: str) -> int:
        with self._sessions.begin() as s:
            return accounts.balance_minor(s, customer_id)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self.engine.dispose()


@dataclass(frozen=True, slots=True)
class Audit:
    minted: int  # events in the carts' own logs
    applied: int  # rows in applied_events for those carts
    reconciled: int  # minted, not applied one by one, covered by a basket snapshot
    lost: int  # minted, neither applied nor covered by a snapshot
    duplicated: int  # applied more than once (by event id or by cart+seq)
    foreign: int  # applied, but no cart's log has it
    receipts: int
    charges: int  # ledger transactions of kind "charge"

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.foreign == 0


def audit(engine: Engine, carts: Iterable[SimCart]) -> Audit:
    carts = list(carts)
    minted = {(c.cart_id, s.seq): s.event_id for c in carts for s in c.log}
    ids = [c.cart_id for c in carts]
    with engine.connect() as conn:
        rows = conn.execute(
            select(AppliedEvent.cart_id, AppliedEvent.seq, AppliedEvent.event_id).where(
                AppliedEvent.cart_id.in_(ids)
            )
        ).all()
        reconciled_to = dict(
            conn.execute(
                select(ShoppingSession.id, ShoppingSession.reconciled_seq).where(
                    ShoppingSession.cart_id.in_(ids), ShoppingSession.reconciled_seq.is_not(None)
                )
            ).all()
        )
        receipts = conn.scalar(
            select(func.count()).select_from(Receipt).where(Receipt.cart_id.in_(ids))
        )
        charges = conn.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .join(ShoppingSession, ShoppingSession.id == LedgerTransaction.session_id)
            .where(LedgerTransaction.kind == TxKind.CHARGE.value, ShoppingSession.cart_id.in_(ids))
        )
    by_key: dict[tuple[str, int], list[str]] = {}
    by_id: dict[str, int] = {}
    for cart_id, seq, event_id in rows:
        by_key.setdefault((cart_id, seq), []).append(event_id)
        by_id[event_id] = by_id.get(event_id, 0) + 1
    sessions = {(c.cart_id, s.seq): s.session_id for c in carts for s in c.log}
    missing = [k for k, eid in minted.items() if eid not in by_key.get(k, [])]
    reconciled = sum(1 for k in missing if k[1] <= (reconciled_to.get(sessions[k]) or 0))
    lost = len(missing) - reconciled
    duplicated = sum(len(v) - 1 for v in by_key.values()) + sum(n - 1 for n in by_id.values())
    foreign = sum(1 for k, v in by_key.items() if minted.get(k) not in v)
    return Audit(
        len(minted), len(rows), reconciled, lost, duplicated, foreign, receipts or 0, charges or 0
    )


def trip(rng: random.Random, items: int) -> list[str]:
    """A shopping list of per-unit products."""
    return [rng.choice(SKUS) for _ in range(items)]
