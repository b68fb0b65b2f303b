"""The cart link's TLS options: client certificate files need an mqtts:// broker and reach paho.

The connection itself, over the shipped Mosquitto's mTLS listener, is tested in
``tests/security/test_broker_acl.py`` (``test_a_cart_link_*``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from firmware.config import BrokerConfig
from firmware.link.errors import BrokerUrlError
from firmware.link.mqtt import CartLink, LinkConfig
from firmware.link.outbox import Outbox


def test_certificate_files_need_an_mqtts_url() -> None:
    with pytest.raises(BrokerUrlError, match="mqtts://"):
        LinkConfig("cart-0001", "mqtt://broker:1883", cert_file="c.crt", key_file="c.key")
    with pytest.raises(BrokerUrlError, match="cert_file"):
        LinkConfig("cart-0001", "mqtts://broker:8883", key_file="c.key")
    with pytest.raises(ValidationError, match="mqtts://"):
        BrokerConfig(url="mqtt://broker:1883", ca_file=Path("ca.crt"))
    with pytest.raises(ValidationError, match="key_file needs cert_file"):
        BrokerConfig(url="mqtts://broker:8883", key_file=Path("c.key"))


def test_the_broker_section_hands_its_files_to_paho(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = BrokerConfig(
        url="mqtts://broker.store.lan:8883",
        ca_file=Path("/etc/smartcart/ca.crt"),
        cert_file=Path("/etc/smartcart/cart.crt"),
        key_file=Path("/etc/smartcart/cart.key.pem"),
    )
    config = section.link_config("cart-0042", firmware="1.2.3")
    assert (config.ca_file, config.cert_file, config.key_file, config.firmware) == (
        "/etc/smartcart/ca.crt",
        "/etc/smartcart/cart.crt",
        "/etc/smartcart/cart.key.pem",
        "1.2.3",
    )
    seen: dict[str, object] = {}
    monkeypatch.setattr(
        "paho.mqtt.client.Client.tls_set", lambda _self, **kw: seen.update(kw), raising=True
    )
    with Outbox(tmp_path / "outbox.sqlite", "cart-0042") as outbox:
        CartLink(config, outbox)._make_client()
    assert seen["ca_certs"] == "/etc/smartcart/ca.crt"
    assert seen["certfile"] == "/etc/smartcart/cart.crt"
    assert seen["keyfile"] == "/etc/smartcart/cart.key.pem"
