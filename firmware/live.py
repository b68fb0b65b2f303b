"""``smartcart cart run``: the live cart loop.

camera + load cells -> ``CartPipeline`` -> ``CartLink.submit`` (durable outbox, then MQTT).

Degraded modes, never a crash loop:
- the camera stops delivering (``CameraStalled``) or cannot open: say so once, close it, and
  reopen with a capped backoff while the link keeps draining the outbox;
- the scale goes silent: the pipeline notices by itself (``SettleDetector.silent``) and decides
  vision-only, leaving per-kg items unresolved; the status line says ``scale: silent``;
- no shopping session open yet: changes wait in memory (bounded) until the host opens one.

For the fleet updater (hardware/README.md): ``READY=1`` once camera, scale and models are open,
a watchdog kick every frame (and through camera backoffs), and ``/run/smartcart/status.json``
(session open, docked) every status period.

The touchscreen: a ``ScreenController`` around the cart's own link (it gets the host's messages
through the link's ``on_message``) served by ``CartScreen`` on ``127.0.0.1:screen.port`` (8765,
the kiosk's URL in hardware/provision). Without a pairing key the cart runs without a screen
(it says so): the basket still works, only the QR code cannot be signed.

The pipeline clock is CLOCK_MONOTONIC (libcamera's SensorTimestamp, ``time.monotonic`` for the
scale); event wall-clock times are ``t0_utc`` + that clock. A status line every
``status_every_s`` shows fps, per-stage milliseconds, dropped frames and link state.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware.basket.changes import BasketChange
from firmware.camera.open import open_camera
from firmware.config import CartConfig, ScreenConfig
from firmware.errors import CameraError
from firmware.fleet.dock import DockSensor
from firmware.fleet.errors import FleetError
from firmware.fleet.readiness import CartStatus, write_cart_status
from firmware.pipeline import CartPipeline
from firmware.scale.open import open_scale
from firmware.screen.controller import HostMessage, ScreenController, ScreenLink
from firmware.screen.server import CartScreen
from smartcart.catalog import Catalog, default_catalog

log = logging.getLogger(__name__)
STATUS_PATH = Path("/run/smartcart/status.json")  # read by the fleet updater (hardware/README)


def _wait(seconds: float, heartbeat: Callable[[float], object]) -> None:
    """Sleep through a backoff while telling systemd's watchdog the loop is alive: a cart with
    a dead camera is degraded on purpose (its link still drains), not hung."""
    deadline = time.monotonic() + seconds
    while (now := time.monotonic()) < deadline:
        heartbeat(now)
        time.sleep(min(1.0, deadline - now))


def _publish_status(path: Path, session_open: bool, dock: DockSensor | None) -> None:
    try:
        write_cart_status(
            path,
            CartStatus(
                updated_at=datetime.now(UTC),
                session_open=session_open,
                docked=dock is not None and dock.docked(),
            ),
        )
    except OSError as e:  # not fatal: the fleet updater defers updates without it
        log.warning("cannot write %s: %s", path, e)


def pairing_key(cfg: ScreenConfig) -> bytes | None:
    """The pairing key: ``SMARTCART_PAIRING_KEY`` (hex), else ``screen.pairing_key_file``."""
    if hex_key := os.environ.get("SMARTCART_PAIRING_KEY"):
        return bytes.fromhex(hex_key)
    if cfg.pairing_key_file is not None:
        return bytes.fromhex(cfg.pairing_key_file.read_text(encoding="utf-8").strip())
    return None


def _start_screen(cfg: CartConfig, link: ScreenLink, catalog: Catalog) -> CartScreen | None:
    """The touchscreen, or None (said once) when it cannot run: a cart without a screen still
    shops, a cart in a restart loop does not."""
    try:
        pair_key = pairing_key(cfg.screen)
    except (OSError, ValueError) as e:
        log.error("bad pairing key (%s): no screen", e)
        return None
    if pair_key is None:
        log.warning("no pairing key (SMARTCART_PAIRING_KEY, screen.pairing_key_file): no screen")
        return None
    controller = ScreenController(link, catalog, cfg.cart_id, pair_key, cfg.screen.pair_url)
    try:
        return CartScreen(controller, port=cfg.screen.port).start()
    except OSError as e:  # the port is taken: another cart process, or a stale one
        log.error("screen cannot listen on port %d (%s): no screen", cfg.screen.port, e)
        return None


def run_live(
    cfg: CartConfig,
    detector_path: Path | None = None,
    recognizer_path: Path | None = None,
    status_every_s: float = 5.0,
    status_path: Path = STATUS_PATH,
) -> int:
    from firmware.camera.frames import lores_size
    from firmware.fleet.notify import Notifier
    from firmware.link.errors import NoSession
    from firmware.link.mqtt import CartLink
    from firmware.link.outbox import Outbox
    from firmware.models import open_configured
    from smartcart.contract.signing import Signer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    catalog = default_catalog()
    det, rec = open_configured(catalog, cfg.models, detector_path, recognizer_path)
    scale = open_scale(cfg.scale)
    t0_utc = datetime.now(UTC) - timedelta(seconds=time.monotonic())
    main_wh = cfg.camera.main_size
    pipeline = CartPipeline(
        det,
        rec,
        catalog,
        cfg.basket.polygon,
        lores_size(main_wh, cfg.camera.lores_width),
        main_wh,
        t0_utc,
        cfg.basket,
        cfg.scale,
        has_scale=scale is not None,
    )
    cfg.broker.outbox_path.parent.mkdir(parents=True, exist_ok=True)
    key = cfg.broker.signing_key
    outbox = Outbox(cfg.broker.outbox_path, cfg.cart_id, None if key is None else Signer.load(key))
    controller: ScreenController | None = None

    def on_message(msg: HostMessage) -> None:
        if controller is not None:  # set before the link starts; a guard, not a race
            controller.on_host_message(msg)

    link = CartLink(
        cfg.broker.link_config(cfg.cart_id),
        outbox,
        on_message=on_message,
    )
    screen = _start_screen(cfg, link, catalog) if cfg.screen.enabled else None
    controller = None if screen is None else screen.controller
    link.start()
    notifier = Notifier.from_env()
    try:
        dock: DockSensor | None = DockSensor()
    except FleetError as e:
        log.warning("no dock sensor (%s): reporting not docked", e)
        dock = None
    waiting: deque[BasketChange] = deque(maxlen=200)  # until a session opens
    backoff_s = 1.0
    ready_sent = False
    try:
        while True:
            try:
                camera = open_camera(cfg.camera)
            except CameraError as e:
                log.error("camera unavailable (%s); retrying in %.0f s", e, backoff_s)
                _wait(backoff_s, notifier.heartbeat)
                backoff_s = min(backoff_s * 2, 30.0)
                continue
            if not ready_sent:
                notifier.ready("camera, scale and models open")
                ready_sent = True
            try:
                last_status = time.monotonic()
                frames_at_status = 0
                for frame in camera.frames():
                    backoff_s = 1.0
                    samples = scale.drain() if scale is not None else []
                    waiting.extend(pipeline.process(frame, samples))
                    while waiting:
                        try:
                            link.submit(waiting[0])
                        except NoSession:
                            break  # the host has not opened a session: keep them for now
                        waiting.popleft()
                    now = time.monotonic()
                    notifier.heartbeat(now)
                    if now - last_status >= status_every_s:
                        _publish_status(status_path, link.session_id is not None, dock)
                        fps = (pipeline.times.frames - frames_at_status) / (now - last_status)
                        ms = pipeline.times.ms_per_frame()
                        log.info(
                            "%.1f fps | %s | dropped %d | scale %s | link %s | waiting %d",
                            fps,
                            " ".join(f"{k} {v:.1f}ms" for k, v in ms.items()),
                            camera.stats.dropped,
                            "live" if pipeline.scale_live(frame.t_s) else "silent",
                            "up" if link.connected else "down",
                            len(waiting),
                        )
                        last_status, frames_at_status = now, pipeline.times.frames
            except CameraError as e:
                log.error("camera stopped (%s); reopening in %.0f s", e, backoff_s)
                _wait(backoff_s, notifier.heartbeat)
                backoff_s = min(backoff_s * 2, 30.0)
            finally:
                camera.close()
    except KeyboardInterrupt:
        log.info("stopping")
        return 0
    finally:
        if screen is not None:
            screen.stop()
        link.stop()
        outbox.close()
        if scale is not None:
            scale.close()
        if dock is not None:
            dock.close()
