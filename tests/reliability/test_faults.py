"""Faults against real Mosquitto and PostgreSQL: nothing lost, nothing duplicated, one charge.

Each test runs a real host (``HostWorker``, in-process or as its own process) against a private
Mosquitto and a private PostgreSQL cluster, carts that are the real link (signed outbox +
``CartLink``), and a fault in the middle. The carts' own logs are the truth the host's
``applied_events`` is audited against (``host.loadgen.fleet.audit``).

Time is compressed: a "10-minute" offline spell is 20 events stamped 30 s apart in shopping
time, submitted while the cart's network is down for a few seconds of wall time (what matters
to delivery is how much piles up in the outbox, not how long the wait was).
"""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultlog import record
from netcut import Netcut
from sqlalchemy import func, select

from host.db import make_engine
from host.db.models import AppliedEvent, LedgerTransaction, Receipt, TxKind
from host.loadgen.fleet import SKUS, SimCart, Staff, audit, make_keys, trip
from host.loadgen.services import PrivateMosquitto, PrivatePostgres
from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.catalog import default_catalog
from smartcart.contract import messages as m
from smartcart.contract.signing import KeyringFile

pytestmark = [pytest.mark.slow, pytest.mark.mosquitto, pytest.mark.postgres]

HERE = Path(__file__).parent
KILLS = 3  # kill -9s of the cart per run
CATALOG = default_catalog()
BALANCE = 10_000_000  # öre: enough for any trip these tests take


def price(skus: list[str]) -> int:
    return sum(CATALOG[s].price_for() for s in skus)


def host_settings(db_url: str, broker_url: str, worker_id: str | None = None) -> HostSettings:
    return HostSettings(
        database_url=db_url,
        broker_url=broker_url,
        worker_id=worker_id or f"host-{uuid.uuid4().hex[:8]}",
        mqtt_keepalive_s=5,
    )


class Fleet:
    """Carts with keys and sessions, against one broker and database."""

    def __init__(self, tmp: Path, db_url: str, broker_url: str, keyring: Path, n: int) -> None:
        self.ids = [f"cart-{uuid.uuid4().hex[:6]}" for _ in range(n)]
        self.signers = make_keys(self.ids, keyring)
        self.tmp, self.broker_url = tmp, broker_url
        self.staff = Staff(db_url, broker_url)
        self.carts: list[SimCart] = []
        self.customers: dict[str, str] = {}
        self.bought: dict[str, list[str]] = {c: [] for c in self.ids}

    def start(self, resend_after_s: float = 10.0, broker_url: str | None = None) -> None:
        for cid in self.ids:
            cart = SimCart(
                cid, broker_url or self.broker_url, self.tmp, self.signers[cid], resend_after_s
            )
            self.carts.append(cart.start())
        for cart in self.carts:
            assert cart.link.wait_ready(15), f"{cart.cart_id} never connected"
            self.customers[cart.cart_id], _ = self.staff.open_session(cart.cart_id, BALANCE)
        for cart in self.carts:
            cart.link.wait_session(15)

    def shop(self, items: int, rng: random.Random) -> None:
        for cart in self.carts:
            for sku in trip(rng, items):
                cart.add(sku)
                self.bought[cart.cart_id].append(sku)

    def checkout_all(self, timeout_s: float = 45.0) -> None:
        """Every cart checks out; each must get a receipt for exactly what it bought."""
        answers: dict[str, m.Receipt | m.CheckoutRefused] = {}

        def one(cart: SimCart) -> None:
            answers[cart.cart_id] = cart.checkout(timeout_s)

        threads = [threading.Thread(target=one, args=(c,)) for c in self.carts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout_s + 5)
        for cid in self.ids:
            answer = answers.get(cid)
            assert isinstance(answer, m.Receipt), f"{cid}: {answer}"
            assert answer.total_minor == price(self.bought[cid])
            balance = self.staff.balance_minor(self.customers[cid])
            assert balance == BALANCE - answer.total_minor  # charged exactly once

    def stop(self) -> None:
        for cart in self.carts:
            cart.stop()
        self.staff.close()


@pytest.fixture
def fleet_factory(tmp_path: Path, keyring_path: Path) -> Iterator[object]:
    made: list[Fleet] = []

    def make(db_url: str, broker_url: str, n: int) -> Fleet:
        f = Fleet(tmp_path, db_url, broker_url, keyring_path, n)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def assert_clean(db_url: str, fleet: Fleet, receipts: int, fault: str, faults: int = 1) -> None:
    result = audit(fleet.staff.engine, fleet.carts)
    record(fault, faults=faults, events=result.minted, applied=result.applied,
           reconciled=result.reconciled, lost=result.lost,
           duplicated=result.duplicated + result.foreign, receipts=result.receipts,
           charges=result.charges)  # fmt: skip
    assert result.minted > 0
    assert (result.lost, result.duplicated, result.foreign) == (0, 0, 0), result
    assert result.applied + result.reconciled == result.minted
    assert (result.receipts, result.charges) == (receipts, receipts), result


