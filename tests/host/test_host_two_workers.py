"""Two host workers on one PostgreSQL database: a cart's events apply one by one, in order.

A shared subscription hands a cart's consecutive events to different workers. The workers
serialise on the cart's row (``host.stream`` prefetch locks it before reading anything about
the cart), so whoever fills a gap also applies what the other worker held: every event gets
its ``applied_events`` row and nothing is settled by a basket snapshot instead. Also: checkout
takes that lock in the same order, and two workers may migrate an empty database at once.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from hostkit import STAFF_SHA256, CartScript, replies, wire
from sqlalchemy import func, select, text

from host import db, stream
from host.db.models import AppliedEvent, Base, Cart, DeadLetter, PendingEvent, Product
from host.db.models import Session as ShoppingSession
from host.payments import LedgerGateway
from host.settings import HostSettings
from host.worker import HostWorker

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

KIWI = "kiwi"  # per unit, 500 öre
AVOCADO = "avocado"  # per unit, 1500 öre


@pytest.fixture
def pg_url(postgres_schema_url: str) -> str:
    engine = db.make_engine(postgres_schema_url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()
    return postgres_schema_url


def make_worker(url: str) -> HostWorker:
    return HostWorker(
        HostSettings(
            database_url=url,
            worker_id=f"t-{uuid.uuid4().hex[:8]}",
            staff_token_sha256=STAFF_SHA256,
        )
    )


@pytest.fixture
def workers(pg_url: str) -> Iterator[tuple[HostWorker, HostWorker]]:
    a, b = make_worker(pg_url), make_worker(pg_url)
    a.prepare_database()
    b.prepare_database()
    yield a, b
    a.engine.dispose()
    b.engine.dispose()


def shopper(host: HostWorker, cart_id: str = "cart-0001") -> tuple[str, CartScript]:
    customer_id = host.create_customer("Alice", top_up_minor=1_000_000)
    return customer_id, CartScript(host.start_session(cart_id, customer_id), cart_id=cart_id)


def applied_seqs(host: HostWorker, cart_id: str = "cart-0001") -> list[int]:
    with host.transaction() as s:
        return list(
            s.scalars(
                select(AppliedEvent.seq)
                .where(AppliedEvent.cart_id == cart_id)
                .order_by(AppliedEvent.seq)
            )
        )


def nothing_held_or_reconciled(host: HostWorker, session_id: str) -> None:
    with host.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PendingEvent)) == 0
        session = s.get(ShoppingSession, session_id)
        assert session is not None
        assert session.reconciled_seq is None  # no basket was settled from a snapshot
        assert session.status == "active"
        assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0


class OpenBatch:
    """One worker's batch applied but not yet committed: its transaction holds the cart lock."""

    def __init__(self, host: HostWorker, items: list[tuple[str, bytes]]) -> None:
        self._tx = host.transaction()
        s = self._tx.__enter__()
        batch = stream.Batch(s, host.catalog, host.settings.currency, LedgerGateway)
        stream.apply_all(batch, items)
        batch.finish()

    def commit(self) -> None:
        self._tx.__exit__(None, None, None)


def in_thread(
    fn: Callable[..., object], *args: object, start: threading.Barrier | None = None
) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``fn(*args)`` in a thread (after ``start``, to line threads up); errors collected."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            if start is not None:
                start.wait()
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


@pytest.mark.parametrize("first", ["holder", "filler"])
def test_the_worker_that_fills_a_gap_applies_what_the_other_one_held(
    workers: tuple[HostWorker, HostWorker], first: str
) -> None:
    a, b = workers
    _, cart = shopper(a)
    e1, e2, e3 = cart.add(KIWI), cart.add(AVOCADO), cart.remove(KIWI)
    a.apply_messages([wire(e1)])
    # "holder": b has e3 (held: e2 is missing) in an open transaction while a applies e2.
    # "filler": a has e2 open while b gets e3. Either way the second waits on the cart row
    # and, once it has it, sees the first one's commit.
    if first == "holder":
        open_batch, late, item = OpenBatch(b, [wire(e3)]), a, wire(e2)
    else:
        open_batch, late, item = OpenBatch(a, [wire(e2)]), b, wire(e3)
    thread, errors = in_thread(late.apply_messages, [item])
    thread.join(0.5)
    assert thread.is_alive()  # waiting for the open batch's cart lock
    open_batch.commit()
    thread.join(30)
    assert not thread.is_alive() and errors == []
    assert applied_seqs(a) == [1, 2, 3]
    nothing_held_or_reconciled(a, cart.session_id)


