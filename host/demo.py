"""``smartcart demo`` (placeholder until the demo lands)."""

import typer


def demo() -> None:
    raise typer.Exit("not implemented yet")
