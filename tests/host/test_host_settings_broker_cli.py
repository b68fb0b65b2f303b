"""HostSettings from the environment, the embedded broker's lifecycle, ``smartcart host migrate``,
and the production Mosquitto config (started for real where the binary exists)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hostkit import free_port
from pydantic import ValidationError
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from host.broker import EmbeddedBroker
from host.db.models import Product
from host.errors import BrokerError
from host.settings import HostSettings
from smartcart.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCART_HOST_DATABASE_URL", "postgresql+psycopg://x@db/shop")
    monkeypatch.setenv("SMARTCART_HOST_BROKER_URL", "mqtt://broker.store:1883")
    monkeypatch.setenv("SMARTCART_HOST_HTTP_PORT", "9000")
    s = HostSettings()
    assert (s.database_url, s.broker_url, s.http_port, s.currency) == (
        "postgresql+psycopg://x@db/shop",
        "mqtt://broker.store:1883",
        9000,
        "SEK",
    )


def test_settings_refuse_a_non_mqtt_broker_url() -> None:
    with pytest.raises(ValidationError):
        HostSettings(broker_url="http://127.0.0.1:1883")


def test_embedded_broker_round_trip_and_stop() -> None:
    with EmbeddedBroker() as broker:
        port = int(broker.url.rsplit(":", 1)[1])
        got: list[bytes] = []
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-embedded")
        c.on_message = lambda _c, _u, msg: got.append(msg.payload)
        c.connect("127.0.0.1", port)
        c.loop_start()
        c.subscribe("smartcart/v1/#", 1)
        time.sleep(0.2)
        c.publish("smartcart/v1/carts/cart-0001/events", b"hello", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        c.loop_stop()
        c.disconnect()
        assert got == [b"hello"]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "still listening after stop()"
    with pytest.raises(BrokerError):
        _ = broker.url


def test_host_migrate_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["host", "migrate", "--database-url", url])
    assert result.exit_code == 0, result.output
    with create_engine(url).connect() as c:
        assert c.execute(select(func.count()).select_from(Product)).scalar() == 81


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="no mosquitto binary here")
def test_production_mosquitto_config_enforces_cart_acls(tmp_path: Path) -> None:
    port = free_port()
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(tmp_path / "pw"), "smartcart-host", "h"], check=True
    )
    subprocess.run(["mosquitto_passwd", "-b", str(tmp_path / "pw"), "cart-0001", "c"], check=True)
    conf = (DEPLOY / "mosquitto.conf").read_text()
    conf = (
        conf.replace("listener 1883", f"listener {port} 127.0.0.1")
        .replace("/etc/mosquitto/smartcart.acl", str(DEPLOY / "smartcart.acl"))
        .replace("/etc/mosquitto/smartcart.passwd", str(tmp_path / "pw"))
        .replace("persistence true", "persistence false")
        .replace("log_dest syslog", "log_dest stderr")
    )
    # Started as root, mosquitto would drop to its own user, who cannot read pytest's tmp dirs.
    (tmp_path / "m.conf").write_text("user root\n" + conf)
    proc = subprocess.Popen(["mosquitto", "-c", str(tmp_path / "m.conf")], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        host_got: list[str] = []
        host = _client(port, "smartcart-host", "h", host_got)
        host.subscribe("$share/checkout/smartcart/v1/carts/+/events", 1)
        cart_got: list[str] = []
        cart = _client(port, "cart-0001", "c", cart_got)
        cart.subscribe("smartcart/v1/carts/+/host", 1)
        time.sleep(0.3)
        cart.publish("smartcart/v1/carts/cart-0001/events", b"own", 1)
        cart.publish("smartcart/v1/carts/cart-0002/events", b"spoofed", 1)
        cart.publish("smartcart/v1/carts/cart-0001/host", b"forged receipt", 1)
        host.publish("smartcart/v1/carts/cart-0001/host", b"ack", 1)
        host.publish("smartcart/v1/carts/cart-0002/host", b"someone else's", 1)
        time.sleep(0.8)
        assert host_got == ["smartcart/v1/carts/cart-0001/events"]
        assert cart_got == ["smartcart/v1/carts/cart-0001/host"]
        for c in (host, cart):
            c.loop_stop()
            c.disconnect()
    finally:
        proc.terminate()
        proc.wait(5)


def _client(port: int, user: str, password: str, got: list[str]) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{user}-acl", protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)
    c.on_message = lambda _c, _u, msg: got.append(msg.topic)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c
