"""``smartcart cart screen``: the cart's link and touchscreen without the camera pipeline.

For bringing up a kiosk, for store demos and for staff training: the cart connects to the
store (durable outbox, ``CartLink``), serves its screen on localhost, shows the QR code, and
once a shopper pairs, optionally plays a scripted trip (``trips/*.jsonl``, the shape of a
feed's ``truth.jsonl``) as if the pipeline saw it. Unlike ``smartcart demo`` it leaves each
``unresolved`` step for the shopper to answer on the screen, and it never checks out by itself.

The live cart (``smartcart cart run``) builds the same ``ScreenController`` around its own link:
pass ``controller.on_host_message`` as the link's ``on_message`` and start a ``CartScreen``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from firmware.basket.changes import BasketChange, Candidate
from firmware.config import CartConfig
from firmware.screen.controller import HostMessage, ScreenController
from firmware.screen.server import CartScreen
from smartcart.catalog import default_catalog

if TYPE_CHECKING:
    from firmware.link.mqtt import CartLink
    from smartcart.feed.format import TruthEvent

log = logging.getLogger(__name__)

_WAIT_S = 30.0


def run_screen(
    cfg: CartConfig,
    pairing_key: bytes,
    pair_url: str,
    port: int,
    trip: Path | None = None,
    speed: float = 1.0,
) -> int:
    from firmware.link.errors import NoSession
    from firmware.link.mqtt import CartLink
    from firmware.link.outbox import Outbox
    from smartcart.feed.format import read_events

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    steps = [] if trip is None else read_events(trip)
    outbox = Outbox(cfg.broker.outbox_path, cfg.cart_id)
    controller: ScreenController | None = None

    def on_message(msg: HostMessage) -> None:
        if controller is not None:  # set before the link starts; a guard, not a race
            controller.on_host_message(msg)

    link = CartLink(
        cfg.broker.link_config(cfg.cart_id, firmware="screen"),
        outbox,
        on_message=on_message,
    )
    controller = ScreenController(link, default_catalog(), cfg.cart_id, pairing_key, pair_url)
    link.start()
    try:
        with CartScreen(controller, port=port) as screen:
            log.info("open %s in the kiosk browser", screen.url)
            while True:
                if not steps:
                    time.sleep(1.0)
                    continue
                try:
                    link.wait_session(_WAIT_S)
                except NoSession:
                    continue  # nobody has scanned in yet
                _play(link, steps, speed)
                steps = []
    except KeyboardInterrupt:
        return 0
    finally:
        link.stop()
        outbox.close()


def _play(link: CartLink, steps: list[TruthEvent], speed: float) -> None:
    t0_utc, t0 = datetime.now(UTC), time.monotonic()
    for step in steps:
        time.sleep(max(0.0, t0 + step.t / speed - time.monotonic()))
        link.submit(
            BasketChange(
                step.type,
                t0_utc + timedelta(seconds=step.t),
                t_s=step.t,
                sku=step.sku,
                grams=step.grams,
                action=step.action,
                candidates=tuple(Candidate(c.sku, c.score) for c in step.candidates),
            )
        )
