"""``smartcart contract``: keep the published JSON Schemas in step with the code."""

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def export() -> None:
    """Regenerate smartcart/contract/schemas/*.json from the message models."""
    from smartcart.contract.schema import export as _export

    for path in _export():
        typer.echo(f"wrote {path}")


@app.command()
def show() -> None:
    """Print the topic table."""
    from smartcart.contract import topics

    typer.echo(topics.__doc__)
