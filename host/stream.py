"""Applying a batch of cart messages in one database transaction.

``Batch`` takes decoded contract messages in arrival order and turns them into rows in the
caller's ORM session; the caller commits, and only then publishes ``Batch.finish()``'s outgoing
messages (acks, receipts, refusals), so an ack never runs ahead of the commit.

Per cart, events apply strictly in ``seq`` order, each exactly once:
- ``seq <= carts.applied_seq``: already applied (a resend or a second worker's copy): ignored,
  and re-acknowledged so the cart can forget it. ``applied_events`` has a unique ``event_id``
  and a unique ``(cart_id, seq)`` as the database's backstop.
- ``seq == applied_seq + 1``: applied; then any held events that now follow are applied too.
- ``seq > applied_seq + 1``: held in ``pending_events``; the session is *unresolved* and
  checkout is refused (``missing_events``) until the cart resends the gap or publishes a
  ``BasketSnapshot`` with ``seq`` at or past it, which replaces the basket wholesale. A
  snapshot ahead of ``applied_seq`` with nothing held is no gap (its events are still on their
  way) and is ignored, so each event keeps its ``applied_events`` row.

Two workers sharing the carts serialise per cart on the ``carts`` row (``prefetch`` locks every
cart of a batch, sorted, before reading anything about it), so a cart's events apply one by one
whichever worker each arrives at.

A message that cannot be applied raises ``Rejected`` *before* anything is changed, so the
worker can dead-letter it with no other effect. The per-batch caches (carts, sessions, basket
lines, known event ids, pending events) are loaded with one query each by ``prefetch``: that
is what makes thousands of events per second possible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from host import accounts, checkout, pricing
from host.checkout import GatewayFactory
from host.db.models import (
    OPEN_STATUSES,
    AppliedEvent,
    BasketLine,
    Cart,
    DeadLetter,
    PendingEvent,
    SessionStatus,
    utcnow,
)
from host.db.models import Session as ShoppingSession
from host.errors import HostError, Rejected
from smartcart.catalog import Catalog, Pricing
from smartcart.contract import decode, topics
from smartcart.contract import messages as m

log = logging.getLogger(__name__)

HostMessage = m.SessionStarted | m.Ack | m.Receipt | m.CheckoutRefused
# (channel, payload, cart id from the topic) -> raises ContractError: smartcart.contract.signing
Verifier = Callable[[topics.Channel, bytes, str], object]


@dataclass(frozen=True, slots=True)
class _Applied:
    """What a later event of the same batch needs to know about one applied in it."""

    event_id: str
    session_id: str
    type: str
    action: str | None
    grams: int | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message for ``carts/{cart_id}/host``, to publish after the commit."""

    cart_id: str
    message: HostMessage


