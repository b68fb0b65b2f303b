"""sd_notify for the cart service, without a C library: ``READY=1``, ``STATUS=``, ``WATCHDOG=1``.

The cart unit is ``Type=notify`` with ``WatchdogSec=``: systemd waits for ``READY=1`` before
it counts the service as started (the fleet health check relies on that), and kills and
restarts it when no ``WATCHDOG=1`` arrives within the interval. The protocol is one datagram
to the AF_UNIX socket named in ``$NOTIFY_SOCKET`` ("@" means Linux's abstract namespace).

Usage in the live loop::

    notifier = Notifier.from_env()
    notifier.ready("camera, scale and models open")
    while running:
        process(frame)
        notifier.heartbeat(time.monotonic())  # sends WATCHDOG=1 at most every half interval

Kick the watchdog from the frame loop, not from a side thread: a thread would keep a hung
pipeline "alive". Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(slots=True)
class Notifier:
    socket_path: str | None
    watchdog_interval_s: float | None  # half of WatchdogSec, the interval systemd recommends
    _last_kick_s: float | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Notifier:
        usec = env.get("WATCHDOG_USEC")
        # WATCHDOG_PID names the process the watchdog is meant for; another process ignores it.
        for_us = env.get("WATCHDOG_PID") in (None, str(os.getpid()))
        interval_s = int(usec) / 2e6 if usec and for_us else None
        return cls(env.get("NOTIFY_SOCKET"), interval_s)

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines; False when not running under systemd."""
        if not self.socket_path:
            return False
        address = self.socket_path
        if address.startswith("@"):
            address = "\0" + address[1:]
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(assignments).encode("utf-8"))
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def heartbeat(self, now_s: float) -> bool:
        """``WATCHDOG=1`` if half the watchdog interval passed since the last one."""
        if self.watchdog_interval_s is None:
            return False
        if self._last_kick_s is not None and now_s - self._last_kick_s < self.watchdog_interval_s:
            return False
        self._last_kick_s = now_s
        return self.notify("WATCHDOG=1")
