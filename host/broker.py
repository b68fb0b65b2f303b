"""``EmbeddedBroker``: an amqtt MQTT 3.1.1 broker in a background thread, for the demo and tests.

amqtt is asyncio; the host and the cart use paho (threads). So the broker gets its own thread
running its own event loop, and ``start()`` blocks until the listener is bound. It binds port 0
and reads the port the OS chose back from the listening socket, so it never races another
process for a "free" port and runs beside a Mosquitto already on 1883.

It is not a production broker: anonymous, in memory, no ACLs, MQTT 3.1.1 only (no shared
subscriptions). Production uses Mosquitto (``deploy/mosquitto/``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from types import TracebackType
from typing import Any

from host.errors import BrokerError

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 10.0


class EmbeddedBroker:
    """``with EmbeddedBroker() as b: connect to b.url``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise BrokerError("the embedded broker is not running")
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        if self._thread is not None:
            raise BrokerError("already started")
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise BrokerError(f"amqtt did not start within {_START_TIMEOUT_S:.0f} s")
        if self._error is not None:
            raise BrokerError(f"amqtt failed to start: {self._error}") from self._error
        log.info("embedded broker listening on %s", self.url)
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None or self._stopped is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(_START_TIMEOUT_S)
        self._thread = None
        self.port = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # surfaced to start(); the thread must not die silently
            self._error = e
            self._ready.set()

    async def _serve(self) -> None:
        # Imported here: amqtt is a host-only dependency and slow to import.
        from amqtt.broker import Broker  # type: ignore[import-untyped]

        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_quiet_disconnects)
        logging.getLogger("amqtt.broker").addFilter(_quiet_probes)
        self._stopped = asyncio.Event()
        broker = Broker(
            {
                "listeners": {
                    "default": {"type": "tcp", "bind": f"{self.host}:{self._requested_port}"}
                },
                # Only anonymous auth: the default plugin set also logs every packet and
                # publishes $SYS topics, which costs CPU and noise for nothing here.
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await broker.start()
        try:
            # amqtt keeps its asyncio.Server on a private attribute; reading the bound port back
            # is the only race-free way to use port 0.
            server = broker._servers["default"].instance
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopped.wait()
        finally:
            await broker.shutdown()


def _quiet_disconnects(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # amqtt lets a client's hang-up escape its connection handler (e.g. when a client probes
    # with MQTT 5 and gives up); that is routine here, not an error worth a traceback.
    if isinstance(context.get("exception"), OSError):
        log.debug("client connection ended: %s", context.get("exception"))
        return
    loop.default_exception_handler(context)


def _quiet_probes(record: logging.LogRecord) -> bool:
    # The host worker probes for MQTT 5 and amqtt, which speaks 3.1.1 only, warns about each
    # probe; the refusal is the expected answer, so those two lines are dropped.
    msg = record.getMessage()
    return not ("Invalid connection from" in msg or "Invalid protocol from" in msg)
