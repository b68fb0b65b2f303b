"""Provisioning: the rendered user-data carries every unit, and the units call real commands."""

from __future__ import annotations

import re
import shlex

import pytest
import typer
import yaml
from hardware_modules import HARDWARE, load
from pydantic import ValidationError
from typer.testing import CliRunner

from firmware.fleet.cli import app as fleet_app
from firmware.fleet.manifest import generate_key

render = load("provision/render_user_data.py")
FILES = HARDWARE / "provision" / "files"


def rendered(tmp_path):
    _, public_pem = generate_key()
    (tmp_path / "fleet.pem").write_bytes(public_pem)
    (tmp_path / "pw").write_text("hunter2\n")
    (tmp_path / "id.pub").write_text("ssh-ed25519 AAAA admin@example\n")
    runner = CliRunner()
    app = typer.Typer()
    app.command()(render.main)
    result = runner.invoke(
        app,
        [
            "--cart-id",
            "cart-0042",
            "--broker-url",
            "mqtts://store-host:8883",
            "--password-file",
            str(tmp_path / "pw"),
            "--fleet-key",
            str(tmp_path / "fleet.pem"),
            "--channel-url",
            "https://h/stable.tar",
            "--first-bundle-url",
            "https://h/1.0.0.tar",
            "--first-bundle-sha256",
            "a" * 64,
            "--ssh-key",
            str(tmp_path / "id.pub"),
            "--out",
            str(tmp_path / "seed"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "seed" / "user-data").read_text()
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def test_user_data_installs_picamera2_and_every_unit(tmp_path):
    data = rendered(tmp_path)
    assert {"python3-picamera2", "python3-lgpio", "cage", "chromium"} <= set(data["packages"])
    assert "/usr/local/bin/smartcart-kiosk" in {f["path"] for f in data["write_files"]}
    paths = {f["path"]: f for f in data["write_files"]}
    for unit in sorted(FILES.glob("smartcart-*.service")) + sorted(FILES.glob("*.timer")):
        assert paths[f"/etc/systemd/system/{unit.name}"]["content"] == unit.read_text()
    assert paths["/etc/smartcart/mqtt-password"]["permissions"] == "0640"
    assert 'cart_id = "cart-0042"' in paths["/etc/smartcart/cart.toml"]["content"]
    assert data["runcmd"] == [["/usr/local/sbin/smartcart-firstboot"]]


def test_bad_cart_id_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValidationError):
        render.cart_toml("Cart 42!", "store-1", "mqtt://h:1883")


def test_cart_unit_is_a_watched_notify_service():
    unit = (FILES / "smartcart-cart.service").read_text()
    for line in ("Type=notify", "Restart=on-failure", "StandardOutput=journal"):
        assert line in unit
    assert re.search(r"^WatchdogSec=\d+", unit, re.M)


def test_units_and_first_boot_call_commands_the_fleet_cli_has():
    commands = {c.name or c.callback.__name__ for c in fleet_app.registered_commands}
    used = set()
    sources = list(FILES.glob("smartcart-*"))
    for path in sources:
        for match in re.finditer(r"smartcart cart fleet (\S+)", path.read_text()):
            used.add(match.group(1))
    assert used and used <= commands, used - commands


def test_first_boot_generates_the_key_the_config_names(tmp_path):
    data = rendered(tmp_path)
    toml = {f["path"]: f for f in data["write_files"]}["/etc/smartcart/cart.toml"]["content"]
    script = (FILES / "smartcart-firstboot.sh").read_text()
    assert 'signing_key = "/etc/smartcart/cart.key"' in toml
    assert "cart key new --cart" in script and "--out /etc/smartcart/cart.key" in script


def test_first_boot_enables_units_that_exist():
    script = (FILES / "smartcart-firstboot.sh").read_text()
    enabled = {
        w
        for line in script.splitlines()
        if "systemctl enable" in line
        for w in shlex.split(line)
        if w.startswith("smartcart-")
    }
    assert enabled == {p.name for p in FILES.glob("smartcart-*") if p.suffix != ".sh"} - {
        "smartcart-fleet.service"  # started by its timer, never enabled itself
    }
