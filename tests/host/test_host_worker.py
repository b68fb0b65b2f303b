"""The host worker end to end through a real broker: Mosquitto and the embedded amqtt broker,
on SQLite and PostgreSQL. A paho client plays the cart."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from hostkit import CartScript, settings_for, wire
from sqlalchemy import func, select

from host.broker import EmbeddedBroker
from host.db.models import AppliedEvent, Cart, DeadLetter, PendingEvent
from host.worker import HostWorker
from smartcart.contract import decode, topics

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def embedded_url() -> Iterator[str]:
    with EmbeddedBroker() as broker:
        yield broker.url


@pytest.fixture(params=["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
def broker_url(request: pytest.FixtureRequest) -> str:
    fixture = "embedded_url" if request.param == "embedded" else "mosquitto_url"
    return str(request.getfixturevalue(fixture))


class FakeCart:
    """A bare paho client on the cart's topics (the real cart link is firmware's)."""

    def __init__(self, broker_url: str, cart_id: str) -> None:
        self.inbox: queue.Queue[object] = queue.Queue()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"{cart_id}-{uuid.uuid4().hex[:6]}"
        )
        self.client.on_message = lambda _c, _u, msg: self.inbox.put(
            decode(topics.Channel.HOST, msg.payload)
        )
        subscribed = mqtt.MQTTMessageInfo(0)
        self.client.on_subscribe = lambda *_a: subscribed.__setattr__("rc", 1)
        parts = urlsplit(broker_url)
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        self.client.subscribe(topics.topic(cart_id, topics.Channel.HOST), qos=1)
        deadline = time.monotonic() + 5
        while subscribed.rc != 1 and time.monotonic() < deadline:
            time.sleep(0.01)

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def send_all(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish in order without a round trip each; return once the broker has them all."""
        infos = [self.client.publish(t, p, qos=1) for t, p in messages]
        for info in infos:
            info.wait_for_publish(10)

    def next(self, type_: str, timeout_s: float = 15.0) -> object:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            msg = self.inbox.get(timeout=left)
            if getattr(msg, "type", None) == type_:
                return msg
        raise AssertionError(f"no {type_} within {timeout_s} s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def unique_cart() -> str:
    return f"cart-{uuid.uuid4().hex[:8]}"


def test_a_shopping_trip_through_the_broker(broker_url: str, db_url: str) -> None:
    cart_id = unique_cart()
    with HostWorker(settings_for(db_url, broker_url)) as host:
        fake = FakeCart(broker_url, cart_id)
        try:
            customer_id = host.create_customer("Alice", top_up_minor=20_000)
            session_id = host.start_session(cart_id, customer_id)
            started = fake.next("session_started")
            assert started.session_id == session_id and started.acked_seq == 0
            cart = CartScript(session_id, cart_id=cart_id)
            a, b, c = cart.add("avocado"), cart.add("golden-delicious", 750), cart.remove("avocado")
            # Out of order and duplicated, as a flaky link would deliver them.
            for ev in (c, a, a, b):
                fake.send(*wire(ev))
            request = cart.checkout()
            deadline = time.monotonic() + 15
            while (acked := fake.next("ack").acked_seq) < 3:
                assert time.monotonic() < deadline
            assert acked == 3
            fake.send(*wire(request))
            fake.send(*wire(request))  # a retry of the same checkout
            receipts = [fake.next("receipt"), fake.next("receipt")]
            assert {r.receipt_id for r in receipts} == {receipts[0].receipt_id}
            assert [(x.sku, x.grams, x.amount_minor) for x in receipts[0].lines] == [
                ("golden-delicious", 750, 2400)
            ]
            assert host.balance_minor(customer_id) == 20_000 - 2400
            with host.transaction() as s:
                assert s.scalar(select(func.count()).select_from(AppliedEvent)) == 3
        finally:
            fake.close()


def test_bad_messages_are_dead_lettered_and_the_worker_keeps_going(
    broker_url: str, tmp_path: object
) -> None:
    cart_id = unique_cart()
    db_url = f"sqlite:///{tmp_path}/host.db"
    with HostWorker(settings_for(db_url, broker_url)) as host:
        fake = FakeCart(broker_url, cart_id)
        try:
            session_id = host.start_session(cart_id, host.create_customer("Bob", 1000))
            cart = CartScript(session_id, cart_id=cart_id)
            events_topic = topics.topic(cart_id, topics.Channel.EVENTS)
            fake.send(events_topic, b"not json")
            fake.send(topics.topic(cart_id, topics.Channel.CHECKOUT), b'{"v": 1}')
            fake.send(*wire(cart.add("kiwi")))
            assert fake.next("ack").acked_seq == 1
            host.wait_idle(5)
            with host.transaction() as s:
                assert sorted(s.scalars(select(DeadLetter.reason))) == ["invalid", "not_json"]
        finally:
            fake.close()


@pytest.mark.mosquitto
@pytest.mark.postgres
def test_two_workers_sharing_the_carts_apply_each_event_once(
    mosquitto_url: str, pg_url: str
) -> None:
    """A shared subscription splits one cart's events between workers, out of order; the
    database (row locks, unique keys, held events) still applies each exactly once, in order."""
    first = settings_for(pg_url, mosquitto_url)
    second = first.model_copy(update={"worker_id": first.worker_id + "-b"})
    carts = [unique_cart() for _ in range(4)]
    with HostWorker(first) as a, HostWorker(second) as b:
        customer_id = a.create_customer("Alice", top_up_minor=10**7)
        scripts = [CartScript(a.start_session(c, customer_id), cart_id=c) for c in carts]
        fake = FakeCart(mosquitto_url, carts[0])
        try:
            fake.send_all([wire(cart.add("kiwi")) for _ in range(30) for cart in scripts])
            a.wait_idle(10)
            b.wait_idle(10)
        finally:
            fake.close()
        assert a.applied_events > 0 and b.applied_events > 0, "the broker did not share the load"
        with a.transaction() as s:
            assert s.scalar(select(func.count()).select_from(AppliedEvent)) == 120
            assert s.scalar(select(func.count()).select_from(PendingEvent)) == 0
            assert {c.applied_seq for c in s.scalars(select(Cart).where(Cart.id.in_(carts)))} == {
                30
            }


def test_a_bug_on_one_message_is_dead_lettered_and_the_rest_applied(
    embedded_url: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from host import stream
    from smartcart.contract import messages as m

    def broken(self: stream.Batch, st: m.CartStatus) -> None:
        raise RuntimeError("simulated bug in status handling")

    monkeypatch.setattr(stream.Batch, "status", broken)
    cart_id = unique_cart()
    with HostWorker(settings_for(f"sqlite:///{tmp_path}/host.db", embedded_url)) as host:
        fake = FakeCart(embedded_url, cart_id)
        try:
            cart = CartScript(
                host.start_session(cart_id, host.create_customer("Bob", 1000)), cart_id=cart_id
            )
            status = m.CartStatus(cart_id=cart_id, state="online")
            fake.send(
                topics.topic(cart_id, topics.Channel.STATUS), status.model_dump_json().encode()
            )
            fake.send(*wire(cart.add("kiwi")))
            assert fake.next("ack").acked_seq == 1
            host.wait_idle(5)
            with host.transaction() as s:
                letters = s.scalars(select(DeadLetter)).all()
            assert [(d.reason, d.detail) for d in letters] == [
                ("internal", "RuntimeError: simulated bug in status handling")
            ]
        finally:
            fake.close()
