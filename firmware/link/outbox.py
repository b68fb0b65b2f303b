"""The cart's durable outbox: every basket event is on disk before anything tries to send it.

Design
------
One SQLite file in WAL mode with ``synchronous=FULL``: a committed append survives ``kill -9``
and power loss. Two tables:

- ``meta``: key/value state of the cart. ``last_seq`` (the highest seq ever minted; seqs are per
  cart and only grow, across sessions and restarts), ``acked_seq`` (the host's acknowledgement
  high-water mark), ``session_id`` (the open shopping session) and ``checkout_request_id`` (the
  idempotency key of the open checkout, minted once so a restarted cart retries with the same).
- ``events``: the encoded ``CartEvent`` bytes by seq, with the event id unique. The bytes are
  stored exactly as sent, so a resend is byte-identical and carries the same event id.

``append`` mints seq and event id and commits in one ``BEGIN IMMEDIATE`` transaction, so a crash
either leaves the event fully written (it will be sent) or not at all (the caller never got it
back); a seq is never handed out twice because the counter lives in the same transaction.

``acknowledge(n)`` moves ``acked_seq`` up to ``n`` (never down) and deletes acknowledged events,
except those of the open session: the cart keeps them, read-only, to rebuild the basket on its
screen after a restart. They are never resent (``unacked`` starts above ``acked_seq``) and go
when the session closes.

Signing: given the cart's ``Signer``, ``append`` signs each event before it is stored, so the
signature is minted once and every resend carries the same bytes (smartcart.contract.signing).

Thread-safety: one connection guarded by a lock; the pipeline appends while the link's worker
reads and acknowledges. The standard library's sqlite3 keeps the cart free of SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from firmware.basket.changes import BasketChange
from firmware.link.errors import OutboxError
from smartcart.contract import decode, encode
from smartcart.contract import messages as m
from smartcart.contract.signing import Signer
from smartcart.contract.topics import Channel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    event_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    payload BLOB NOT NULL
) STRICT;
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """One outbox row: the event's seq and id, and its encoded ``CartEvent`` as sent."""

    seq: int
    event_id: str
    payload: bytes


