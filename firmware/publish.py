"""Publishing a replay's changes to a broker as the live cart would (``replay --publish``).

The same path as ``run``: each change goes into the durable outbox, then ``CartLink`` drains it
over MQTT to the host. The host must open a shopping session for the cart (staff or kiosk
``start_session``); the publisher waits for it, and at the end waits until the host has
acknowledged every event before it disconnects. Used for end-to-end demos and soak tests on
recorded feeds; a pure replay (the default) sends nothing.
"""

from __future__ import annotations

from types import TracebackType

from firmware.basket.changes import BasketChange
from firmware.config import CartConfig
from firmware.errors import FirmwareError


class LivePublisher:
    def __init__(self, cfg: CartConfig, wait_s: float = 30.0) -> None:
        from firmware.link.mqtt import CartLink
        from firmware.link.outbox import Outbox

        cfg.broker.outbox_path.parent.mkdir(parents=True, exist_ok=True)
        self._outbox = Outbox(cfg.broker.outbox_path, cfg.cart_id)
        link_cfg = cfg.broker.link_config(cfg.cart_id)
        self._link = CartLink(link_cfg, self._outbox)
        self._wait_s = wait_s
        self.submitted = 0

    def __enter__(self) -> LivePublisher:
        self._link.start()
        if not self._link.wait_ready(self._wait_s):
            self._close()
            raise FirmwareError(f"no connection to the broker in {self._wait_s:.0f} s")
        self._link.wait_session(self._wait_s)  # raises NoSession (a FirmwareError) in time
        return self

    def submit(self, change: BasketChange) -> None:
        self._link.submit(change)
        self.submitted += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and not self._link.wait_acked(self._wait_s):
                raise FirmwareError(f"the host did not acknowledge every event in {self._wait_s} s")
        finally:
            self._close()

    def _close(self) -> None:
        self._link.stop()
        self._outbox.close()
