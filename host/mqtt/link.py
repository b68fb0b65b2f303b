"""``MqttLink``: the host worker's connection to the broker (paho-mqtt 2.x, callback API v2).

What it does and why:
- **Callbacks only hand work over.** ``on_message`` puts ``Inbound(topic, payload, mid, qos)`` on
  a bounded queue and returns; paho's network thread never waits on the database.
- **Acknowledged after commit.** The client runs with ``manual_ack``: the broker's PUBACK for a
  cart message is sent by ``ack(inbound)`` only after the worker committed it. A worker that
  dies mid-batch loses nothing: the carts resend every event the host has not acknowledged at
  application level, and retry checkout.
- **MQTT 5 where the broker has it.** A probe connection asks for MQTT 5; if the broker takes
  it, the worker subscribes with ``$share/<group>/...`` so several workers split the carts; a
  broker that refuses (the embedded amqtt) gets MQTT 3.1.1 and plain subscriptions. Either
  way the database decides what is applied, so duplicates between workers are harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel

from host.errors import HostError
from smartcart.contract import encode, topics
from smartcart.mqtt_socket import no_delay

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 10.0
_RECEIVE_MAXIMUM = 65_535  # the MQTT 5 maximum


class LinkError(HostError):
    """Could not connect or subscribe to the broker."""


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttLink:
    def __init__(
        self,
        broker_url: str,
        client_id: str,
        inbox: queue.Queue[Inbound],
        *,
        shared: bool | None = None,
        share_group: str = topics.SHARE_GROUP,
        keepalive_s: int = 30,
        session_expiry_s: int = 0,
    ) -> None:
        parts = urlsplit(broker_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 1883
        self._user, self._password = parts.username, parts.password
        self._client_id = client_id
        self._inbox = inbox
        self._shared_wanted = shared
        self._share_group = share_group
        self._keepalive_s = keepalive_s
        self._session_expiry_s = session_expiry_s
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._connect_rc: ReasonCode | None = None
        self.protocol: MQTTProtocolVersion | None = None

    @property
    def shared(self) -> bool:
        return self.protocol == MQTTProtocolVersion.MQTTv5 and self._shared_wanted is not False

    def start(self) -> None:
        v5 = self._speaks_v5() if self._shared_wanted is None else self._shared_wanted
        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        rc = self._connect(protocol)
        if rc is None or rc.is_failure:
            self._teardown()
            raise LinkError(f"mqtt://{self._host}:{self._port} refused {protocol.name}: {rc}")
        self.protocol = protocol
        log.info("mqtt %s:%d: %s, shared=%s", self._host, self._port, protocol.name, self.shared)

    def _speaks_v5(self) -> bool:
        """Probe with a bare MQTT 5 CONNECT (no properties, clean start, its own client id).

        amqtt refuses a bare one at once; a CONNECT with properties it misparses and stalls on,
        which is why the real connection does not double as the probe.
        """
        answered = threading.Event()
        accepted: list[bool] = []

        def on_connect(*args: object) -> None:
            rc = args[3]
            accepted.append(isinstance(rc, ReasonCode) and not rc.is_failure)
            answered.set()

        probe = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self._client_id}-probe",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self._user:
            probe.username_pw_set(self._user, self._password)
        probe.on_connect = on_connect
        probe.on_disconnect = lambda *_a: answered.set()
        try:
            probe.connect(self._host, self._port, self._keepalive_s)
        except OSError as e:
            raise LinkError(f"cannot reach mqtt://{self._host}:{self._port}: {e}") from e
        # Drive the probe's network loop on this thread: no loop thread to start and join.
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        while not answered.is_set() and time.monotonic() < deadline:
            probe.loop(0.05)
        probe.disconnect()
        return bool(accepted and accepted[0])

    def _connect(self, protocol: MQTTProtocolVersion) -> ReasonCode | None:
        v5 = protocol == MQTTProtocolVersion.MQTTv5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=protocol,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self._user:
            client.username_pw_set(self._user, self._password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_socket_open = no_delay
        # Replies to carts are QoS 1; let many be in flight so acks never wait on a round trip.
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self._session_expiry_s
            # PUBACKs wait for the batch's commit, so the broker must let a batch's worth of
            # messages be unacknowledged at once. Mosquitto caps an MQTT 5 client at its own
            # max_inflight_messages (20) unless the client states a Receive Maximum.
            props.ReceiveMaximum = _RECEIVE_MAXIMUM
        self._connected.clear()
        self._connect_rc = None
        self._client = client
        try:
            if v5:
                client.connect(
                    self._host, self._port, self._keepalive_s, clean_start=False, properties=props
                )
            else:
                client.connect(self._host, self._port, self._keepalive_s)
        except OSError as e:
            raise LinkError(f"cannot reach mqtt://{self._host}:{self._port}: {e}") from e
        client.loop_start()
        self._connected.wait(_CONNECT_TIMEOUT_S)
        return self._connect_rc

    def _teardown(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    # paho callbacks: run on paho's thread; they only record and enqueue.

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        rc: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._connect_rc = rc
        if not rc.is_failure:
            # (Re)subscribe on every connect: a broker that lost our session lost these too.
            shared = (
                client.protocol == MQTTProtocolVersion.MQTTv5 and self._shared_wanted is not False
            )
            client.subscribe([(self._filter(ch, shared), topics.QOS) for ch in topics.CART_TO_HOST])
        self._connected.set()

    def _filter(self, channel: topics.Channel, shared: bool) -> str:
        plain = topics.subscription(channel)
        return f"$share/{self._share_group}/{plain}" if shared else plain

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        rc: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if rc.is_failure:
            log.warning("mqtt disconnected (%s); paho reconnects", rc)
        self._connected.set()  # a hang-up before CONNACK ends start()'s wait too

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos))

    # used by the worker thread

    def ack(self, inbound: Inbound) -> None:
        """PUBACK a message the worker has committed (or dead-lettered)."""
        if self._client is not None and inbound.qos > 0:
            self._client.ack(inbound.mid, inbound.qos)

    def publish(self, cart_id: str, message: BaseModel) -> mqtt.MQTTMessageInfo:
        if self._client is None:
            raise LinkError("not connected")
        return self._client.publish(
            topics.topic(cart_id, topics.Channel.HOST), encode(message), qos=topics.QOS
        )
