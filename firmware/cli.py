"""Command group (placeholder until its owner fills it in)."""

import typer

from firmware.fleet.cli import app as fleet_app

app = typer.Typer(no_args_is_help=True)
app.add_typer(fleet_app, name="fleet", help="Fleet updates: signed A/B bundles with rollback.")