def test_broker_restart_mid_trip(
    pg_url: str, broker: PrivateMosquitto, keyring_path: Path, fleet_factory
) -> None:
    rng = random.Random(1)
    with HostWorker(host_settings(pg_url, broker.url), keyring=KeyringFile(keyring_path)):
        fleet = fleet_factory(pg_url, broker.url, 3)
        fleet.start()
        fleet.shop(5, rng)
        broker.restart(down_s=1.0)  # SIGTERM: persistent sessions and queues survive
        fleet.shop(5, rng)  # some of these are written while the carts reconnect
        broker.restart()
        fleet.checkout_all()
    assert_clean(pg_url, fleet, receipts=3, fault="broker restart mid-trip", faults=2)


def test_cart_offline_for_ten_minutes_of_shopping(
    pg_url: str, broker: PrivateMosquitto, keyring_path: Path, fleet_factory
) -> None:
    rng = random.Random(2)
    net = Netcut(broker.port)
    try:
        with HostWorker(host_settings(pg_url, broker.url), keyring=KeyringFile(keyring_path)):
            fleet = fleet_factory(pg_url, broker.url, 2)
            fleet.start(broker_url=net.url)
            fleet.shop(3, rng)
            net.cut()
            offline_from = time.monotonic()
            # 10 minutes of shopping: 20 items, stamped 30 s apart, all into the outbox.
            for cart in fleet.carts:
                for i, sku in enumerate(trip(rng, 20)):
                    cart.add(sku, shopping_t_s=90 + 30.0 * i)
                    fleet.bought[cart.cart_id].append(sku)
            time.sleep(max(0.0, 3.0 - (time.monotonic() - offline_from)))
            assert not any(c.link.connected for c in fleet.carts)
            net.restore()
            fleet.checkout_all()
    finally:
        net.close()
    assert_clean(pg_url, fleet, receipts=2, fault="cart offline 10 min of shopping", faults=2)
    assert all(c.link.stats.connects >= 2 for c in fleet.carts)