def test_two_workers_interleaving_one_carts_events_apply_every_event(
    workers: tuple[HostWorker, HostWorker],
) -> None:
    a, b = workers
    customer_id, cart = shopper(a)
    events = [cart.add(KIWI) if i % 3 else cart.add(AVOCADO) for i in range(60)]
    rng = random.Random(6)
    # Round-robin-ish like a shared subscription: each worker gets its share in the cart's
    # order and applies it as fast as it can, one message per transaction, at the same time.
    shares: dict[int, list[tuple[str, bytes]]] = {0: [], 1: []}
    for ev in events:
        shares[rng.randrange(2)].append(wire(ev))
    start = threading.Barrier(2)

    def run(host: HostWorker, items: list[tuple[str, bytes]]) -> None:
        for item in items:
            host.apply_messages([item])

    threads = [in_thread(run, h, shares[n], start=start) for n, h in enumerate((a, b))]
    for t, errors in threads:
        t.join(90)
        assert not t.is_alive() and errors == []
    assert applied_seqs(a) == list(range(1, 61))
    nothing_held_or_reconciled(a, cart.session_id)
    # The checkout goes to either worker and charges what was bought, once.
    receipt = replies(b.apply_messages([wire(cart.checkout())]), "receipt")[0]
    assert receipt.total_minor == 40 * 500 + 20 * 1500
    assert a.balance_minor(customer_id) == 1_000_000 - receipt.total_minor


def test_a_snapshot_ahead_of_its_events_waits_for_them(
    workers: tuple[HostWorker, HostWorker],
) -> None:
    a, b = workers
    _, cart = shopper(a)
    e1 = cart.add(KIWI)
    # The cart publishes the event and then its snapshot; b gets the snapshot first.
    out = b.apply_messages([wire(cart.snapshot([(KIWI, 1, None)]))])
    assert replies(out, "ack") == []  # nothing applied, nothing to acknowledge
    out = a.apply_messages([wire(e1)])
    assert [x.acked_seq for x in replies(out, "ack")] == [1]
    assert applied_seqs(a) == [1]
    nothing_held_or_reconciled(a, cart.session_id)


def test_checkouts_and_events_of_two_carts_in_both_workers_do_not_deadlock(
    workers: tuple[HostWorker, HostWorker],
) -> None:
    """a's batch: events of cart 1, then cart 2's checkout; b's: the reverse. Had checkout
    locked its cart after the batch's others, each would hold one cart and wait for the other
    (PostgreSQL would then abort one of them)."""
    a, b = workers
    _, one = shopper(a, "cart-0001")
    _, two = shopper(a, "cart-0002")
    a.apply_messages([wire(one.add(KIWI)), wire(two.add(KIWI))])
    rounds = 20
    for _ in range(rounds):
        batch_a = [wire(one.add(KIWI)), wire(two.checkout())]
        batch_b = [wire(two.add(AVOCADO)), wire(one.checkout())]
        # Refusals are fine here (each checkout races the other cart's next event); what
        # matters is that no batch falls back to one by one on a deadlock.
        start = threading.Barrier(2)
        ta = in_thread(a.apply_messages, batch_a, start=start)
        tb = in_thread(b.apply_messages, batch_b, start=start)
        for t, errors in (ta, tb):
            t.join(30)
            assert not t.is_alive() and errors == []  # a deadlock would raise here
    assert applied_seqs(a, "cart-0001") == list(range(1, rounds + 2))
    assert applied_seqs(a, "cart-0002") == list(range(1, rounds + 2))


def test_two_workers_migrate_an_empty_schema_at_once(postgres_url: str) -> None:
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(postgres_url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    try:
        hosts = [make_worker(url) for _ in range(3)]
        start = threading.Barrier(len(hosts))
        threads = [in_thread(h.prepare_database, start=start) for h in hosts]
        for t, errors in threads:
            t.join(60)
            assert not t.is_alive() and errors == []
        with hosts[0].transaction() as s:
            assert s.scalar(text("SELECT count(*) FROM alembic_version")) == 1
            assert s.scalar(select(func.count()).select_from(Product)) == len(hosts[0].catalog)
            assert s.scalar(select(func.count()).select_from(Cart)) == 0
        for h in hosts:
            h.engine.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
