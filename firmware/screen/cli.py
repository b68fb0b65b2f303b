"""``smartcart cart screen``, registered by ``firmware/cli.py``; typer and stdlib imports only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def screen(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Cart TOML config (cart id, broker)")
    ] = None,
    cart_id: Annotated[str, typer.Option(help="Cart id when there is no config")] = "cart-0042",
    broker_url: Annotated[
        str, typer.Option(help="Broker when there is no config")
    ] = "mqtt://127.0.0.1:1883",
    port: Annotated[int, typer.Option(help="Local port of the screen (0: any free one)")] = 8765,
    pair_url: Annotated[
        str, typer.Option(help="The host's pairing page, put in the QR code")
    ] = "http://127.0.0.1:8080/pair",
    pairing_key: Annotated[
        str | None,
        typer.Option(
            envvar="SMARTCART_PAIRING_KEY",
            help="This cart's pairing key, hex (cart_pairing_key(store secret, cart id)). "
            "Without it, SMARTCART_PAIRING_SECRET (the store secret) is used to derive it.",
        ),
    ] = None,
    trip: Annotated[
        Path | None, typer.Option(exists=True, help="Play this trip once a shopper pairs")
    ] = None,
    speed: Annotated[float, typer.Option(help="Trip playback speed-up")] = 1.0,
) -> None:
    """The cart's touchscreen and link, without the camera: kiosk bring-up and store demos."""
    from firmware.config import BrokerConfig, CartConfig, load_config
    from firmware.screen.run import run_screen
    from smartcart.contract.messages import cart_pairing_key

    if config is not None:
        cfg = load_config(config)
    else:  # a bench cart: its outbox in the working directory
        broker = BrokerConfig(url=broker_url, outbox_path=Path(f"{cart_id}-outbox.sqlite"))
        cfg = CartConfig(cart_id=cart_id, broker=broker)
    if pairing_key is not None:
        key = bytes.fromhex(pairing_key)
    elif secret := os.environ.get("SMARTCART_PAIRING_SECRET"):
        key = cart_pairing_key(secret.encode(), cfg.cart_id)
    else:
        raise typer.BadParameter("set --pairing-key (or SMARTCART_PAIRING_SECRET for a demo)")
    raise typer.Exit(run_screen(cfg, key, pair_url, port, trip, speed))
