"""The live loop (``smartcart cart run``) end to end on Mosquitto, with a camera that is
unplugged at start: it waits (no crash), then runs, and the events reach the host; its
touchscreen greets the shopper the host opened the session for.

The camera is a feed replayed through ``FeedSource`` (the live camera adapters are tested on
their own) and the models are the colour-blob test doubles of ``synthetic_feed``.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from synthetic_feed import AlwaysLemon, ColourDetector, write_feed

import firmware.live as live
import firmware.models
from firmware.camera.feed import FeedSource
from firmware.config import BrokerConfig, CameraConfig, CartConfig, ScaleConfig, ScreenConfig
from firmware.errors import CameraError
from smartcart.contract import messages as m

sys.path.insert(0, str(Path(__file__).parent / "link"))  # the link tests' host stand-in
from linkkit import AckingHost, unique_cart, wait_until  # noqa: E402

pytestmark = pytest.mark.mosquitto


def free_port() -> int:
    # Local on purpose: `from conftest import` resolves to whichever conftest loaded first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_live_loop_survives_a_missing_camera_and_delivers(
    tmp_path: Path, mosquitto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = write_feed(tmp_path / "feed", scale=False)
    opened: list[str] = []
    views: list[str] = []
    port = free_port()
    monkeypatch.setenv("SMARTCART_PAIRING_KEY", m.cart_pairing_key(b"secret", "x").hex())

    def open_camera(cfg: object) -> FeedSource:
        opened.append("try")
        if len(opened) == 1:
            raise CameraError("no camera on the bus")  # unplugged at boot
        if len(opened) == 3:  # the feed ran out: once the host has it all, stop the service
            wait_until(lambda: len(host.applied) >= 2, 15.0, "the host to apply both events")
            views.append(httpx.get(f"http://127.0.0.1:{port}/view", timeout=5).text)
            raise KeyboardInterrupt
        return FeedSource(feed, realtime=True)  # frames at camera pace, as live

    monkeypatch.setattr(live, "open_camera", open_camera)
    monkeypatch.setattr(
        firmware.models, "open_models", lambda *a, **k: (ColourDetector(), AlwaysLemon())
    )
    cart = unique_cart()
    host = AckingHost(mosquitto_url, cart)
    cfg = CartConfig(
        cart_id=cart,
        camera=CameraConfig(main_size=(320, 240)),  # the synthetic feed's size
        scale=ScaleConfig(enabled=False),
        broker=BrokerConfig(url=mosquitto_url, outbox_path=tmp_path / "ob.sqlite"),
        screen=ScreenConfig(port=port),
    )
    session = m.SessionStarted(
        cart_id=cart, session_id=str(uuid.uuid4()), started_at=datetime.now(UTC),
        customer_name="Test Shopper", acked_seq=0,
    )  # fmt: skip
    stop = threading.Event()

    def shopper_scans_in() -> None:  # until the cart has subscribed, a message would be lost
        while not stop.wait(0.5):
            host.send(session)

    threading.Thread(target=shopper_scans_in, daemon=True).start()
    status = tmp_path / "status.json"
    try:
        assert live.run_live(cfg, status_every_s=0.0, status_path=status) == 0
    finally:
        stop.set()
        host.close()
    assert len(opened) == 3
    assert [(e.type, e.sku) for _, e in sorted(host.applied.items())] == [
        ("add", "lemon"),
        ("remove", "lemon"),
    ]
    assert json.loads(status.read_text())["session_open"] is True
    assert "Hi Test Shopper!" in views[0]  # the host's SessionStarted reached the screen
