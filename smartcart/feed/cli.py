"""``smartcart score`` (placeholder until the feed tooling fills it in)."""

import typer


def score(feeds: list[str] = typer.Argument(..., help="Feed folders")) -> None:
    raise typer.Exit("not implemented yet")
