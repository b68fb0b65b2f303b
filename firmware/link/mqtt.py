"""``CartLink``: the cart's MQTT client, draining the durable outbox to the host.

Design
------
Two threads and one queue. paho's network thread (``loop_start``) runs the callbacks, and every
callback only puts a small signal on ``self._signals``; it never touches the outbox, never
publishes, never waits (paho deadlocks when a callback waits on the client). The link's own
worker thread takes signals off the queue, applies them, and then "pumps": publishes whatever
the outbox holds above what this connection has already sent, the retained basket snapshot when
the basket changed, and a due checkout retry.

Delivery: the outbox is the queue. Nothing is published while disconnected (paho's in-memory
queue would be lost with the process anyway); on every (re)connect the worker starts again from
the host's acknowledgement and resends everything unacknowledged, byte-identical, same event
ids. The host applies by (cart, seq) and event id, so a duplicate costs nothing and a loss is
impossible as long as the outbox file survives. If acknowledgements stop moving for
``resend_after_s`` while the connection stays up (the host restarted and lost its in-flight
messages), the worker resends too.

Connection: MQTT 3.1.1 (the embedded broker speaks nothing else), ``clean_session=False`` with
the cart id as client id so the broker queues host messages while the cart is away, QoS 1
everywhere, last will ``CartStatus(offline)`` retained, ``online`` retained on every connect,
reconnect with exponential backoff (paho's ``reconnect_delay_set``).

Signing: with a ``Signer`` in the outbox, events are signed there; the link signs the basket
snapshot and the checkout request with the same key (smartcart.contract.signing).

Host messages (``carts/{cart}/host``): ``Ack`` and ``SessionStarted.acked_seq`` acknowledge the
outbox; ``SessionStarted`` opens the session; ``Receipt`` closes it; ``Receipt`` and
``CheckoutRefused`` answer ``checkout()``. All of them are then handed to the optional
``on_message`` callback, called on the link's worker thread (keep it short: hand work on).
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from firmware.basket.changes import BasketChange
from firmware.link.basket import Basket
from firmware.link.config import BrokerAddress, LinkConfig, LinkStats
from firmware.link.errors import CheckoutTimeout, LinkError, NoSession
from firmware.link.outbox import Outbox
from smartcart.contract import ContractError, decode, encode
from smartcart.contract import messages as m
from smartcart.contract.topics import QOS, Channel, topic
from smartcart.mqtt_socket import no_delay

__all__ = ["BrokerAddress", "CartLink", "CheckoutAnswer", "HostMessage", "LinkConfig", "LinkStats"]

log = logging.getLogger(__name__)

HostMessage = m.SessionStarted | m.Ack | m.Receipt | m.CheckoutRefused
CheckoutAnswer = m.Receipt | m.CheckoutRefused

_IDLE_TICK_S = 0.25  # how often the worker looks at its timers when no signal arrives


# ---- signals from paho's thread (and the caller's) to the worker ----


@dataclass(frozen=True, slots=True)
class _Connected:
    session_present: bool


@dataclass(frozen=True, slots=True)
class _Disconnected:
    reason: str


@dataclass(frozen=True, slots=True)
class _Subscribed:
    mid: int


@dataclass(frozen=True, slots=True)
class _Inbound:
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Wake:
    """Something to pump: a new event, a checkout request."""


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Signal = _Connected | _Disconnected | _Subscribed | _Inbound | _Wake | _Stop


@dataclass(slots=True)
class _CheckoutAttempt:
    """The open checkout: worker-owned retry timing; ``answer`` set once the host replies."""

    request: m.CheckoutRequest
    next_try_t: float  # time.monotonic() of the next (re)send
    interval_s: float
    answer: CheckoutAnswer | None = None


class CartLink:
    """``with CartLink(config, outbox) as link: link.submit(change); link.checkout()``."""

    def __init__(
        self,
        config: LinkConfig,
        outbox: Outbox,
        on_message: Callable[[HostMessage], None] | None = None,
    ) -> None:
        if outbox.cart_id != config.cart_id:
            raise LinkError(f"outbox of {outbox.cart_id!r} given to the link of {config.cart_id!r}")
        self.config = config
        self.outbox = outbox
        self._on_message = on_message
        self._address = BrokerAddress.parse(config.broker_url)
        self._topics = {ch: topic(config.cart_id, ch) for ch in Channel}
        self._signals: queue.Queue[_Signal] = queue.Queue()
        self._worker: threading.Thread | None = None

        # Shared with callers (submit, checkout, properties): guarded by _cond.
        self._cond = threading.Condition()
        session = outbox.session_id
        self._basket: Basket | None = (
            None if session is None else Basket.replay(session, outbox.session_events(session))
        )
        self._checkout: _CheckoutAttempt | None = None
        self._ready = threading.Event()  # connected and subscribed to the host topic
        self._connects = self._published = self._resent = 0
        self._failure: Exception | None = None  # why the worker died, if it did

        # Worker-only state.
        self._connected = False
        self._sent_seq = 0  # highest seq published on this connection
        self._sent_high_water = 0  # highest seq ever published by this process (counts resends)
        self._snapshot_seq = -1  # basket seq of the snapshot published on this connection
        self._progress_t = time.monotonic()  # last time acknowledgements moved

        self._client = self._make_client()

    # ---- lifecycle ----

    def start(self) -> CartLink:
        if self._worker is not None:
            raise LinkError("already started")
        self._worker = threading.Thread(
            target=self._run, name=f"cartlink-{self.config.cart_id}", daemon=True
        )
        self._worker.start()
        # connect_async + loop_start: the first connection is retried with backoff like any
        # other, so a cart that boots before the store's Wi-Fi is up simply waits.
        self._client.connect_async(
            self._address.host, self._address.port, keepalive=self.config.keepalive_s
        )
        self._client.loop_start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Say ``offline`` (a clean disconnect does not fire the will), then disconnect."""
        if self._worker is None:
            return
        self._signals.put(_Stop())
        self._worker.join(timeout_s)
        self._worker = None
        if self._client.is_connected():
            info = self._client.publish(
                self._topics[Channel.STATUS], self._status("offline"), qos=QOS, retain=True
            )
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                info.wait_for_publish(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()
        self._ready.clear()

    def __enter__(self) -> CartLink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- the cart's side ----

    @property
    def session_id(self) -> str | None:
        with self._cond:
            return None if self._basket is None else self._basket.session_id

    @property
    def basket(self) -> Basket | None:
        with self._cond:
            return self._basket

    @property
    def stats(self) -> LinkStats:
        with self._cond:
            return LinkStats(self._connects, self._published, self._resent)

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def submit(self, change: BasketChange) -> m.CartEvent:
        """Store ``change`` durably in the outbox as the next event, then let the worker send it."""
        with self._cond:
            self._check_alive()
            if self._basket is None:
                raise NoSession(f"{self.config.cart_id}: no shopping session is open")
            event = self.outbox.append(change, self._basket.session_id)
            self._basket = self._basket.apply(event)
        self._signals.put(_Wake())
        return event

    def wait_ready(self, timeout_s: float) -> bool:
        """True once connected and subscribed to the host's messages."""
        return self._ready.wait(timeout_s)

    def wait_session(self, timeout_s: float) -> str:
        with self._cond:
            if not self._cond.wait_for(lambda: self._basket is not None, timeout_s):
                raise NoSession(f"no session started for {self.config.cart_id} in {timeout_s} s")
            assert self._basket is not None
            return self._basket.session_id

    def wait_acked(self, timeout_s: float) -> bool:
        """True once the host has acknowledged every event in the outbox."""
        with self._cond:
            return self._cond.wait_for(lambda: not self.outbox.has_unacked(), timeout_s)

    def checkout(self, timeout_s: float = 60.0) -> CheckoutAnswer:
        """Ask the host to charge the open session; retry with the same request id until it
        answers with a ``Receipt`` or a ``CheckoutRefused``.

        Waits first (within the timeout) for the host to acknowledge every event, since a
        checkout before that could only be refused as ``missing_events``.
        """
        deadline = time.monotonic() + timeout_s
        session = self.session_id
        if session is None:
            raise NoSession(f"{self.config.cart_id}: nothing to check out, no open session")
        self.wait_acked(timeout_s)
        events = self.outbox.session_events(session)
        request = m.CheckoutRequest(
            request_id=self.outbox.checkout_request_id(),  # minted once, reused by every retry
            cart_id=self.config.cart_id,
            session_id=session,
            last_seq=events[-1].seq if events else 0,
            requested_at=datetime.now(UTC),
        )
        if self.outbox.signer is not None:  # signed once: every retry is byte-identical
            request = self.outbox.signer.sign(request)
        with self._cond:
            attempt = _CheckoutAttempt(request, time.monotonic(), self.config.checkout_retry_s)
            self._checkout = attempt
        self._signals.put(_Wake())
        with self._cond:
            if not self._cond.wait_for(
                lambda: attempt.answer is not None or self._failure is not None,
                max(deadline - time.monotonic(), 0),
            ):
                raise CheckoutTimeout(
                    f"no answer to checkout {request.request_id} within {timeout_s} s"
                )
            self._check_alive()
            assert attempt.answer is not None
            return attempt.answer

    def _check_alive(self) -> None:
        if self._failure is not None:
            raise LinkError(f"{self.config.cart_id}: the link worker stopped") from self._failure

    # ---- paho callbacks: hand a signal to the worker, nothing else ----

    def _make_client(self) -> paho.Client:
        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.cart_id,
            clean_session=False,
            protocol=paho.MQTTv311,
        )
        username = self.config.username or self._address.username
        if username is not None:
            c.username_pw_set(username, self.config.password or self._address.password)
        if self._address.tls:
            # With cert_file the cart proves who it is by certificate (mTLS listener, the CN is
            # its MQTT username); the broker is always verified, against ca_file when given.
            c.tls_set(
                ca_certs=self.config.ca_file,
                certfile=self.config.cert_file,
                keyfile=self.config.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        c.will_set(self._topics[Channel.STATUS], self._status("offline"), qos=QOS, retain=True)
        c.reconnect_delay_set(self.config.reconnect_min_s, self.config.reconnect_max_s)
        c.on_socket_open = no_delay
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_paho_message
        return c

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused %s: %s", self.config.cart_id, reason)
            return
        self._signals.put(_Connected(flags.session_present))

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: object,
        reason: ReasonCode,
        properties: object,
    ) -> None:
        self._signals.put(_Disconnected(str(reason)))

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: object,
    ) -> None:
        self._signals.put(_Subscribed(mid))

    def _on_paho_message(
        self, client: paho.Client, userdata: object, msg: paho.MQTTMessage
    ) -> None:
        self._signals.put(_Inbound(msg.topic, bytes(msg.payload)))

    # ---- the worker ----

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:
            # A broken outbox (disk full, I/O error) stops delivery: logged here with its
            # traceback, and raised to every later submit()/checkout() as a LinkError.
            log.exception("%s: link worker stopped", self.config.cart_id)
            with self._cond:
                self._failure = e
                self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            try:
                signal = self._signals.get(timeout=_IDLE_TICK_S)
            except queue.Empty:
                signal = _Wake()
            if isinstance(signal, _Stop):
                return
            self._handle(signal)
            if self._connected:
                self._pump()

    def _handle(self, signal: _Signal) -> None:
        if isinstance(signal, _Connected):
            self._on_connected(signal.session_present)
        elif isinstance(signal, _Disconnected):
            log.info(
                "%s disconnected (%s); the outbox keeps everything",
                self.config.cart_id,
                signal.reason,
            )
            self._connected = False
            self._ready.clear()
        elif isinstance(signal, _Subscribed):
            self._ready.set()
        elif isinstance(signal, _Inbound):
            self._on_inbound(signal.topic, signal.payload)

    def _on_connected(self, session_present: bool) -> None:
        log.info("%s connected (broker session present: %s)", self.config.cart_id, session_present)
        with self._cond:
            self._connects += 1
        self._connected = True
        # Start over from the host's acknowledgement: every unacked event goes again, same ids.
        self._sent_seq = 0
        self._snapshot_seq = -1
        self._progress_t = time.monotonic()
        self._client.publish(
            self._topics[Channel.STATUS], self._status("online"), qos=QOS, retain=True
        )
        # Subscribing again is harmless with a present session and needed without one (an
        # in-memory broker that restarted forgot it).
        self._client.subscribe(self._topics[Channel.HOST], qos=QOS)
        with self._cond:
            if self._checkout is not None and self._checkout.answer is None:
                self._checkout.next_try_t = time.monotonic()

    def _on_inbound(self, topic_name: str, payload: bytes) -> None:
        if topic_name != self._topics[Channel.HOST]:
            log.warning("%s: ignored a message on %s", self.config.cart_id, topic_name)
            return
        try:
            msg: HostMessage = decode(Channel.HOST, payload, cart_id=self.config.cart_id)
        except ContractError as e:
            # Nothing on the cart can fix a bad host message; log it for the fleet dashboard.
            log.warning("%s: dropped a host message: %s", self.config.cart_id, e)
            return
        acked = isinstance(msg, m.Ack | m.SessionStarted) and self.outbox.acknowledge(msg.acked_seq)
        if acked:
            self._progress_t = time.monotonic()
        with self._cond:
            if isinstance(msg, m.SessionStarted):
                self._open_session(msg.session_id)
            elif isinstance(msg, m.Receipt | m.CheckoutRefused):
                self._answer(msg)
            self._cond.notify_all()
        if self._on_message is not None:
            try:
                self._on_message(msg)
            except Exception:  # the app's bug must not stop the link from delivering events
                log.exception("%s: on_message callback failed", self.config.cart_id)

    def _open_session(self, session_id: str) -> None:
        if self._basket is not None and self._basket.session_id == session_id:
            return  # the same SessionStarted again (redelivery)
        self.outbox.open_session(session_id)
        self._basket = Basket.replay(session_id, self.outbox.session_events(session_id))
        self._checkout = None

    def _answer(self, msg: CheckoutAnswer) -> None:
        attempt = self._checkout
        mine = attempt is not None and attempt.request.request_id == msg.request_id
        if mine:
            assert attempt is not None
            attempt.answer = msg
            self._checkout = None
        if isinstance(msg, m.Receipt):
            # A receipt for the open session closes it even when no checkout() waits for it:
            # the cart may have restarted after asking, with the receipt queued by the broker.
            if self._basket is not None and self._basket.session_id == msg.session_id:
                self.outbox.close_session()
                self._basket = None
            elif not mine:
                log.info("%s: receipt of an old session ignored", self.config.cart_id)
        elif mine:
            # Refused (unresolved items, no funds): the next attempt is a new request.
            self.outbox.forget_checkout_request()
        else:
            log.info("%s: refusal of an old checkout ignored", self.config.cart_id)

    def _pump(self) -> None:
        now = time.monotonic()
        acked = self.outbox.acked_seq
        # What the host acknowledged counts as sent: a reconnect starts again from there.
        outstanding = self._sent_seq > acked
        self._sent_seq = max(self._sent_seq, acked)
        if not outstanding:
            self._progress_t = now  # nothing in flight: the stall clock starts now
        elif now - self._progress_t > self.config.resend_after_s:
            log.info(
                "%s: no acknowledgement for %.0f s, resending from seq %d",
                self.config.cart_id,
                now - self._progress_t,
                acked + 1,
            )
            self._sent_seq = acked
            self._progress_t = now
        for stored in self.outbox.pending(above_seq=self._sent_seq):
            info = self._client.publish(self._topics[Channel.EVENTS], stored.payload, qos=QOS)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return  # the connection just dropped: the reconnect resends from the ack
            with self._cond:
                self._published += 1
                self._resent += stored.seq <= self._sent_high_water
            self._sent_seq = stored.seq
            self._sent_high_water = max(self._sent_high_water, stored.seq)
        self._publish_snapshot()
        self._publish_checkout(now)

    def _publish_snapshot(self) -> None:
        with self._cond:
            basket = self._basket
        # Never ahead of the events it sums up: the host may reconcile from a snapshot whose
        # seq it has not seen, and must not do so while those events are still on their way.
        if basket is None or basket.seq == self._snapshot_seq or basket.seq > self._sent_seq:
            return
        snapshot = basket.snapshot(self.config.cart_id, datetime.now(UTC))
        if self.outbox.signer is not None:
            snapshot = self.outbox.signer.sign(snapshot)
        info = self._client.publish(
            self._topics[Channel.BASKET], encode(snapshot), qos=QOS, retain=True
        )
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._snapshot_seq = basket.seq

    def _publish_checkout(self, now: float) -> None:
        with self._cond:
            attempt = self._checkout
            if attempt is None or attempt.answer is not None or now < attempt.next_try_t:
                return
            attempt.next_try_t = now + attempt.interval_s
            attempt.interval_s = min(attempt.interval_s * 2, self.config.resend_after_s)
        self._client.publish(self._topics[Channel.CHECKOUT], encode(attempt.request), qos=QOS)

    def _status(self, state: Literal["online", "offline"]) -> bytes:
        since = datetime.now(UTC) if state == "online" else None
        return encode(
            m.CartStatus(
                cart_id=self.config.cart_id,
                state=state,
                since=since,
                firmware=self.config.firmware,
            )
        )
