"""``smartcart host``: run, migrate and benchmark the checkout host; manage cart signing keys.

Only typer and stdlib at module level: the host's heavy imports (SQLAlchemy, FastAPI, paho)
happen inside the commands, so ``smartcart --help`` stays instant and the cart never loads them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from smartcart.contract.signing_cli import host_app as keys_app

app = typer.Typer(no_args_is_help=True)

app.add_typer(keys_app, name="keys", help="Cart signing keys: enrol, retire (rotate), list.")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="SQLAlchemy URL (default: SMARTCART_HOST_DATABASE_URL or a SQLite file)."),
]


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Upgrade the database to the newest schema and load the catalog."""
    from host.settings import HostSettings
    from host.worker import HostWorker

    worker = HostWorker(HostSettings(database_url=database_url) if database_url else HostSettings())
    worker.prepare_database()
    worker.engine.dispose()
    typer.echo(f"migrated {worker.engine.url.render_as_string(hide_password=True)} to head")


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    broker_url: Annotated[str | None, typer.Option(help="mqtt://host:port")] = None,
    http_host: Annotated[str | None, typer.Option("--host", help="API bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="API port.")] = None,
    embedded_broker: Annotated[
        bool, typer.Option(help="Start an embedded amqtt broker on a free port and use it.")
    ] = False,
) -> None:
    """Run the MQTT worker and the HTTP API (OpenAPI at /openapi.json) until interrupted."""
    import logging
    from contextlib import ExitStack

    import uvicorn

    from host.api import create_app
    from host.broker import EmbeddedBroker
    from host.errors import SignaturesRequired
    from host.settings import HostSettings
    from host.worker import HostWorker

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # amqtt's state machine logs every transition at INFO: noise for an operator.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    overrides: dict[str, object] = {}
    if database_url:
        overrides["database_url"] = database_url
    if broker_url:
        overrides["broker_url"] = broker_url
    if http_host:
        overrides["http_host"] = http_host
    if port is not None:
        overrides["http_port"] = port
    with ExitStack() as stack:
        if embedded_broker:
            overrides["broker_url"] = stack.enter_context(EmbeddedBroker()).url
            typer.echo(f"embedded broker at {overrides['broker_url']}")
        settings = HostSettings(**overrides)  # type: ignore[arg-type]
        if not settings.staff_token_sha256:
            logging.warning(
                "no staff tokens (SMARTCART_HOST_STAFF_TOKEN_SHA256): every staff endpoint and "
                "the dashboard answer 401; make one with 'smartcart host staff-token'"
            )
        try:
            worker = HostWorker(settings)
        except SignaturesRequired as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from e
        app_ = create_app(worker, manage_worker=True)
        uvicorn.run(app_, host=settings.http_host, port=settings.http_port, log_level="info")


@app.command("staff-token")
def staff_token() -> None:
    """Print a new random staff bearer token and the SHA-256 the host's settings list."""
    import secrets

    from host.settings import staff_token_sha256

    token = secrets.token_urlsafe(32)
    typer.echo(f"token   {token}\nsha256  {staff_token_sha256(token)}")
    typer.echo(
        "add the sha256 to SMARTCART_HOST_STAFF_TOKEN_SHA256 (a JSON list); give the token "
        "to the staff member: the host never stores it",
        err=True,
    )


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="0 picks a free port.")] = 0,
) -> None:
    """Run the embedded MQTT 3.1.1 broker (amqtt) for development until interrupted."""
    import time

    from host.broker import EmbeddedBroker

    with EmbeddedBroker(port=port) as b:
        typer.echo(f"embedded broker at {b.url} (Ctrl-C stops it)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@app.command()
def bench(
    events: Annotated[int, typer.Option(min=1, help="Events to publish in all.")] = 20_000,
    carts: Annotated[int, typer.Option(min=1, help="Simulated carts.")] = 50,
    publishers: Annotated[int, typer.Option(min=1, help="Publishing MQTT clients.")] = 2,
    duplicates: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share sent twice.")] = 0.02,
    batch_max: Annotated[int, typer.Option(min=1, help="Most messages per transaction.")] = 1000,
    broker_url: Annotated[
        str, typer.Option(help="Broker to publish through.")
    ] = "mqtt://127.0.0.1:1883",
    database_url: Annotated[
        str, typer.Option(help="Database (PostgreSQL: a temporary schema is used).")
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/test",
) -> None:
    """Publish N events from M carts through the broker; print the host's events/s."""
    from host import bench as _bench

    where = database_url.split("@")[-1]
    typer.echo(f"bench: {events} events from {carts} carts via {broker_url} into {where}")
    r = _bench.run(
        events=events,
        carts=carts,
        broker_url=broker_url,
        database_url=database_url,
        publishers=publishers,
        duplicate_share=duplicates,
        batch_max=batch_max,
    )
    typer.echo(
        f"published {r.events} events (+{r.duplicates_sent} resent duplicates) "
        f"in {r.publish_s:.2f} s\n"
        f"applied   {r.events} events in {r.apply_s:.2f} s in {r.batches} transactions "
        f"(mean {r.events / max(r.batches, 1):.0f} events each)\n"
        f"rate      {r.events_per_s:,.0f} events/s (wall clock, first publish to last apply)\n"
        f"host CPU  {r.host_cpu_s:.2f} s = {r.events_per_cpu_s:,.0f} events per CPU-second "
        f"(worker process; the machine's other load excluded)\n"
        f"check     lost={r.lost} duplicated={r.duplicated} dead_letters={r.dead_letters} "
        f"-> {'OK' if r.ok else 'FAILED'}"
    )
    if not r.ok:
        raise typer.Exit(1)
