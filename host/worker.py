"""``HostWorker``: one checkout-host process's MQTT consumer, database and staff operations.

    with HostWorker(HostSettings(database_url=..., broker_url=...)) as host:
        customer_id = host.create_customer("Alice", top_up_minor=50_000)
        session_id = host.start_session("cart-0001", customer_id)
        ...  # the cart shops and checks out over MQTT
        host.receipt(session_id), host.balance_minor(customer_id)

``start()`` migrates the database to head, syncs the catalog, connects to the broker and starts
one worker thread. The thread takes what paho's callbacks queued, up to ``batch_max`` messages
at a time, applies them in ONE database transaction (``host.stream``), commits, and only then
publishes the replies (acks, receipts, refusals) and PUBACKs the messages to the broker.

If the batch's commit fails (a sibling worker committed the same event first, a serialisation
failure), the batch is rolled back and its messages are applied one transaction each, so one
message cannot sink the others. A message whose own transaction still fails with anything but
a lost database connection is dead-lettered with the error and the worker carries on; when the
database is unreachable nothing is acknowledged and the batch is retried.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from host import accounts, checkout, db, ledger, stream
from host.errors import SignaturesRequired
from host.mqtt.link import Inbound, MqttLink
from host.payments import LedgerGateway
from host.settings import HostSettings
from smartcart.catalog import Catalog, default_catalog
from smartcart.contract import messages as m
from smartcart.contract.signing import KeyringFile

log = logging.getLogger(__name__)

T = TypeVar("T")

_POLL_S = 0.1
_DB_RETRY_S = 1.0
_INBOX_MAX = 50_000
_ONE_BY_ONE_TRIES = 3


class HostWorker:
    def __init__(
        self,
        settings: HostSettings | None = None,
        *,
        catalog: Catalog | None = None,
        keyring: KeyringFile | None = None,
    ) -> None:
        self.settings = settings or HostSettings()
        self.catalog = catalog or default_catalog()
        # With a keyring, cart messages must carry their cart's signature (docs/security.md).
        if keyring is None and self.settings.keyring_path is not None:
            keyring = KeyringFile(self.settings.keyring_path)
        if keyring is None and self.settings.require_signatures:
            # Refuse to run rather than apply unsigned messages a production host must not trust.
            raise SignaturesRequired(
                "require_signatures is set but there is no cart keyring: set "
                "SMARTCART_HOST_KEYRING_PATH (smartcart host keys enrol ...) or, for development "
                "only, SMARTCART_HOST_REQUIRE_SIGNATURES=false"
            )
        self.keyring = keyring
        self.engine = db.make_engine(self.settings.database_url)
        self._sessions = db.session_factory(self.engine)
        self._inbox: queue.Queue[Inbound] = queue.Queue(maxsize=_INBOX_MAX)
        self._link: MqttLink | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._busy = threading.Lock()
        # Counters for tests, the benchmark and logs; written by the worker thread only.
        self.received = 0
        self.applied_events = 0
        self.batches = 0
        # Seconds per batch from taking it off the inbox to its acks handed to paho: where a
        # load run's latency goes (host.loadgen.hostproc prints them).
        self.busy_s = 0.0
        self.batch_s: deque[float] = deque(maxlen=100_000)

    # ---- lifecycle ----

    def prepare_database(self) -> None:
        """Migrate to head, load the catalog and the store's ledger accounts.

        All under the migration lock: a sibling worker starting at the same moment would
        otherwise insert the same products and store accounts and fail on their keys.
        """
        with db.migration_lock(self.engine):
            db.migrate(self.engine, lock=False)
            with self._sessions.begin() as s:
                accounts.sync_catalog(s, self.catalog)
                ledger.ensure_store_accounts(s, self.settings.currency)

    def start(self) -> HostWorker:
        if self.keyring is None:
            log.warning(
                "NO CART KEYRING: this host applies UNSIGNED cart messages, so anyone who can "
                "publish on the broker can add to bills and check carts out. Development only: "
                "production sets SMARTCART_HOST_KEYRING_PATH and "
                "SMARTCART_HOST_REQUIRE_SIGNATURES=true (docs/security.md)"
            )
        self.prepare_database()
        self._link = MqttLink(
            self.settings.broker_url,
            self.settings.worker_id,
            self._inbox,
            shared=self.settings.shared_subscription,
            share_group=self.settings.share_group,
            keepalive_s=self.settings.mqtt_keepalive_s,
            session_expiry_s=self.settings.mqtt_session_expiry_s,
        )
        self._link.start()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="host-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self._link is not None:
            self._link.stop()
            self._link = None
        self.engine.dispose()

    def __enter__(self) -> HostWorker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout_s: float = 5.0, settle_s: float = 0.2) -> bool:
        """Block until nothing arrived or was processed for ``settle_s``; False on timeout.

        For tests and the demo: MQTT gives no "all delivered" signal, so quiet is the signal.
        """
        deadline = time.monotonic() + timeout_s
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            seen = self.received
            if seen != last or not self._inbox.empty() or self._busy.locked():
                last, quiet_since = seen, time.monotonic()
            elif time.monotonic() - quiet_since >= settle_s:
                return True
            time.sleep(0.02)
        return False

    # ---- the worker thread ----

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._inbox.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self.settings.batch_max:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            with self._busy:
                self.received += len(batch)
                t0 = time.perf_counter()
                self._process(batch)
                took = time.perf_counter() - t0
                self.busy_s += took
                self.batch_s.append(took)

    def _process(self, batch: Sequence[Inbound]) -> None:
        while not self._stopping.is_set():
            try:
                try:
                    out = self._apply(batch)
                except OperationalError as e:
                    if _connection_lost(e):
                        raise
                    out = self._apply_one_by_one(batch)
                except Exception as e:  # noqa: BLE001 - any failure: isolate the culprit below
                    log.info("batch of %d failed (%s); applying one by one", len(batch), e)
                    out = self._apply_one_by_one(batch)
            except OperationalError as e:
                if not _connection_lost(e):
                    raise
                # Nothing is acknowledged: the same batch is tried again once the database is
                # back (and the broker redelivers it if this worker dies meanwhile).
                log.error("database unreachable (%s); retrying in %.0f s", e.orig, _DB_RETRY_S)
                time.sleep(_DB_RETRY_S)
                continue
            self._deliver(out, batch)
            return

    def _apply(self, batch: Sequence[Inbound]) -> list[stream.Outgoing]:
        return self.apply_messages([(i.topic, i.payload) for i in batch])

    def apply_messages(self, items: Sequence[tuple[str, bytes]]) -> list[stream.Outgoing]:
        """Apply (topic, payload) pairs in one transaction; return what to publish.

        The worker thread's path minus MQTT: tests drive the host through it without a broker.
        """
        with self._sessions.begin() as s:
            b = stream.Batch(s, self.catalog, self.settings.currency, LedgerGateway)
            stream.apply_all(b, items, None if self.keyring is None else self.keyring.verify)
            out = b.finish()
        self.applied_events += b.applied
        self.batches += 1
        return out

    def transaction(self) -> AbstractContextManager[Session]:
        """A database transaction for reads and staff writes (commits on success)."""
        return self._sessions.begin()

    def _apply_one_by_one(self, batch: Sequence[Inbound]) -> list[stream.Outgoing]:
        """Each message in its own transaction, so one bad message cannot sink the others."""
        out: list[stream.Outgoing] = []
        for item in batch:
            out += self._apply_alone(item)
        return out

    def _apply_alone(self, item: Inbound) -> list[stream.Outgoing]:
        error: Exception | None = None
        for _ in range(_ONE_BY_ONE_TRIES):
            try:
                return self._apply([item])
            except OperationalError as e:
                if _connection_lost(e):
                    raise
                error = e
            except DBAPIError as e:
                # Most often a sibling worker committed the same event first: the next try
                # sees it as a duplicate and succeeds.
                error = e
            except Exception as e:  # noqa: BLE001 - a bug must not stop the worker
                error = e
                break  # deterministic: trying again would fail the same way
        assert error is not None
        log.error("message on %s failed on its own: %r", item.topic, error, exc_info=error)
        reason = "database" if isinstance(error, DBAPIError) else "internal"
        with self.transaction() as s:
            b = stream.Batch(s, self.catalog, self.settings.currency, LedgerGateway)
            b.dead_letter(item.topic, item.payload, reason, f"{type(error).__name__}: {error}")
        return []

    def _deliver(self, out: Sequence[stream.Outgoing], batch: Sequence[Inbound]) -> None:
        assert self._link is not None
        for o in out:
            self._link.publish(o.cart_id, o.message)
        for item in batch:
            self._link.ack(item)

    # ---- staff operations (any thread; each is one transaction) ----

    def _tx(self, fn: Callable[[Session], T]) -> T:
        with self.transaction() as s:
            return fn(s)

    def create_customer(self, name: str, top_up_minor: int = 0) -> str:
        return self._tx(
            lambda s: accounts.create_customer(s, name, top_up_minor, self.settings.currency)
        )

    def top_up(
        self, customer_id: str, amount_minor: int, idempotency_key: str | None = None
    ) -> int:
        return self._tx(
            lambda s: accounts.top_up(
                s, customer_id, amount_minor, self.settings.currency, idempotency_key
            )
        )

    def balance_minor(self, customer_id: str) -> int:
        return self._tx(lambda s: accounts.balance_minor(s, customer_id))

    def start_session(self, cart_id: str, customer_id: str) -> str:
        """Open a session on ``cart_id``; tell the cart (``SessionStarted`` with its acked seq)."""
        started = self._tx(lambda s: accounts.start_session(s, cart_id, customer_id))
        if self._link is not None:
            self._link.publish(
                cart_id,
                m.SessionStarted(
                    cart_id=cart_id,
                    session_id=started.session_id,
                    started_at=started.started_at,
                    customer_name=started.customer_name,
                    acked_seq=started.acked_seq,
                ),
            )
        return started.session_id

    def receipt(self, session_id: str) -> m.Receipt | None:
        """The session's receipt as the cart received it, or None before checkout."""

        def read(s: Session) -> m.Receipt | None:
            row = checkout.receipt_for_session(s, session_id)
            return None if row is None else checkout.receipt_message(s, row)

        return self._tx(read)

    def session_status(self, session_id: str) -> str:
        return self._tx(lambda s: accounts.shopping_session(s, session_id).status)


def _connection_lost(e: OperationalError) -> bool:
    return bool(getattr(e, "connection_invalidated", False)) or "connect" in str(e.orig).lower()