class Outbox:
    """``with Outbox(path, cart_id) as ob: ev = ob.append(change, session_id)``."""

    def __init__(self, path: Path | str, cart_id: str, signer: Signer | None = None) -> None:
        self.path = Path(path)
        self.cart_id = cart_id
        if signer is not None and signer.cart_id != cart_id:
            raise OutboxError(f"the key of {signer.cart_id!r} given to the outbox of {cart_id!r}")
        self.signer = signer
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing is left open.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 5000")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise OutboxError(f"cannot open outbox {self.path}: {e}") from e
        if mode != "wal":
            self._db.close()
            raise OutboxError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
        try:
            self._claim(cart_id)
        except OutboxError:
            self._db.close()
            raise

    # ---- lifecycle ----

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- writing ----

    def append(self, change: BasketChange, session_id: str) -> m.CartEvent:
        """Mint the next seq and a new event id, store the event durably, return it.

        The event is committed (fsync'd) when this returns; only then may it be sent.
        """
        event_id = str(uuid.uuid4())
        with self._write() as db:
            # An ack above anything minted here means this file was replaced (a new SD card):
            # counting on from the ack means no seq the host has seen is ever reused.
            seq = max(self._int(db, "last_seq"), self._int(db, "acked_seq")) + 1
            event = _event(change, self.cart_id, session_id, seq, event_id)
            if self.signer is not None:
                event = self.signer.sign(event)
            db.execute(
                "INSERT INTO events (seq, event_id, session_id, payload) VALUES (?, ?, ?, ?)",
                (seq, event_id, session_id, encode(event)),
            )
            _put(db, "last_seq", str(seq))
        return event

    def acknowledge(self, acked_seq: int) -> int:
        """The host has durably applied everything up to ``acked_seq``: forget those events.

        Never forgets above ``acked_seq``; an older (lower) acknowledgement changes nothing.
        Returns how many events stopped being unacknowledged.
        """
        with self._write() as db:
            before = self._int(db, "acked_seq")
            if acked_seq <= before:
                return 0
            newly = db.execute(
                "SELECT count(*) FROM events WHERE seq > ? AND seq <= ?", (before, acked_seq)
            ).fetchone()[0]
            _put(db, "acked_seq", str(acked_seq))
            self._prune(db)
        return int(newly)

    def open_session(self, session_id: str) -> None:
        """Make ``session_id`` the cart's open session (the host started it)."""
        with self._write() as db:
            if _get(db, "session_id") != session_id:
                _put(db, "session_id", session_id)
                db.execute("DELETE FROM meta WHERE key = 'checkout_request_id'")
            self._prune(db)

    def close_session(self) -> None:
        """The open session is over (receipt received): drop its kept, acknowledged events."""
        with self._write() as db:
            db.execute("DELETE FROM meta WHERE key IN ('session_id', 'checkout_request_id')")
            self._prune(db)

    def checkout_request_id(self) -> str:
        """The open session's checkout idempotency key, minted on first use and then reused."""
        with self._write() as db:
            if _get(db, "session_id") is None:
                raise OutboxError("no open session to check out")
            existing = _get(db, "checkout_request_id")
            if existing is not None:
                return existing
            request_id = str(uuid.uuid4())
            _put(db, "checkout_request_id", request_id)
            return request_id

    def forget_checkout_request(self) -> None:
        """The host answered the request (refused): the next attempt gets a new key."""
        with self._write() as db:
            db.execute("DELETE FROM meta WHERE key = 'checkout_request_id'")

    # ---- reading ----

    def unacked(self) -> list[m.CartEvent]:
        """Events the host has not acknowledged, in seq order: what must be (re)sent."""
        with self._lock:
            acked = self._int(self._db, "acked_seq")
            rows = self._db.execute(
                "SELECT payload FROM events WHERE seq > ? ORDER BY seq", (acked,)
            ).fetchall()
        return [self._decode(p) for (p,) in rows]

    def pending(self, above_seq: int = 0) -> list[Stored]:
        """Unacknowledged events above ``above_seq`` as stored bytes, in seq order: what the
        link sends, without decoding (the bytes went through the contract on the way in)."""
        with self._lock:
            floor = max(self._int(self._db, "acked_seq"), above_seq)
            rows = self._db.execute(
                "SELECT seq, event_id, payload FROM events WHERE seq > ? ORDER BY seq", (floor,)
            ).fetchall()
        return [Stored(seq, event_id, bytes(payload)) for seq, event_id, payload in rows]

    def has_unacked(self) -> bool:
        with self._lock:
            return self._int(self._db, "last_seq") > self._int(self._db, "acked_seq")

    def session_events(self, session_id: str) -> list[m.CartEvent]:
        """Every event still held for ``session_id`` (acknowledged or not), in seq order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM events WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        return [self._decode(p) for (p,) in rows]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._int(self._db, "last_seq")

    @property
    def acked_seq(self) -> int:
        with self._lock:
            return self._int(self._db, "acked_seq")

    @property
    def session_id(self) -> str | None:
        with self._lock:
            return _get(self._db, "session_id")

    # ---- internals ----

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and fsync'd) on exit, rolled back on any error."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise OutboxError(f"outbox {self.path} is not writable: {e}") from e
            try:
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as e:  # disk full, I/O error: nothing of this write is stored
                self._rollback()
                raise OutboxError(f"outbox {self.path}: write failed: {e}") from e
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _claim(self, cart_id: str) -> None:
        # seqs are per cart: one file must never feed two carts' counters.
        with self._write() as db:
            owner = _get(db, "cart_id")
            if owner is None:
                _put(db, "cart_id", cart_id)
            elif owner != cart_id:
                raise OutboxError(f"{self.path} is the outbox of {owner!r}, not {cart_id!r}")

    @staticmethod
    def _int(db: sqlite3.Connection, key: str) -> int:
        value = _get(db, key)
        return 0 if value is None else int(value)

    @staticmethod
    def _prune(db: sqlite3.Connection) -> None:
        acked = Outbox._int(db, "acked_seq")
        keep = _get(db, "session_id") or ""
        db.execute("DELETE FROM events WHERE seq <= ? AND session_id != ?", (acked, keep))

    def _decode(self, payload: bytes) -> m.CartEvent:
        event: m.CartEvent = decode(Channel.EVENTS, payload, cart_id=self.cart_id)
        return event


def _get(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _put(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _event(
    change: BasketChange, cart_id: str, session_id: str, seq: int, event_id: str
) -> m.CartEvent:
    return m.CartEvent(
        event_id=event_id,
        cart_id=cart_id,
        session_id=session_id,
        seq=seq,
        occurred_at=change.occurred_at,
        type=change.type,
        sku=change.sku,
        grams=change.grams,
        action=change.action,
        candidates=tuple(m.Candidate(sku=c.sku, score=c.score) for c in change.candidates),
        resolves=change.resolves,
        confidence=change.confidence,
    )
