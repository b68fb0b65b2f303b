"""CartLink against a real broker: events arrive in order, acknowledgements prune the outbox,
a network cut or broker restart mid-trip loses nothing and resends the same event ids, the last
will marks the cart offline."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from linkkit import AckingHost, Netcut, unique_cart, wait_until
from paho.mqtt.enums import CallbackAPIVersion

from firmware.basket.changes import BasketChange
from firmware.link.errors import NoSession
from firmware.link.mqtt import BrokerAddress, CartLink, LinkConfig
from firmware.link.outbox import Outbox
from smartcart.contract import decode
from smartcart.contract import messages as m
from smartcart.contract.topics import Channel, topic

pytestmark = pytest.mark.mosquitto

OFFLINE_S = 8.0  # how long the network cut lasts
TRIP = [("banana", 131), ("kiwi", None), ("lemon", None), ("banana", 118), ("mango", None)]


def add(sku: str, grams: int | None = None) -> BasketChange:
    return BasketChange("add", datetime.now(UTC), t_s=0.0, sku=sku, grams=grams)


@pytest.fixture
def cart() -> str:
    return unique_cart()


@pytest.fixture
def outbox(tmp_path: Path, cart: str) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.sqlite", cart) as ob:
        yield ob


@pytest.fixture
def host(mosquitto_url: str, cart: str) -> Iterator[AckingHost]:
    h = AckingHost(mosquitto_url, cart)
    yield h
    h.close()


@pytest.fixture
def netcut(mosquitto_url: str) -> Iterator[Netcut]:
    n = Netcut(mosquitto_url)
    yield n
    n.close()


def config(cart: str, url: str, **over: float) -> LinkConfig:
    """Test timings: a dead connection noticed in seconds, reconnects every 1-2 s."""
    base = LinkConfig(
        cart_id=cart, broker_url=url, keepalive_s=5, reconnect_min_s=1, reconnect_max_s=2
    )
    return replace(base, **over)


def retained(url: str, topic_name: str, channel: Channel) -> object:
    """The retained message on ``topic_name``, read by a fresh client."""
    got: list[bytes] = []
    done = threading.Event()

    def on_message(c: paho.Client, u: object, msg: paho.MQTTMessage) -> None:
        got.append(msg.payload)
        done.set()

    address = BrokerAddress.parse(url)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"peek-{uuid.uuid4().hex[:8]}")
    c.on_message = on_message
    c.on_connect = lambda c, *a: c.subscribe(topic_name, qos=1)
    c.connect(address.host, address.port)
    c.loop_start()
    try:
        assert done.wait(15), f"no retained message on {topic_name}"
    finally:
        c.disconnect()
        c.loop_stop()
    return decode(channel, got[0])


def test_broker_urls_parse() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1:1884") == BrokerAddress(
        "127.0.0.1", 1884, False, None, None
    )
    a = BrokerAddress.parse("mqtts://cart-0042:s%40cret@store.example")
    assert (a.port, a.tls, a.username, a.password) == (8883, True, "cart-0042", "s@cret")


def test_no_session_no_events(mosquitto_url: str, cart: str, outbox: Outbox) -> None:
    link = CartLink(config(cart, mosquitto_url), outbox)
    with pytest.raises(NoSession):
        link.submit(add("kiwi"))
    assert outbox.last_seq == 0


def test_events_arrive_in_order_and_acks_prune_the_outbox(
    mosquitto_url: str, cart: str, outbox: Outbox, host: AckingHost
) -> None:
    with CartLink(config(cart, mosquitto_url), outbox) as link:
        assert link.wait_ready(10)
        session = host.start_session()
        assert link.wait_session(10) == session
        sent = [link.submit(add(sku, g)) for sku, g in TRIP]
        assert link.wait_acked(10)
        assert [e.seq for e in sent] == [1, 2, 3, 4, 5]
        assert host.applied == {e.seq: e for e in sent}
        assert outbox.unacked() == []
        wait_until(lambda: link.stats.published >= 5, 15, "publish count")
        snap = retained(mosquitto_url, topic(cart, Channel.BASKET), Channel.BASKET)
        assert isinstance(snap, m.BasketSnapshot)
        assert snap.seq == 5 and snap.session_id == session
        assert {(ln.sku, ln.quantity, ln.grams) for ln in snap.lines} == {
            ("banana", 2, 249), ("kiwi", 1, None), ("lemon", 1, None), ("mango", 1, None)
        }  # fmt: skip
        status = retained(mosquitto_url, topic(cart, Channel.STATUS), Channel.STATUS)
        assert isinstance(status, m.CartStatus) and status.state == "online"
    status = retained(mosquitto_url, topic(cart, Channel.STATUS), Channel.STATUS)
    assert isinstance(status, m.CartStatus) and status.state == "offline"


@pytest.mark.slow
def test_network_cut_mid_trip_loses_nothing_and_resends_the_same_ids(
    mosquitto_url: str, cart: str, outbox: Outbox, host: AckingHost, netcut: Netcut
) -> None:
    with CartLink(config(cart, netcut.url), outbox) as link:
        assert link.wait_ready(10)
        host.start_session()
        link.wait_session(10)
        sent = [link.submit(add(sku, g)) for sku, g in TRIP[:2]]
        assert link.wait_acked(10)

        # The host stops acknowledging (it received but never committed), then Wi-Fi dies.
        host.acking = False
        sent.append(link.submit(add(*TRIP[2])))
        wait_until(lambda: len(host.received) == 3, 15, "the unacked event to reach the host")
        netcut.cut()
        wait_until(lambda: not link.connected, 10, "the cart to notice the cut")
        will = retained(mosquitto_url, topic(cart, Channel.STATUS), Channel.STATUS)
        assert isinstance(will, m.CartStatus) and will.state == "offline"

        # Shopping goes on offline for a while (the cart keeps retrying with backoff): the
        # outbox is the queue.
        for sku, g in TRIP[3:]:
            time.sleep(OFFLINE_S / 2)
            sent.append(link.submit(add(sku, g)))
        assert [e.seq for e in outbox.unacked()] == [3, 4, 5]
        assert netcut.refused >= 2  # it kept trying while the network was down
        host.acking = True
        netcut.restore()
        assert link.wait_ready(15)
        assert link.wait_acked(10)

    assert host.applied == {e.seq: e for e in sent}  # nothing lost, in order
    by_seq: dict[int, set[str]] = {}
    for e in host.received:
        by_seq.setdefault(e.seq, set()).add(e.event_id)
    assert by_seq == {e.seq: {e.event_id} for e in sent}  # resends carried the same ids
    assert [e.seq for e in host.received].count(3) >= 2  # seq 3 was resent after reconnect
    assert link.stats.connects >= 2 and link.stats.resent >= 1


@pytest.mark.slow
def test_unacked_events_are_resent_when_acks_stall_on_a_live_connection(
    mosquitto_url: str, cart: str, outbox: Outbox, host: AckingHost
) -> None:
    with CartLink(config(cart, mosquitto_url, resend_after_s=0.5), outbox) as link:
        assert link.wait_ready(10)
        host.start_session()
        link.wait_session(10)
        host.acking = False  # a host that restarted and lost what it had not committed
        event = link.submit(add("kiwi"))
        wait_until(lambda: len(host.received) >= 2, 10, "a resend")
        host.acking = True
        assert link.wait_acked(10)
    assert {e.event_id for e in host.received} == {event.event_id}


def test_a_restarted_cart_resends_from_its_outbox(
    mosquitto_url: str, cart: str, tmp_path: Path, host: AckingHost
) -> None:
    db = tmp_path / "outbox.sqlite"
    with Outbox(db, cart) as ob, CartLink(config(cart, mosquitto_url), ob) as link:
        assert link.wait_ready(10)
        session = host.start_session()
        link.wait_session(10)
        host.acking = False
        first = link.submit(add("banana", 131))
        wait_until(lambda: len(host.received) == 1, 15, "the first delivery")
    # "Power cut": a new process opens the same file; the basket and the session come back.
    host.acking = True
    with Outbox(db, cart) as ob, CartLink(config(cart, mosquitto_url), ob) as link:
        assert link.session_id == session
        assert link.basket is not None and link.basket.seq == 1
        assert link.wait_acked(10)
        second = link.submit(add("kiwi"))
        assert second.seq == 2
        assert link.wait_acked(10)
    assert host.applied == {1: first, 2: second}


def test_a_receipt_queued_while_the_cart_was_off_closes_its_session(
    mosquitto_url: str, cart: str, outbox: Outbox, host: AckingHost
) -> None:
    with CartLink(config(cart, mosquitto_url), outbox) as link:
        assert link.wait_ready(10)
        session = host.start_session()
        link.wait_session(10)
        link.submit(add("kiwi"))
        assert link.wait_acked(10)
        request_id = outbox.checkout_request_id()  # the cart asked, then lost power
    # The host charged and answered while the cart was off; the broker kept it for the cart.
    host.send(host.receipt(session, request_id))
    with CartLink(config(cart, mosquitto_url), outbox) as link:
        wait_until(lambda: link.session_id is None, 10, "the queued receipt to close the session")
    assert outbox.session_id is None and outbox.session_events(session) == []
