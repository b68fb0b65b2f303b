"""``smartcart score``: replay output against feeds' truth, as a table or JSON.

Where a replay's output is found, per feed folder ``FEED``:
- ``--events-dir DIR``: ``DIR/<feed folder name>.jsonl``, as ``smartcart cart replay FEED...
  --events-out DIR`` writes it;
- ``--events PATH``: exactly this file (one feed only);
- neither: ``FEED/events.jsonl``, beside the truth.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from smartcart.feed.score import Score

DEFAULT_EVENTS = "events.jsonl"


def events_path(feed: Path, events_dir: Path | None = None) -> Path:
    """Where the replay output for ``feed`` is, by the rules above."""
    if events_dir is not None:
        return events_dir / f"{feed.resolve().name}.jsonl"
    return feed / DEFAULT_EVENTS


def score(
    feeds: Annotated[list[Path], typer.Argument(help="Feed folders (cartfeed/1) with truth.jsonl")],
    events_dir: Annotated[
        Path | None,
        typer.Option("--events-dir", help="Folder of replay outputs named <feed>.jsonl"),
    ] = None,
    events: Annotated[
        Path | None, typer.Option("--events", help="The replay output file (one feed only)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")] = False,
) -> None:
    """Precision, recall, F1, unresolved share, exact-basket rate, confusions and time error."""
    import json

    from smartcart.catalog import default_catalog
    from smartcart.feed.errors import FeedError
    from smartcart.feed.format import open_feed, read_events
    from smartcart.feed.score import score as score_runs

    if events is not None and (events_dir is not None or len(feeds) != 1):
        raise typer.BadParameter("--events takes one feed, and not with --events-dir")
    catalog = default_catalog()
    runs = []
    try:
        for path in feeds:
            feed = open_feed(path)
            if feed.meta.catalog != catalog.name:
                raise FeedError(f"{path}: catalog {feed.meta.catalog!r}, have {catalog.name!r}")
            truth = feed.truth()
            if truth is None:
                raise FeedError(f"{path}: no truth.jsonl to score against")
            output_path = events if events is not None else events_path(path, events_dir)
            runs.append((feed.name, truth, read_events(output_path)))
    except FeedError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    result = score_runs(runs, catalog)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_tables(result)


def _print_tables(result: Score) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    console = Console()
    per_feed = Table(title="Per feed", title_justify="left")
    for col in ("feed", "truth", "output", "matched", "unresolved", "basket"):
        per_feed.add_column(col, justify="left" if col in ("feed", "basket") else "right")
    for f in result.feeds:
        basket = "[green]exact[/]" if f.exact_basket else f"[red]{'; '.join(f.basket_diff)}[/]"
        per_feed.add_row(f.name, str(f.truth), str(f.output), str(f.matched), str(f.unresolved),
                         basket)  # fmt: skip
    console.print(per_feed)
    errors = np.abs(result.time_errors_s())
    summary = Table(title="All feeds", title_justify="left", show_header=False)
    summary.add_column(justify="left")
    summary.add_column(justify="right")
    for name, value in (
        ("precision", f"{result.precision:.3f}"),
        ("recall", f"{result.recall:.3f}"),
        ("F1", f"{result.f1:.3f}"),
        ("unresolved share", f"{result.unresolved_share:.1%}"),
        ("exact-basket rate", f"{result.exact_basket_rate:.1%}"),
        ("time error median", f"{np.median(errors):.2f} s" if len(errors) else "-"),
        ("time error p95", f"{np.percentile(errors, 95):.2f} s" if len(errors) else "-"),
    ):
        summary.add_row(name, value)
    console.print(summary)
    confusions = result.confusions()
    if confusions:
        table = Table(title="Confusions (wrong SKU)", title_justify="left")
        for col in ("truth", "output", "count"):
            table.add_column(col, justify="right" if col == "count" else "left")
        for t, o, n in confusions:
            table.add_row(t, o, str(n))
        console.print(table)
    for f in result.feeds:
        for what, items in (("missed", f.missed), ("extra", f.extra)):
            for action, sku in items:
                console.print(f"[dim]{f.name}[/] {what}: {action} {sku}")