class Proc:
    """A child process whose stdout lines are collected as they come."""

    def __init__(self, script: str, *args: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.p = subprocess.Popen(
            [sys.executable, str(HERE / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.put(line.strip())

    def wait_for(self, prefix: str, timeout_s: float = 60) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.p.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        tail = "\n".join(self.seen[-8:])
        what = f"no {prefix!r} from {self.p.args[2:4]} (exit {self.p.poll()})"
        raise AssertionError(f"{what}:\n{tail}")

    def drain(self) -> None:
        while not self.lines.empty():
            self.seen.append(self.lines.get())

    def kill9(self) -> None:
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)
        time.sleep(0.1)  # let the reader thread take the last lines
        self.drain()

    def stop(self) -> None:
        if self.p.poll() is None:
            self.kill9()


def charges(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    with engine.connect() as c:
        n_receipts = c.scalar(select(func.count()).select_from(Receipt)) or 0
        n_charges = c.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.kind == TxKind.CHARGE.value)
        )
    engine.dispose()
    return n_receipts, n_charges or 0


def test_kill_9_of_the_cart_while_writing_its_outbox(
    pg_url: str, broker: PrivateMosquitto, keyring_path: Path, tmp_path: Path
) -> None:
    cart_id = f"cart-{uuid.uuid4().hex[:6]}"
    make_keys([cart_id], keyring_path)[cart_id].save(tmp_path / "cart.key")
    args = (broker.url, str(tmp_path / "outbox.sqlite"), cart_id, str(tmp_path / "cart.key"))
    rng = random.Random(3)
    lives: list[Proc] = []
    with HostWorker(host_settings(pg_url, broker.url), keyring=KeyringFile(keyring_path)):
        staff = Staff(pg_url, broker.url)
        try:
            for life in range(KILLS):
                lives.append(Proc("cart_proc.py", *args))
                if life == 0:  # the session is announced once; the outbox remembers it
                    lives[-1].wait_for("connected")
                    staff.open_session(cart_id, balance_minor=100_000_000)
                lives[-1].wait_for("ready")
                time.sleep(rng.uniform(0.3, 1.2))  # mid-stream: an append is always under way
                lives[-1].kill9()
            lives.append(Proc("cart_proc.py", *args, "--items", "3", "--checkout"))
            total = int(lives[-1].wait_for("receipt").split()[1])
        finally:
            for life in lives:
                life.stop()
            staff.close()
    # The cart's own log: what it printed after each durable append, over all its lives.
    printed = {
        int(line.split()[1]): line.split()[2]
        for life in lives
        for line in life.seen
        if line.startswith("event ")
    }
    engine = make_engine(pg_url)
    with engine.connect() as c:
        rows = c.execute(
            select(AppliedEvent.seq, AppliedEvent.event_id, AppliedEvent.sku).where(
                AppliedEvent.cart_id == cart_id
            )
        ).all()
    engine.dispose()
    seqs = sorted(r.seq for r in rows)
    assert len(printed) > 3 * KILLS
    assert seqs == list(range(1, len(seqs) + 1))  # every seq once, no gap
    applied = {r.seq: r.event_id for r in rows}
    assert all(applied.get(seq) == eid for seq, eid in printed.items())  # nothing durable lost
    assert total == price([r.sku for r in rows])  # the bill is what the cart wrote, once
    assert charges(pg_url) == (1, 1)
    record("kill -9 cart while writing its outbox", faults=KILLS, events=len(seqs),
           applied=len(rows), reconciled=0, lost=len(set(printed) - set(applied)),
           duplicated=len(rows) - len(set(applied.values())), receipts=1, charges=1)  # fmt: skip


def test_kill_9_of_the_host_between_charging_and_publishing_the_receipt(
    pg_url: str, broker: PrivateMosquitto, keyring_path: Path, fleet_factory
) -> None:
    worker_id = f"host-{uuid.uuid4().hex[:6]}"
    args = (pg_url, broker.url, worker_id, str(keyring_path))
    fleet = fleet_factory(pg_url, broker.url, 1)
    host = Proc("host_proc.py", *args, "--die-after-charge")
    try:
        host.wait_for("ready")
        fleet.start()
        fleet.shop(4, random.Random(4))
        cart = fleet.carts[0]
        answer: list[m.Receipt | m.CheckoutRefused] = []
        waiter = threading.Thread(target=lambda: answer.append(cart.checkout(60)))
        waiter.start()
        host.wait_for("charged")
        assert host.p.wait(10) == -signal.SIGKILL
        assert charges(pg_url) == (1, 1) and not answer  # charged, and the cart has not heard
        # The same worker id comes back: its broker session still holds the un-PUBACKed
        # checkout, which is answered again from the stored receipt (the cart retries too).
        host = Proc("host_proc.py", *args)
        host.wait_for("ready")
        waiter.join(60)
    finally:
        host.stop()
    assert answer and isinstance(answer[0], m.Receipt), answer
    assert answer[0].total_minor == price(fleet.bought[cart.cart_id])
    assert fleet.staff.balance_minor(fleet.customers[cart.cart_id]) == BALANCE - price(
        fleet.bought[cart.cart_id]
    )
    assert_clean(pg_url, fleet, receipts=1, fault="kill -9 host between charge and receipt")


def test_postgres_restarted_under_load(
    pg_url: str,
    private_pg: PrivatePostgres,
    broker: PrivateMosquitto,
    keyring_path: Path,
    fleet_factory,
) -> None:
    rng = random.Random(5)
    with HostWorker(host_settings(pg_url, broker.url), keyring=KeyringFile(keyring_path)):
        fleet = fleet_factory(pg_url, broker.url, 4)
        fleet.start(resend_after_s=3.0)
        stop = threading.Event()
        shoppers = [
            threading.Thread(target=keep_shopping, args=(fleet, cart, stop, random.Random(i)))
            for i, cart in enumerate(fleet.carts)
        ]
        for t in shoppers:
            t.start()
        time.sleep(1.5)
        private_pg.restart(mode="immediate", down_s=1.0)  # a crash: WAL recovery on start
        time.sleep(1.5)
        stop.set()
        for t in shoppers:
            t.join(10)
        fleet.shop(1, rng)
        fleet.checkout_all(timeout_s=60)
    assert_clean(pg_url, fleet, receipts=4, fault="PostgreSQL crash-restart under load")


def keep_shopping(fleet: Fleet, cart: SimCart, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        sku = rng.choice(SKUS)
        cart.add(sku)
        fleet.bought[cart.cart_id].append(sku)
        time.sleep(0.1)  # ten items a second per cart: a rush, well above real shopping


def test_two_host_workers_share_the_carts_and_one_is_killed(
    pg_url: str, broker: PrivateMosquitto, keyring_path: Path, fleet_factory
) -> None:
    workers: list[Proc] = []
    try:
        # Both at once on the empty database: their migrations take turns on an advisory lock.
        for i in (1, 2):
            worker_id = f"host-{i}-{uuid.uuid4().hex[:4]}"
            workers.append(Proc("host_proc.py", pg_url, broker.url, worker_id, str(keyring_path)))
        for w in workers:
            w.wait_for("ready")
        fleet = fleet_factory(pg_url, broker.url, 4)
        fleet.start(resend_after_s=2.0)
        stop = threading.Event()
        shoppers = [
            threading.Thread(target=keep_shopping, args=(fleet, cart, stop, random.Random(i)))
            for i, cart in enumerate(fleet.carts)
        ]
        for t in shoppers:
            t.start()
        time.sleep(2.0)
        workers[0].kill9()  # mid-batch: its unacknowledged messages are resent by the carts
        time.sleep(1.5)
        stop.set()
        for t in shoppers:
            t.join(10)
        fleet.checkout_all(timeout_s=60)
    finally:
        for w in workers:
            w.stop()
    assert_clean(pg_url, fleet, receipts=4, fault="two host workers, one kill -9")
