"""Command group (placeholder until its owner fills it in)."""

import typer

from smartcart.contract.signing_cli import host_app as keys_app

app = typer.Typer(no_args_is_help=True)

app.add_typer(keys_app, name="keys", help="Cart signing keys: enrol, retire (rotate), list.")
