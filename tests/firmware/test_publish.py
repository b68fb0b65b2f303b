"""``replay --publish``: a replay's changes reach the host through the outbox and a real broker.

The host side is the link tests' ``AckingHost`` (a minimal acking host on Mosquitto); the cart
side is the real ``LivePublisher`` (durable outbox + ``CartLink``).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from synthetic_feed import AlwaysLemon, ColourDetector, write_feed

from firmware.config import BrokerConfig, CartConfig
from firmware.publish import LivePublisher
from firmware.replay import replay_feed
from smartcart.catalog import default_catalog

sys.path.insert(0, str(Path(__file__).parent / "link"))  # the link tests' host stand-in
from linkkit import AckingHost, unique_cart  # noqa: E402

pytestmark = pytest.mark.mosquitto


def test_replayed_changes_reach_the_host_in_order(tmp_path: Path, mosquitto_url: str) -> None:
    cart = unique_cart()
    host = AckingHost(mosquitto_url, cart)
    cfg = CartConfig(
        cart_id=cart, broker=BrokerConfig(url=mosquitto_url, outbox_path=tmp_path / "ob.sqlite")
    )
    feed = write_feed(tmp_path / "feed")
    timer = threading.Timer(1.0, host.start_session)  # the shopper scans in at the cart
    timer.start()
    try:
        with LivePublisher(cfg, wait_s=15.0) as pub:
            replay_feed(feed, ColourDetector(), AlwaysLemon(), default_catalog(),
                        on_change=pub.submit)  # fmt: skip
    finally:
        timer.cancel()
        host.close()
    applied = [host.applied[seq] for seq in sorted(host.applied)]
    assert [(e.type, e.sku, e.grams) for e in applied] == [
        ("add", "lemon", 111),
        ("remove", "lemon", 111),
    ]
