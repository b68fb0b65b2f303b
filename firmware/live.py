"""``smartcart cart run``: the live cart loop.

camera + load cells -> ``CartPipeline`` -> ``CartLink.submit`` (durable outbox, then MQTT).

Degraded modes, never a crash loop:
- the camera stops delivering (``CameraStalled``) or cannot open: say so once, close it, and
  reopen with a capped backoff while the link keeps draining the outbox;
- the scale goes silent: the pipeline notices by itself (``SettleDetector.silent``) and decides
  vision-only, leaving per-kg items unresolved; the status line says ``scale: silent``;
- no shopping session open yet: changes wait in memory (bounded) until the host opens one.

The pipeline clock is CLOCK_MONOTONIC (libcamera's SensorTimestamp, ``time.monotonic`` for the
scale); event wall-clock times are ``t0_utc`` + that clock. A status line every
``status_every_s`` shows fps, per-stage milliseconds, dropped frames and link state.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware.basket.changes import BasketChange
from firmware.camera.open import open_camera
from firmware.config import CartConfig
from firmware.errors import CameraError
from firmware.pipeline import CartPipeline
from firmware.scale.open import open_scale
from smartcart.catalog import default_catalog

log = logging.getLogger(__name__)


def run_live(
    cfg: CartConfig,
    detector_path: Path | None = None,
    recognizer_path: Path | None = None,
    status_every_s: float = 5.0,
) -> int:
    from firmware.camera.frames import lores_size
    from firmware.link.errors import NoSession
    from firmware.link.mqtt import CartLink, LinkConfig
    from firmware.link.outbox import Outbox
    from firmware.models import open_models
    from smartcart.contract.signing import Signer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    catalog = default_catalog()
    det, rec = open_models(
        catalog,
        detector_path or cfg.models.detector,
        recognizer_path or cfg.models.recognizer,
        cfg.models.threads,
    )
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
    link = CartLink(
        LinkConfig(
            cfg.cart_id, cfg.broker.url, cfg.broker.username, cfg.broker.resolved_password()
        ),
        outbox,
    ).start()
    waiting: deque[BasketChange] = deque(maxlen=200)  # until a session opens
    backoff_s = 1.0
    try:
        while True:
            try:
                camera = open_camera(cfg.camera)
            except CameraError as e:
                log.error("camera unavailable (%s); retrying in %.0f s", e, backoff_s)
                time.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, 30.0)
                continue
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
                    if now - last_status >= status_every_s:
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
                time.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, 30.0)
            finally:
                camera.close()
    except KeyboardInterrupt:
        log.info("stopping")
        return 0
    finally:
        link.stop()
        outbox.close()
        if scale is not None:
            scale.close()
