"""The shipped Mosquitto configuration, run for real: identity by certificate or password, and
ACLs that pin each cart to its own topics.

One private Mosquitto (deploy/mosquitto/smartcart-secure.conf, rendered onto spare ports) per
module, with a device CA and certificates issued by deploy/pki/pki.sh and a password file from
mosquitto_passwd. Every test runs over both listeners.
"""

from __future__ import annotations

import queue
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.basket.changes import BasketChange
from firmware.config import BrokerConfig
from firmware.link.mqtt import CartLink
from firmware.link.outbox import Outbox
from host.loadgen.services import (
    PKI_SCRIPT,
    MosquittoPorts,
    PrivateMosquitto,
    free_port,
    issue_pki,
    render_mosquitto_conf,
    wait_port,
)
from smartcart.contract import decode, encode
from smartcart.contract import messages as m
from smartcart.contract.topics import Channel, topic

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
    reason="mosquitto is not installed",
)

HOST = "smartcart-host"
A, B, REVOKED = "cart-0001", "cart-0002", "cart-0003"
ROOT = "smartcart/v1/carts"


@dataclass(frozen=True)
class Broker:
    ports: MosquittoPorts
    pki: Path
    passwords: dict[str, str]
    mosquitto: PrivateMosquitto


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    d = tmp_path_factory.mktemp("secure-broker")
    pki = issue_pki(d / "pki", [A, B, REVOKED, HOST])
    passwords = {name: uuid.uuid4().hex for name in (A, B, HOST)}
    passwd = d / "smartcart.passwd"
    for i, (name, pw) in enumerate(passwords.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *flags, "-b", str(passwd), name, pw], check=True)
    ports = MosquittoPorts(tls=free_port(), password=free_port())
    assert ports.tls is not None and ports.password is not None
    conf = render_mosquitto_conf(d, pki, ports)
    with PrivateMosquitto(d, conf, ports.tls) as mosq:
        wait_port(ports.password, 10)
        yield Broker(ports, pki, passwords, mosq)


class Client:
    """A paho client that records what it receives and what its subscriptions were granted."""

    def __init__(self, broker: Broker, name: str, auth: str, password: str | None = None) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.subacks: queue.Queue[list[paho.ReasonCode]] = queue.Queue()
        self.connack: queue.Queue[paho.ReasonCode] = queue.Queue()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}")
        if auth == "cert":
            c.tls_set(
                ca_certs=str(broker.pki / "ca.crt"),
                certfile=str(broker.pki / f"{name}.crt"),
                keyfile=str(broker.pki / f"{name}.key"),
                cert_reqs=ssl.CERT_REQUIRED,
            )
            port = broker.ports.tls
        else:
            c.username_pw_set(name, password if password is not None else broker.passwords[name])
            port = broker.ports.password
        c.on_connect = lambda _c, _u, _f, rc, _p: self.connack.put(rc)
        c.on_subscribe = lambda _c, _u, _mid, rcs, _p: self.subacks.put(rcs)
        c.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload))
        self.client = c
        assert port is not None
        c.connect("127.0.0.1", port, keepalive=10)
        c.loop_start()

    def connected(self) -> bool:
        return not self.connack.get(timeout=10).is_failure

    def subscribe(self, topic_filter: str) -> bool:
        """True if the broker granted the subscription."""
        self.client.subscribe(topic_filter, qos=1)
        return not self.subacks.get(timeout=10)[0].is_failure

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def received(self, until: bytes) -> list[tuple[str, bytes]]:
        """Everything received up to and including the message whose payload is ``until``."""
        out = []
        while True:
            topic, payload = self.messages.get(timeout=10)
            out.append((topic, payload))
            if payload == until:
                return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(params=["cert", "password"])