class Batch:
    def __init__(
        self, s: Session, catalog: Catalog, currency: str, gateway_for: GatewayFactory
    ) -> None:
        self._s = s
        self._catalog = catalog
        self._currency = currency
        self._gateway_for = gateway_for
        self._carts: dict[str, Cart | None] = {}
        self._sessions: dict[str, ShoppingSession | None] = {}
        # session id -> sku -> line: plain values; changed ones are upserted in one statement.
        self._lines: dict[str, dict[str, pricing.LineState]] = {}
        self._dirty_lines: dict[tuple[str, str], pricing.LineState] = {}
        self._pending: dict[str, dict[int, PendingEvent]] = {}  # cart id -> seq -> event
        self._known_ids: set[str] = set()
        self._checked_ids: set[str] = set()
        self._new_events: dict[str, _Applied] = {}
        self._event_rows: list[dict[str, object]] = []
        self._now = utcnow()
        self._resolved: set[str] = set()  # unresolved event ids answered in this batch
        self._ack_carts: dict[str, None] = {}  # ordered set
        self._touched_sessions: dict[str, None] = {}
        self._replies: list[Outgoing] = []
        self.applied = 0

    # ---- loading ----

    def prefetch(self, messages: Sequence[object]) -> None:
        """Load every row the batch touches, one query per table.

        Carts that report a status before the host has seen them get their rows here too, all
        in one insert-or-ignore (a broker hands a starting worker every retained status).
        """
        s = self._s
        events = [x for x in messages if isinstance(x, m.CartEvent)]
        # Checkouts too: their cart's row is locked here with the others, not later in
        # ``checkout.checkout``, so every batch takes its carts' locks in one sorted order.
        cart_msgs = [
            x
            for x in messages
            if isinstance(x, m.CartEvent | m.BasketSnapshot | m.CartStatus | m.CheckoutRequest)
        ]
        cart_ids = sorted({x.cart_id for x in cart_msgs} - self._carts.keys())
        if not cart_ids:
            return
        new_status = sorted(
            {x.cart_id for x in messages if isinstance(x, m.CartStatus)} & set(cart_ids)
        )
        if new_status:
            accounts.ensure_carts(s, new_status)
        # Sorted FOR UPDATE: two workers lock a cart's row in the same order (no deadlock),
        # and the second waits for the first's commit instead of failing on a unique key.
        # Everything read about these carts below (applied_seq, pending events, sessions,
        # lines) is read after the lock, so it includes what the other worker committed: a
        # worker that fills a gap sees the successors the other one held, and drains them.
        found = {
            c.id: c
            for c in s.scalars(
                select(Cart)
                .where(Cart.id.in_(cart_ids))
                .order_by(Cart.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        for cid in cart_ids:
            self._carts[cid] = found.get(cid)
        session_ids = list({e.session_id for e in events} - self._sessions.keys())
        found_s = {
            x.id: x
            for x in s.scalars(select(ShoppingSession).where(ShoppingSession.id.in_(session_ids)))
        }
        for sid in session_ids:
            self._sessions[sid] = found_s.get(sid)
        load_lines = [sid for sid, x in found_s.items() if x.status in OPEN_STATUSES]
        for sid in load_lines:
            self._lines.setdefault(sid, {})
        for line in s.scalars(select(BasketLine).where(BasketLine.session_id.in_(load_lines))):
            self._lines[line.session_id][line.sku] = _state_of(line)
        new_ids = [e.event_id for e in events if e.event_id not in self._checked_ids]
        self._known_ids.update(
            s.scalars(select(AppliedEvent.event_id).where(AppliedEvent.event_id.in_(new_ids)))
        )
        self._checked_ids.update(new_ids)
        present = [c for c in found if c not in self._pending]
        for c in present:
            self._pending[c] = {}
        for p in s.scalars(select(PendingEvent).where(PendingEvent.cart_id.in_(present))):
            self._pending[p.cart_id][p.seq] = p

    def _cart(self, cart_id: str) -> Cart | None:
        if cart_id not in self._carts:
            self._carts[cart_id] = self._s.get(Cart, cart_id, with_for_update=True)
        return self._carts[cart_id]

    def _session(self, session_id: str) -> ShoppingSession | None:
        if session_id not in self._sessions:
            self._sessions[session_id] = self._s.get(ShoppingSession, session_id)
        return self._sessions[session_id]

    def _lines_of(self, session_id: str) -> dict[str, pricing.LineState]:
        if session_id not in self._lines:
            rows = self._s.scalars(select(BasketLine).where(BasketLine.session_id == session_id))
            self._lines[session_id] = {x.sku: _state_of(x) for x in rows}
        return self._lines[session_id]

    def _pending_of(self, cart_id: str) -> dict[int, PendingEvent]:
        if cart_id not in self._pending:
            self._pending[cart_id] = {
                p.seq: p
                for p in self._s.scalars(
                    select(PendingEvent).where(PendingEvent.cart_id == cart_id)
                )
            }
        return self._pending[cart_id]

    def _is_known(self, event_id: str) -> bool:
        if event_id not in self._checked_ids:
            self._checked_ids.add(event_id)
            if self._s.get(AppliedEvent, event_id) is not None:
                self._known_ids.add(event_id)
        return event_id in self._known_ids

    # ---- cart messages ----

    def event(self, ev: m.CartEvent, payload: bytes) -> None:
        session = self._session(ev.session_id)
        if session is None:
            raise Rejected("no_session", f"session {ev.session_id} is unknown to the host")
        if session.cart_id != ev.cart_id:
            raise Rejected("session_mismatch", f"session {ev.session_id} belongs to another cart")
        cart = self._cart(ev.cart_id)
        assert cart is not None  # the session's cart row exists (FK)
        pending = self._pending_of(cart.id)
        if ev.seq <= cart.applied_seq or self._is_known(ev.event_id):
            self._ack_carts[cart.id] = None  # a resend: ack again so the cart can forget it
            return
        if ev.seq > cart.applied_seq + 1:
            self._check_static(ev)
            if ev.seq not in pending:
                row = PendingEvent(
                    cart_id=cart.id, seq=ev.seq, event_id=ev.event_id, payload=payload
                )
                self._s.add(row)
                pending[ev.seq] = row
                log.info("cart %s: seq %d held, gap after %d", cart.id, ev.seq, cart.applied_seq)
            self._ack_carts[cart.id] = None
            self._touched_sessions[session.id] = None
            return
        self._apply(cart, session, ev)
        self._drain(cart)

    def _check_static(self, ev: m.CartEvent) -> None:
        """What can be refused without the basket: unknown products, per-kg adds without grams."""
        if ev.type in ("add", "remove") and ev.sku is not None:
            p = pricing.product(self._catalog, ev.sku)
            if ev.type == "add" and p.pricing is Pricing.PER_KG and ev.grams is None:
                raise Rejected("grams_required", f"{ev.sku} is sold per kg: an add needs grams")

    def _apply(self, cart: Cart, session: ShoppingSession, ev: m.CartEvent) -> None:
        """Apply the next event of ``cart``; raises ``Rejected`` before changing anything."""
        changes: list[pricing.LineState] = []
        unresolved_delta = 0
        stale = False
        effective = session.status in OPEN_STATUSES
        if effective:
            lines = self._lines_of(session.id)
            if ev.type in ("add", "remove"):
                assert ev.sku is not None  # the contract requires it
                changes.append(
                    pricing.after(
                        self._catalog, self._state(lines, ev.sku), ev.type, ev.sku, ev.grams
                    )
                )
            elif ev.type == "unresolved":
                unresolved_delta = 1
            else:
                changes, unresolved_delta, stale = self._resolution(session, lines, ev)
        # Nothing raised: from here on, change state.
        for new in changes:
            self._set_line(session.id, new)
        if unresolved_delta:
            session.open_unresolved = max(0, session.open_unresolved + unresolved_delta)
        if stale:
            session.basket_stale = True
        # Rows, not ORM objects: thousands per batch go out as one multi-row INSERT.
        self._event_rows.append(
            {
                "event_id": ev.event_id,
                "cart_id": cart.id,
                "seq": ev.seq,
                "session_id": session.id,
                "type": ev.type,
                "sku": ev.sku,
                "grams": ev.grams,
                "action": ev.action,
                "resolves": ev.resolves,
                "effective": effective,
                "occurred_at": ev.occurred_at,
                "applied_at": self._now,
            }
        )
        self._new_events[ev.event_id] = _Applied(
            ev.event_id, session.id, ev.type, ev.action, ev.grams
        )
        self._known_ids.add(ev.event_id)
        cart.applied_seq = ev.seq
        self.applied += 1
        self._ack_carts[cart.id] = None
        self._touched_sessions[session.id] = None
        if not effective:
            log.warning(
                "cart %s: event seq %d for closed session %s recorded without effect",
                cart.id,
                ev.seq,
                session.id,
            )

    def _resolution(
        self, session: ShoppingSession, lines: dict[str, pricing.LineState], ev: m.CartEvent
    ) -> tuple[list[pricing.LineState], int, bool]:
        assert ev.resolves is not None  # the contract requires it
        target = self._new_events.get(ev.resolves) or self._s.get(AppliedEvent, ev.resolves)
        if target is None:
            if session.reconciled_seq is None:
                raise Rejected("unknown_unresolved", f"resolution of unknown event {ev.resolves}")
            # The question was asked in events a snapshot skipped: its action is unknown here,
            # so the basket waits for the cart's next snapshot.
            return [], -1, True
        if target.type != "unresolved" or target.session_id != session.id:
            raise Rejected(
                "not_unresolved", f"{ev.resolves} is not an unresolved event of this session"
            )
        if self._already_resolved(target.event_id):
            return [], 0, False  # a second answer to the same question changes nothing
        self._resolved.add(target.event_id)
        if ev.sku is None:
            return [], -1, False
        assert target.action is not None  # unresolved events carry their action
        grams = ev.grams if ev.grams is not None else target.grams
        return (
            [
                pricing.after(
                    self._catalog, self._state(lines, ev.sku), target.action, ev.sku, grams
                )
            ],
            -1,
            False,
        )

    def _already_resolved(self, target_id: str) -> bool:
        if target_id in self._resolved:
            return True
        return (
            self._s.scalar(
                select(AppliedEvent.event_id).where(AppliedEvent.resolves == target_id).limit(1)
            )
            is not None
        )

    @staticmethod
    def _state(lines: dict[str, pricing.LineState], sku: str) -> pricing.LineState | None:
        return lines.get(sku)

    def _set_line(self, session_id: str, new: pricing.LineState) -> None:
        # Zero-quantity lines stay (as 0) rather than being deleted and re-inserted.
        self._lines_of(session_id)[new.sku] = new
        self._dirty_lines[(session_id, new.sku)] = new

    def _drain(self, cart: Cart) -> None:
        """Apply held events that now follow ``applied_seq`` without a gap."""
        pending = self._pending_of(cart.id)
        while (held := pending.get(cart.applied_seq + 1)) is not None:
            del pending[held.seq]
            self._forget(held)
            ev = decode(topics.Channel.EVENTS, held.payload, cart_id=cart.id)  # valid when held
            session = self._session(ev.session_id)
            assert session is not None  # checked when it was held
            try:
                self._apply(cart, session, ev)
            except Rejected as r:
                self.dead_letter(
                    topics.topic(cart.id, topics.Channel.EVENTS), held.payload, r.reason, r.detail
                )
                return

    def _forget(self, held: PendingEvent) -> None:
        if held in self._s.new:
            self._s.expunge(held)
        else:
            self._s.delete(held)

    def snapshot(self, snap: m.BasketSnapshot) -> None:
        cart = self._cart(snap.cart_id)
        if cart is None or cart.current_session_id != snap.session_id:
            return  # a retained snapshot of a session that is over: nothing to reconcile
        session = self._session(snap.session_id)
        assert session is not None  # current_session_id names a session row
        if snap.seq < cart.applied_seq or (
            snap.seq == cart.applied_seq and not session.basket_stale
        ):
            return  # older than, or in step with, what the host applied
        if not session.basket_stale and not self._pending_of(cart.id):
            # Ahead of what is applied, but no gap here: the events it sums up are on their
            # way (a sibling worker may hold the next one right now; the cart resends what is
            # not acknowledged). Settling now would skip their per-event history, so wait.
            return
        new_lines = self._snapshot_lines(snap)  # raises Rejected before any change
        lines = self._lines_of(session.id)
        for sku in list(lines):
            if sku not in new_lines:
                self._set_line(session.id, pricing.LineState(sku, 0, None))
        for line in new_lines.values():
            self._set_line(session.id, line)
        log.info(
            "cart %s: basket reconciled from snapshot at seq %d (applied %d)",
            cart.id,
            snap.seq,
            cart.applied_seq,
        )
        session.open_unresolved = snap.unresolved
        session.basket_stale = False
        session.reconciled_seq = snap.seq
        cart.applied_seq = snap.seq
        pending = self._pending_of(cart.id)
        for seq in [q for q in pending if q <= snap.seq]:
            self._forget(pending.pop(seq))
        self._drain(cart)
        self._ack_carts[cart.id] = None
        self._touched_sessions[session.id] = None

    def _snapshot_lines(self, snap: m.BasketSnapshot) -> dict[str, pricing.LineState]:
        out: dict[str, pricing.LineState] = {}
        for line in snap.lines:
            p = pricing.product(self._catalog, line.sku)
            per_kg = p.pricing is Pricing.PER_KG
            if per_kg and line.grams is None:
                raise Rejected(
                    "grams_required", f"snapshot line {line.sku} is sold per kg: grams needed"
                )
            if line.sku in out:
                raise Rejected("duplicate_line", f"snapshot lists {line.sku} twice")
            out[line.sku] = pricing.LineState(
                line.sku, line.quantity, line.grams if per_kg else None
            )
        return out

    def status(self, st: m.CartStatus) -> None:
        cart = self._cart(st.cart_id)
        if cart is None:
            cart = accounts.ensure_cart(self._s, st.cart_id)
            self._carts[cart.id] = cart
        cart.online = st.state == "online"
        if st.firmware is not None:
            cart.firmware = st.firmware
        cart.status_at = st.since or utcnow()

    def _flush(self) -> None:
        self._s.flush()
        if self._dirty_lines:
            _upsert_lines(self._s, self._dirty_lines)
            self._dirty_lines = {}
        if self._event_rows:
            _insert_rows(self._s, cast(Table, AppliedEvent.__table__), self._event_rows)
            self._event_rows = []

    def checkout(self, req: m.CheckoutRequest) -> None:
        self._settle_statuses()
        self._flush()  # checkout reads the basket and pending rows with queries
        reply = checkout.checkout(self._s, req, self._catalog, self._currency, self._gateway_for)
        self._replies.append(Outgoing(req.cart_id, reply))

    def dead_letter(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        log.warning("dead letter on %s: %s: %s", topic, reason, detail)
        self._s.add(DeadLetter(topic=topic, payload=payload, reason=reason, detail=detail[:2000]))

    # ---- end of batch ----

    def _settle_statuses(self) -> None:
        for sid in self._touched_sessions:
            session = self._sessions.get(sid) or self._s.get(ShoppingSession, sid)
            if session is None or session.status not in OPEN_STATUSES:
                continue
            held = bool(self._pending_of(session.cart_id))
            blocked = held or session.open_unresolved > 0 or session.basket_stale
            session.status = (SessionStatus.UNRESOLVED if blocked else SessionStatus.ACTIVE).value

    def finish(self) -> list[Outgoing]:
        """Flush; return what to publish once the caller has committed."""
        self._settle_statuses()
        self._flush()
        acks = [
            Outgoing(cid, m.Ack(cart_id=cid, acked_seq=cart.applied_seq))
            for cid in self._ack_carts
            if (cart := self._carts.get(cid)) is not None
        ]
        return acks + self._replies


def _state_of(row: BasketLine) -> pricing.LineState:
    return pricing.LineState(row.sku, row.quantity, row.grams)


_UPSERT_CHUNK = 500  # x 4 columns: far below every backend's bound-parameter limit


def _upsert_lines(s: Session, lines: dict[tuple[str, str], pricing.LineState]) -> None:
    """Write the batch's changed basket lines: one INSERT .. ON CONFLICT DO UPDATE per chunk.

    The ORM would send one UPDATE per line (psycopg reports no executemany rowcount for it to
    check); this is one round trip for the whole batch.
    """
    insert_ = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [
        {"session_id": sid, "sku": line.sku, "quantity": line.quantity, "grams": line.grams}
        for (sid, _), line in lines.items()
    ]
    for i in range(0, len(rows), _UPSERT_CHUNK):
        stmt = insert_(BasketLine).values(rows[i : i + _UPSERT_CHUNK])
        s.execute(
            stmt.on_conflict_do_update(
                index_elements=["session_id", "sku"],
                set_={"quantity": stmt.excluded.quantity, "grams": stmt.excluded.grams},
            )
        )


def _insert_rows(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, a Core executemany elsewhere.

    Per-row INSERTs (ORM objects, or psycopg's pipelined executemany) cost a server execution
    each; COPY streams the whole batch in one statement, which is most of what lets the host
    apply thousands of events per second.
    """
    conn = s.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    cols = [c.name for c in table.columns]
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in cols])


def apply_all(
    batch: Batch, items: Iterable[tuple[str, bytes]], verify: Verifier | None = None
) -> None:
    """Decode and apply (topic, payload) pairs in order, dead-lettering what is refused.

    The one place that maps topics to channels and contract errors to dead letters; the MQTT
    worker and the benchmark's verifier both go through it. With ``verify`` (the keyring's),
    a message must also carry its cart's signature before anything is applied: a missing or
    wrong one is a ``SignatureError`` (a ``ContractError``), dead-lettered like any bad payload.
    """
    from smartcart.contract import ContractError

    decoded: list[tuple[str, bytes, object]] = []
    for topic_name, payload in items:
        try:
            parsed = topics.parse(topic_name)
            msg = decode(parsed.channel, payload, cart_id=parsed.cart_id)
            if verify is not None:
                verify(parsed.channel, payload, parsed.cart_id)
        except topics.TopicError as e:
            batch.dead_letter(topic_name, payload, "bad_topic", str(e))
            continue
        except ContractError as e:
            batch.dead_letter(topic_name, payload, e.reason, e.detail)
            continue
        decoded.append((topic_name, payload, msg))
    batch.prefetch([msg for _, _, msg in decoded])
    for topic_name, payload, msg in decoded:
        try:
            if isinstance(msg, m.CartEvent):
                batch.event(msg, payload)
            elif isinstance(msg, m.BasketSnapshot):
                batch.snapshot(msg)
            elif isinstance(msg, m.CartStatus):
                batch.status(msg)
            elif isinstance(msg, m.CheckoutRequest):
                batch.checkout(msg)
            else:
                batch.dead_letter(
                    topic_name, payload, "unexpected", f"{type(msg).__name__} is not for the host"
                )
        except Rejected as r:
            batch.dead_letter(topic_name, payload, r.reason, r.detail)
        except HostError as e:  # e.g. a checkout of a customer whose account is gone
            batch.dead_letter(topic_name, payload, "host_error", f"{type(e).__name__}: {e}")
