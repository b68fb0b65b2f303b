"""Command group (placeholder until its owner fills it in)."""

import typer

app = typer.Typer(no_args_is_help=True)
