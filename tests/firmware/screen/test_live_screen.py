"""The live cart's screen wiring without a broker: the config's default port is the one the
kiosk opens (hardware/provision), the screen serves its page around an unstarted ``CartLink``,
and a cart without a pairing key or with a taken port runs without a screen instead of failing.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

import firmware.live as live
from firmware.config import BrokerConfig, CartConfig, ScreenConfig
from firmware.link.mqtt import CartLink, LinkConfig
from firmware.link.outbox import Outbox
from smartcart.catalog import default_catalog
from smartcart.contract import messages as m

CART = "cart-0042"
KIOSK = Path(__file__).parents[3] / "hardware/provision/files/smartcart-kiosk.sh"


def test_the_default_port_is_the_kiosks() -> None:
    url = re.search(r"SMARTCART_SCREEN_URL:-(http://[^}]+)\}", KIOSK.read_text())
    assert url is not None and url.group(1) == f"http://127.0.0.1:{ScreenConfig().port}/"
    with pytest.raises(ValidationError, match="less than or equal to 65535"):
        ScreenConfig(port=70000)


def _cart(tmp_path: Path, port: int = 0) -> tuple[CartConfig, Outbox, CartLink]:
    cfg = CartConfig(
        cart_id=CART,
        broker=BrokerConfig(url="mqtt://127.0.0.1:1", outbox_path=tmp_path / "ob.sqlite"),
        screen=ScreenConfig(port=port),
    )
    outbox = Outbox(cfg.broker.outbox_path, CART)
    return cfg, outbox, CartLink(LinkConfig(CART, cfg.broker.url), outbox)  # never started


def test_the_live_screen_serves_its_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCART_PAIRING_KEY", m.cart_pairing_key(b"secret", CART).hex())
    cfg, outbox, link = _cart(tmp_path)
    screen = live._start_screen(cfg, link, default_catalog())
    assert screen is not None
    try:
        page = httpx.get(screen.url, timeout=5).text
        assert "Scan to start shopping" in page and "<svg" in page
    finally:
        screen.stop()
        outbox.close()


def test_no_key_or_a_taken_port_means_no_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMARTCART_PAIRING_KEY", raising=False)
    cfg, outbox, link = _cart(tmp_path)
    assert live._start_screen(cfg, link, default_catalog()) is None
    monkeypatch.setenv("SMARTCART_PAIRING_KEY", "00" * 32)
    with socket.socket() as taken:  # another process already holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cfg = cfg.model_copy(update={"screen": ScreenConfig(port=taken.getsockname()[1])})
        assert live._start_screen(cfg, link, default_catalog()) is None
    outbox.close()