def auth(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clients(broker: Broker, auth: str) -> Iterator[dict[str, Client]]:
    made = {name: Client(broker, name, auth) for name in (HOST, A, B)}
    try:
        for c in made.values():
            assert c.connected()
        yield made
    finally:
        for c in made.values():
            c.close()


def test_a_cart_publishes_only_on_its_own_topics(clients: dict[str, Client]) -> None:
    host, a = clients[HOST], clients[A]
    assert host.subscribe(f"{ROOT}/+/+")  # events, basket, status, checkout of every cart
    for channel in ("events", "basket", "status", "checkout"):
        a.publish(f"{ROOT}/{B}/{channel}", b"spoofed")  # as cart B: dropped by the broker
        a.publish(f"{ROOT}/{A}/host", b"forged host message")  # to itself as the host: dropped
        a.publish(f"{ROOT}/{A}/{channel}", f"own {channel}".encode())
    got = host.received(until=b"own checkout")
    assert [p for _, p in got] == [b"own events", b"own basket", b"own status", b"own checkout"]
    assert all(t.startswith(f"{ROOT}/{A}/") for t, _ in got)


def test_a_cart_reads_only_its_own_host_topic(clients: dict[str, Client]) -> None:
    # Mosquitto's acl_file never refuses a SUBSCRIBE (SUBACK is granted); it refuses to
    # *deliver* what the ACL does not let the subscriber read. So: subscribe wide, then check
    # what actually arrives.
    host, a, b = clients[HOST], clients[A], clients[B]
    for f in (f"{ROOT}/{A}/host", f"{ROOT}/{B}/host", f"{ROOT}/+/host", "smartcart/#", "#"):
        a.subscribe(f)
    assert b.subscribe(f"{ROOT}/{B}/host")
    b.publish(f"{ROOT}/{B}/events", b"B's basket")  # not readable by A either
    host.publish(f"{ROOT}/{B}/host", b"receipt for B")
    host.publish(f"{ROOT}/{A}/host", b"ack for A")
    # Each matching subscription of A's own topic delivers once; nothing of B's ever arrives.
    got = a.received(until=b"ack for A")
    assert {t for t, _ in got} == {f"{ROOT}/{A}/host"}
    assert b.received(until=b"receipt for B") == [(f"{ROOT}/{B}/host", b"receipt for B")]


def test_the_host_account_cannot_speak_as_a_cart(clients: dict[str, Client]) -> None:
    host, a = clients[HOST], clients[A]
    assert a.subscribe(f"{ROOT}/{A}/host")
    assert host.subscribe(f"{ROOT}/+/events")
    host.publish(f"{ROOT}/{A}/events", b"host posing as cart A")  # dropped
    a.publish(f"{ROOT}/{A}/events", b"cart A itself")
    assert [p for _, p in host.received(until=b"cart A itself")] == [b"cart A itself"]


def tls_connects(broker: Broker, cert: Path, key: Path) -> bool:
    """Whether a client with this certificate ever gets a successful CONNACK."""
    connacks: queue.Queue[paho.ReasonCode] = queue.Queue()
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:6]}")
    c.tls_set(ca_certs=str(broker.pki / "ca.crt"), certfile=str(cert), keyfile=str(key))
    c.on_connect = lambda _c, _u, _f, rc, _p: connacks.put(rc)
    try:
        # Under TLS 1.3 the broker checks the client certificate after the client's side of
        # the handshake is done, so the refusal shows up as a hang-up, not a connect() error.
        c.connect("127.0.0.1", broker.ports.tls or 0, keepalive=5)
    except (ssl.SSLError, OSError):
        return False
    c.loop_start()
    try:
        return not connacks.get(timeout=3).is_failure
    except queue.Empty:
        return False
    finally:
        c.disconnect()
        c.loop_stop()


def test_a_wrong_password_is_refused(broker: Broker) -> None:
    c = Client(broker, A, "password", password="not-the-password")
    assert not c.connected()
    c.close()


def test_a_certificate_from_another_ca_is_refused(broker: Broker) -> None:
    assert tls_connects(broker, broker.pki / f"{A}.crt", broker.pki / f"{A}.key")
    # A client certificate from a CA the broker does not trust.
    rogue = issue_pki(broker.pki.parent / "rogue-pki", [A])
    assert not tls_connects(broker, rogue / f"{A}.crt", rogue / f"{A}.key")


def test_a_revoked_cart_certificate_is_refused(broker: Broker) -> None:
    cert, key = broker.pki / f"{REVOKED}.crt", broker.pki / f"{REVOKED}.key"
    assert tls_connects(broker, cert, key)
    subprocess.run([str(PKI_SCRIPT), "revoke", str(broker.pki), REVOKED], check=True)
    broker.mosquitto.restart()  # Mosquitto reads crlfile at start
    assert not tls_connects(broker, cert, key)


# ---- the cart's own link (CartLink) on the mTLS listener ----


def cart_link(broker: Broker, tmp: Path, cert: Path, key: Path) -> tuple[CartLink, Outbox]:
    """cart-0001's real link, configured as its cart.toml would (mqtts://, CA, cert, key)."""
    section = BrokerConfig(
        url=f"mqtts://127.0.0.1:{broker.ports.tls}",
        ca_file=broker.pki / "ca.crt",
        cert_file=cert,
        key_file=key,
    )
    outbox = Outbox(tmp / f"outbox-{uuid.uuid4().hex[:6]}.sqlite", A)
    options = {"reconnect_min_s": 1, "reconnect_max_s": 1}
    return CartLink(section.link_config(A, **options), outbox), outbox


def test_a_cart_link_connects_with_its_certificate_and_its_event_arrives(
    broker: Broker, tmp_path: Path
) -> None:
    host = Client(broker, HOST, "cert")
    assert host.connected() and host.subscribe(f"{ROOT}/+/events")
    link, outbox = cart_link(broker, tmp_path, broker.pki / f"{A}.crt", broker.pki / f"{A}.key")
    try:
        link.start()
        assert link.wait_ready(10)
        session_id = str(uuid.uuid4())
        started = m.SessionStarted(
            cart_id=A,
            session_id=session_id,
            started_at=datetime.now(UTC),
            customer_name="Ann",
            acked_seq=0,
        )
        host.publish(topic(A, Channel.HOST), encode(started))
        assert link.wait_session(10) == session_id
        sent = link.submit(BasketChange("add", datetime.now(UTC), t_s=0.0, sku="kiwi"))
        got_topic, payload = host.messages.get(timeout=10)
        assert got_topic == topic(A, Channel.EVENTS)
        assert decode(Channel.EVENTS, payload).event_id == sent.event_id
    finally:
        link.stop()
        outbox.close()
        host.close()


def test_a_cart_link_with_a_certificate_from_another_ca_is_refused(
    broker: Broker, tmp_path: Path
) -> None:
    rogue = issue_pki(tmp_path / "rogue-pki", [A])
    link, outbox = cart_link(broker, tmp_path, rogue / f"{A}.crt", rogue / f"{A}.key")
    try:
        link.start()
        assert not link.wait_ready(3)
        assert link.stats.connects == 0
    finally:
        link.stop()
        outbox.close()
