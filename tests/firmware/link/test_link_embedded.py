"""The link against the embedded broker (always available): a broker restart mid-trip, and a
cart killed with SIGKILL mid-trip that resumes from its outbox and is charged exactly once for
exactly the trip by the real host; checkout retries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from linkkit import AckingHost, unique_cart, wait_until
from sqlalchemy import select

from firmware.basket.changes import BasketChange
from firmware.link.errors import LinkError, NoSession
from firmware.link.mqtt import CartLink, LinkConfig
from firmware.link.outbox import Outbox
from host.broker import EmbeddedBroker
from host.db.models import AppliedEvent
from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.catalog import Pricing, default_catalog
from smartcart.contract import messages as m

CART_PROCESS = Path(__file__).with_name("cart_process.py")
TRIP = [
    {"t": 1.0, "type": "add", "sku": "arla-standard-milk", "grams": 1043},
    {"t": 2.0, "type": "add", "sku": "banana", "grams": 131},
    {"t": 3.0, "type": "add", "sku": "kiwi", "grams": 91},
    {"t": 4.0, "type": "add", "sku": "banana", "grams": 127},
    {"t": 5.0, "type": "remove", "sku": "kiwi", "grams": 90},
    {"t": 6.0, "type": "add", "sku": "vine-tomato", "grams": 512},
    {"t": 7.0, "type": "add", "sku": "avocado", "grams": 204},
    {"t": 8.0, "type": "add", "sku": "garlic", "grams": 52},
]


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


def add(sku: str, grams: int | None = None) -> BasketChange:
    return BasketChange("add", datetime.now(UTC), t_s=0.0, sku=sku, grams=grams)


def trip_total() -> int:
    """The trip priced straight from the catalog (no removes of per-kg items in TRIP)."""
    catalog, qty, grams = default_catalog(), {}, {}
    for step in TRIP:
        sign = 1 if step["type"] == "add" else -1
        qty[step["sku"]] = qty.get(step["sku"], 0) + sign
        grams[step["sku"]] = grams.get(step["sku"], 0) + sign * step["grams"]
    return sum(
        catalog[s].price_for(n, grams[s] if catalog[s].pricing is Pricing.PER_KG else None)
        for s, n in qty.items()
        if n
    )


@pytest.mark.slow
def test_broker_restart_mid_trip_loses_nothing(tmp_path: Path) -> None:
    cart = unique_cart()
    broker = EmbeddedBroker().start()
    port = broker.port
    host = AckingHost(broker.url, cart)
    cfg = LinkConfig(cart_id=cart, broker_url=broker.url, keepalive_s=5, reconnect_max_s=2)
    try:
        with Outbox(tmp_path / "outbox.sqlite", cart) as outbox, CartLink(cfg, outbox) as link:
            assert link.wait_ready(10)
            host.start_session()
            link.wait_session(10)
            sent = [link.submit(add("banana", 131)), link.submit(add("kiwi"))]
            assert link.wait_acked(10)

            # The broker dies and forgets everything (amqtt keeps sessions in memory).
            broker.stop()
            wait_until(lambda: not link.connected, 10, "the cart to notice")
            sent += [link.submit(add("lemon")), link.submit(add("banana", 118))]
            broker = EmbeddedBroker(port=port).start()
            assert link.wait_ready(15)
            assert link.wait_acked(15)
    finally:
        host.close()
        broker.stop()
    assert host.applied == {e.seq: e for e in sent}
    assert {e.event_id for e in host.received} == {e.event_id for e in sent}


def test_checkout_retries_with_one_request_id_until_answered(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    # On the embedded broker: on a shared Mosquitto another developer's host could answer.
    cart = unique_cart()
    host = AckingHost(broker.url, cart)
    host.ignore_checkouts = 2  # the host misses the first two requests
    cfg = LinkConfig(cart_id=cart, broker_url=broker.url, checkout_retry_s=0.2)
    with Outbox(tmp_path / "outbox.sqlite", cart) as outbox, CartLink(cfg, outbox) as link:
        assert link.wait_ready(10)
        session = host.start_session()
        link.wait_session(10)
        link.submit(add("kiwi"))
        answer = link.checkout(timeout_s=15)
        assert isinstance(answer, m.Receipt) and answer.session_id == session
        assert link.session_id is None  # the receipt closed the session
        assert outbox.session_events(session) == []
    host.close()
    assert len(host.checkouts) == 3
    assert len({c.request_id for c in host.checkouts}) == 1
    assert host.checkouts[0].last_seq == 1


def spawn(broker: EmbeddedBroker, outbox: Path, cart: str, trip: Path, *flags: str):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    return subprocess.Popen(
        [sys.executable, str(CART_PROCESS), broker.url, str(outbox), cart, str(trip), *flags],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def read_line(proc: subprocess.Popen, prefix: str) -> str:
    assert proc.stdout is not None
    while line := proc.stdout.readline():
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"cart process ended before printing {prefix!r}")


@pytest.mark.slow
def test_cart_killed_mid_trip_is_charged_once_for_exactly_the_trip(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    cart = unique_cart()
    trip = tmp_path / "trip.jsonl"
    trip.write_text("".join(json.dumps(s) + "\n" for s in TRIP))
    outbox = tmp_path / "outbox.sqlite"
    settings = HostSettings(
        database_url=f"sqlite:///{tmp_path / 'host.db'}",
        broker_url=broker.url,
        shared_subscription=False,
    )
    with HostWorker(settings) as host:
        customer = host.create_customer("Kim", top_up_minor=20_000)

        first = spawn(broker, outbox, cart, trip)
        read_line(first, "ready")
        session = host.start_session(cart, customer)
        minted = dict(event_line(read_line(first, "event")) for _ in range(4))
        first.send_signal(signal.SIGKILL)  # power cut mid-trip
        rest, _ = first.communicate()
        minted |= dict(event_line(ln) for ln in rest.splitlines() if ln.startswith("event"))

        second = spawn(broker, outbox, cart, trip, "--checkout")
        out, _ = second.communicate(timeout=60)
        minted |= dict(event_line(ln) for ln in out.splitlines() if ln.startswith("event"))
        [receipt] = [ln for ln in out.splitlines() if ln.startswith("receipt")]
        total = int(receipt.split()[1])
        assert total == trip_total()
        assert host.balance_minor(customer) == 20_000 - total  # charged once, exactly the trip
        with host.engine.connect() as con:
            applied = dict(
                con.execute(
                    select(AppliedEvent.seq, AppliedEvent.event_id).where(
                        AppliedEvent.session_id == session
                    )
                ).all()
            )
    assert sorted(applied) == list(range(1, len(TRIP) + 1))  # every step applied, once
    assert {seq: applied[seq] for seq in minted} == minted  # under the ids the cart minted


def event_line(line: str) -> tuple[int, str]:
    _, seq, event_id = line.split()
    return int(seq), event_id


def test_a_broken_outbox_stops_the_link_loudly(broker: EmbeddedBroker, tmp_path: Path) -> None:
    cart = unique_cart()
    outbox = Outbox(tmp_path / "outbox.sqlite", cart)
    link = CartLink(LinkConfig(cart_id=cart, broker_url=broker.url), outbox).start()
    try:
        assert link.wait_ready(10)
        outbox.close()  # the SD card is gone: the worker's next read fails

        def refused_as_broken() -> bool:
            try:
                link.submit(add("kiwi"))
            except NoSession:
                return False  # the worker has not noticed yet
            except LinkError as e:
                return "stopped" in str(e)
            return False

        wait_until(refused_as_broken, 10, "submit to report the stopped worker")
    finally:
        link.stop()
