"""Key enrolment and rotation: ``smartcart cart key ...`` on the cart, ``smartcart host keys ...``
in the store (smartcart.contract.signing). Only typer and the standard library at module level.

Rotation without losing an event (the outbox keeps unacknowledged events signed by the old key,
so the host must accept both until the cart has drained):

    cart$  smartcart cart key new --cart cart-0042 --out /etc/smartcart/cart.key.next
    host$  smartcart host keys enrol cart-0042 <public key printed above>
    cart$  mv /etc/smartcart/cart.key.next /etc/smartcart/cart.key && systemctl restart smartcart
    host$  smartcart host keys retire cart-0042 <old kid>   # once the cart's events are acked
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

cart_app = typer.Typer(no_args_is_help=True, help="The cart's signing key (Ed25519).")
host_app = typer.Typer(no_args_is_help=True, help="Enrolled cart keys: enrol, retire, list.")

KeyringOpt = Annotated[
    Path,
    typer.Option(
        "--keyring",
        envvar="SMARTCART_HOST_KEYRING_PATH",
        help="The host's keyring file (JSON of public keys by cart and kid).",
    ),
]
_DEFAULT_KEYRING = Path(os.environ.get("SMARTCART_HOST_KEYRING_PATH", "cart-keys.json"))


@cart_app.command("new")
def key_new(
    cart: Annotated[str, typer.Option(help="This cart's id, e.g. cart-0042")],
    out: Annotated[Path, typer.Option(help="Private key file to write (mode 0600)")],
    force: Annotated[bool, typer.Option(help="Overwrite an existing key file")] = False,
) -> None:
    """Generate a key pair; print the line to enrol at the host (cart id, kid, public key)."""
    from smartcart.contract.signing import KeyringError, Signer

    if out.exists() and not force:
        raise typer.BadParameter(f"{out} exists (use --force to replace it)", param_hint="--out")
    try:
        signer = Signer.generate(cart)
    except KeyringError as e:
        raise typer.BadParameter(str(e), param_hint="--cart") from e
    signer.save(out)
    typer.echo(f"{signer.cart_id} {signer.kid} {signer.public}")


@cart_app.command("show")
def key_show(key: Annotated[Path, typer.Argument(help="Private key file")]) -> None:
    """Print a key's enrolment line (cart id, kid, public key)."""
    from smartcart.contract.signing import KeyringError, Signer

    try:
        signer = Signer.load(key)
    except KeyringError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    typer.echo(f"{signer.cart_id} {signer.kid} {signer.public}")


@host_app.command("enrol")
def keys_enrol(
    cart: Annotated[str, typer.Argument(help="Cart id")],
    public: Annotated[str, typer.Argument(help="Public key (base64) from `cart key new`")],
    keyring: KeyringOpt = _DEFAULT_KEYRING,
) -> None:
    """Accept signatures of this key for this cart (running hosts pick it up at once)."""
    from smartcart.contract.signing import Keyring, KeyringError

    try:
        ring = Keyring.load(keyring)
        kid = ring.enrol(cart, public)
    except KeyringError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    ring.save(keyring)
    typer.echo(f"enrolled {cart} {kid} in {keyring}")


@host_app.command("retire")
def keys_retire(
    cart: Annotated[str, typer.Argument(help="Cart id")],
    kid: Annotated[str, typer.Argument(help="Key id to stop accepting")],
    keyring: KeyringOpt = _DEFAULT_KEYRING,
) -> None:
    """Stop accepting a key (rotation done, or the cart was stolen)."""
    from smartcart.contract.signing import Keyring, KeyringError

    try:
        ring = Keyring.load(keyring)
        ring.retire(cart, kid)
    except KeyringError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    ring.save(keyring)
    typer.echo(f"retired {cart} {kid}")


@host_app.command("list")
def keys_list(keyring: KeyringOpt = _DEFAULT_KEYRING) -> None:
    """Print every enrolled (cart, kid)."""
    from smartcart.contract.signing import Keyring, KeyringError

    try:
        ring = Keyring.load(keyring)
    except KeyringError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    for cart in ring.carts():
        for kid in ring.kids(cart):
            typer.echo(f"{cart} {kid}")
