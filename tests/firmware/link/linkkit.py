"""Test-only stand-ins around a real broker: a minimal acking host and a cuttable TCP path.

``AckingHost`` plays the checkout host's delivery duties only (apply in seq order, acknowledge
the highest contiguous seq, answer checkouts when told to); it is what the link tests talk to,
not a substitute for ``host/`` in the end-to-end demo test. ``Netcut`` sits between the cart
and the broker and can drop every connection and refuse new ones, like a store's Wi-Fi dying.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from smartcart.contract import decode, encode
from smartcart.contract import messages as m
from smartcart.contract.topics import Channel, topic


def unique_cart() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def wait_until(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


class AckingHost:
    """Subscribes to one cart's events and checkouts; acks what it applied in seq order."""

    def __init__(self, broker_url: str, cart_id: str) -> None:
        self.cart_id = cart_id
        self.received: list[m.CartEvent] = []  # every delivery, duplicates included
        self.applied: dict[int, m.CartEvent] = {}  # seq -> event, applied once, in order
        self.checkouts: list[m.CheckoutRequest] = []
        self.acking = True
        self.ignore_checkouts = 0  # answer only after this many requests went unanswered
        self._lock = threading.Lock()
        parts = urlsplit(broker_url)
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"acker-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 2)
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        self._client.connect_async(parts.hostname or "", parts.port or 1883, keepalive=10)
        self._client.loop_start()
        assert self._subscribed.wait(10), "acking host could not subscribe"

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def applied_seq(self) -> int:
        with self._lock:
            return max(self.applied, default=0)

    def send(self, msg: m.SessionStarted | m.Ack | m.Receipt | m.CheckoutRefused) -> None:
        self._client.publish(topic(self.cart_id, Channel.HOST), encode(msg), qos=1)

    def start_session(self) -> str:
        session_id = str(uuid.uuid4())
        self.send(
            m.SessionStarted(
                cart_id=self.cart_id,
                session_id=session_id,
                started_at=datetime.now(UTC),
                customer_name="Test Shopper",
                acked_seq=self.applied_seq,
            )
        )
        return session_id

    def _on_connect(self, client: paho.Client, *_: object) -> None:
        client.subscribe(
            [(topic(self.cart_id, Channel.EVENTS), 1), (topic(self.cart_id, Channel.CHECKOUT), 1)]
        )

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        # Test-only: answering inside the callback is fine here, nothing waits on the client.
        if msg.topic.endswith("/checkout"):
            self._on_checkout(decode(Channel.CHECKOUT, msg.payload))
            return
        event: m.CartEvent = decode(Channel.EVENTS, msg.payload, cart_id=self.cart_id)
        with self._lock:
            self.received.append(event)
            if not self.acking:
                return
            if event.seq == max(self.applied, default=0) + 1:
                self.applied[event.seq] = event
            acked = max(self.applied, default=0)
        self.send(m.Ack(cart_id=self.cart_id, acked_seq=acked))

    def _on_checkout(self, request: m.CheckoutRequest) -> None:
        with self._lock:
            self.checkouts.append(request)
            if len(self.checkouts) <= self.ignore_checkouts:
                return
        self.send(self.receipt(request.session_id, request.request_id))

    def receipt(self, session_id: str, request_id: str) -> m.Receipt:
        return m.Receipt(
            cart_id=self.cart_id,
            session_id=session_id,
            request_id=request_id,
            receipt_id=str(uuid.uuid4()),
            lines=(),
            total_minor=0,
            currency="SEK",
            balance_minor=0,
            charged_at=datetime.now(UTC),
        )


class Netcut:
    """A TCP forwarder to ``upstream``; ``cut()`` drops all connections and refuses new ones
    until ``restore()``."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 1883)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._up = True
        self.refused = 0  # connection attempts turned away while cut
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._up = False
            socks, self._socks = self._socks, set()
        for s in socks:
            _close(s)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self.cut()
        _close(self._server)

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                if not self._up:
                    self.refused += 1
                    _close(down)
                    continue
                up = socket.create_connection(self._upstream)
                self._socks |= {down, up}
            threading.Thread(target=self._pipe, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pipe, args=(up, down), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass  # the other direction closed it, or cut() did
        _close(src)
        _close(dst)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already disconnected
        s.shutdown(socket.SHUT_RDWR)
    s.close()
