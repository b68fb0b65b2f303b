"""Render one cart's cloud-init ``user-data`` (and ``meta-data``) for the SD card's boot partition.

Run::

    .venv/bin/python hardware/provision/render_user_data.py --cart-id cart-0042 \\
        --broker-url mqtts://store-host:8883 --password-file secrets/cart-0042.mqtt \\
        --fleet-key fleet.pem --channel-url https://store-host/fleet/stable/bundle.tar \\
        --first-bundle-url https://store-host/fleet/releases/smartcart-1.0.0.tar \\
        --first-bundle-sha256 <sha256 of that file> --ssh-key ~/.ssh/id_ed25519.pub \\
        --out build/cart-0042/

then copy ``user-data``, ``meta-data`` and your ``network-config`` onto the boot partition of a
freshly written Raspberry Pi OS (Trixie or newer ships cloud-init; on Bookworm install the
``cloud-init`` package into the image first). Everything the cart needs arrives this way: its
identity (``/etc/smartcart/cart.toml``), broker password, the fleet's public key, the systemd
units from ``files/`` and the first-boot script, which installs the first signed bundle and
generates the cart's event-signing key (its enrolment line lands in /etc/smartcart/cart.enrol
for the host's ``smartcart host keys enrol``).

The cart's config is validated with the firmware's own ``CartConfig`` before anything is
written, so a typo fails here, not on the cart.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

FILES = Path(__file__).parent / "files"
UNITS = (
    "smartcart-cart.service",
    "smartcart-kiosk.service",
    "smartcart-fleet.service",
    "smartcart-fleet.timer",
    "smartcart-fleet-recover.service",
)
# python3-picamera2 comes from Raspberry Pi's own apt repository: libcamera's Python bindings
# are built for the OS's libcamera and are not on PyPI. lgpio drives the HX711 and the dock
# switch (the GPIO library that works on the Pi 5's RP1). cage + chromium (+ wlr-randr to
# rotate the portrait panel) run the kiosk.
PACKAGES = (
    "python3-picamera2",
    "python3-lgpio",
    "python3-venv",
    "python3-pip",
    "curl",
    "cage",
    "chromium",
    "wlr-randr",
    "fonts-dejavu-core",
)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (unit files, scripts, keys) as readable ``|`` blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def cart_toml(cart_id: str, store_id: str, broker_url: str) -> str:
    text = (
        f'cart_id = "{cart_id}"\n'
        f'store_id = "{store_id}"\n\n'
        "[broker]\n"
        f'url = "{broker_url}"\n'
        f'username = "{cart_id}"\n'
        'password_file = "/etc/smartcart/mqtt-password"\n'
        # Generated on the cart at first boot (the private key never leaves it).
        'signing_key = "/etc/smartcart/cart.key"\n'
    )
    from firmware.config import CartConfig  # the firmware's own validation, extra="forbid"

    CartConfig.model_validate(tomllib.loads(text))
    return text


def user_data(
    cart_id: str,
    store_id: str,
    broker_url: str,
    password: str,
    fleet_key_pem: str,
    channel_url: str,
    first_bundle_url: str,
    first_bundle_sha256: str,
    ssh_key: str,
    timezone: str,
) -> dict[str, Any]:
    def file(path: str, content: str, permissions: str = "0644", **extra: Any) -> dict[str, Any]:
        return {
            "path": path,
            "content": content,
            "owner": "root:root",
            "permissions": permissions,
            **extra,
        }

    fleet_env = (
        f"SMARTCART_CART_ID={cart_id}\n"
        f"SMARTCART_FLEET_SOURCE={channel_url}\n"
        f"SMARTCART_FIRST_BUNDLE_URL={first_bundle_url}\n"
        f"SMARTCART_FIRST_BUNDLE_SHA256={first_bundle_sha256}\n"
    )
    units = [file(f"/etc/systemd/system/{u}", (FILES / u).read_text()) for u in UNITS]
    return {
        "hostname": cart_id,
        "timezone": timezone,
        "ssh_pwauth": False,
        "users": [
            {
                "name": "admin",
                "groups": ["sudo", "adm", "systemd-journal"],
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "shell": "/bin/bash",
                "lock_passwd": True,
                "ssh_authorized_keys": [ssh_key],
            },
            {
                "name": "smartcart",
                "system": True,
                "groups": ["video", "gpio"],
                "shell": "/usr/sbin/nologin",
                "no_create_home": True,
            },
            {
                "name": "kiosk",
                "system": True,
                "groups": ["video", "render", "input"],
                "shell": "/usr/sbin/nologin",
                "homedir": "/var/lib/kiosk",
            },
        ],
        "package_update": True,
        "package_upgrade": False,  # reproducible: the image's versions, plus these packages
        "packages": list(PACKAGES),
        "write_files": [
            file("/etc/smartcart/cart.toml", cart_toml(cart_id, store_id, broker_url)),
            # Deferred: the smartcart group exists only after users are created.
            file(
                "/etc/smartcart/mqtt-password",
                password + "\n",
                "0640",
                owner="root:smartcart",
                defer=True,
            ),
            file("/etc/smartcart/fleet-keys/fleet.pem", fleet_key_pem),
            file("/etc/smartcart/fleet.env", fleet_env),
            file(
                "/usr/local/bin/smartcart-kiosk", (FILES / "smartcart-kiosk.sh").read_text(), "0755"
            ),
            file(
                "/usr/local/sbin/smartcart-firstboot",
                (FILES / "smartcart-firstboot.sh").read_text(),
                "0755",
            ),
            *units,
        ],
        "runcmd": [["/usr/local/sbin/smartcart-firstboot"]],
    }


def main(
    cart_id: Annotated[str, typer.Option(help="This cart's id, e.g. cart-0042")],
    broker_url: Annotated[str, typer.Option(help="mqtt:// or mqtts:// URL of the store broker")],
    password_file: Annotated[Path, typer.Option(help="File holding this cart's MQTT password")],
    fleet_key: Annotated[Path, typer.Option(help="The fleet's Ed25519 public key (PEM)")],
    channel_url: Annotated[str, typer.Option(help="Bundle URL the update timer polls")],
    first_bundle_url: Annotated[str, typer.Option(help="A fixed release to install first")],
    first_bundle_sha256: Annotated[str, typer.Option(help="SHA-256 of that release's tar")],
    ssh_key: Annotated[Path, typer.Option(help="Admin's SSH public key file")],
    out: Annotated[Path, typer.Option(help="Folder to write user-data and meta-data into")],
    store_id: Annotated[str, typer.Option()] = "store-1",
    timezone: Annotated[str, typer.Option()] = "Europe/Stockholm",
) -> None:
    """Write user-data and meta-data for one cart."""
    if not re.fullmatch(r"[0-9a-f]{64}", first_bundle_sha256):
        raise typer.BadParameter(
            "expected 64 lowercase hex digits", param_hint="--first-bundle-sha256"
        )
    data = user_data(
        cart_id,
        store_id,
        broker_url,
        password_file.read_text().strip(),
        fleet_key.read_text(),
        channel_url,
        first_bundle_url,
        first_bundle_sha256,
        ssh_key.read_text().strip(),
        timezone,
    )
    out.mkdir(parents=True, exist_ok=True)
    body = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, width=1000)
    (out / "user-data").write_text("#cloud-config\n" + body)
    # A stable instance id: re-imaging the same cart re-runs first boot, a reboot does not.
    instance = hashlib.sha256(cart_id.encode()).hexdigest()[:16]
    (out / "meta-data").write_text(
        f"instance-id: {cart_id}-{instance}\nlocal-hostname: {cart_id}\n"
    )
    typer.echo(f"{out}/user-data, {out}/meta-data for {cart_id} (secrets inside: keep them safe)")


if __name__ == "__main__":
    typer.run(main)
