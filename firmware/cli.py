"""``smartcart cart``: the cart's commands (run, record, replay, bench; fleet from its owner).

Only typer and the standard library are imported here; each command imports what it needs, so
``smartcart --help`` stays instant and the host never loads cart code. Privacy by default: no
command but ``record`` ever writes an image, and only events leave the cart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from firmware.calibrate import app as calibrate_app
from firmware.fleet.cli import app as fleet_app
from firmware.screen.cli import screen as screen_command
from smartcart.contract.signing_cli import cart_app as key_app

if TYPE_CHECKING:
    from firmware.config import CartConfig

app = typer.Typer(no_args_is_help=True)
app.add_typer(fleet_app, name="fleet", help="Fleet updates: signed A/B bundles with rollback.")
app.command(name="screen")(screen_command)  # the touchscreen without the camera (firmware/screen)
app.add_typer(key_app, name="key", help="This cart's event-signing key: new, show.")
app.add_typer(calibrate_app, name="calibrate", help="Calibrate: camera polygon, scale.")

OptConfig = Annotated[
    Path | None, typer.Option("--config", "-c", help="Cart TOML config (firmware/config.py)")
]
Config = Annotated[Path, typer.Option("--config", "-c", help="Cart TOML config")]
Detector = Annotated[
    Path | None, typer.Option("--detector", help="Detector ONNX (default: the manifest's)")
]
Recognizer = Annotated[
    Path | None, typer.Option("--recognizer", help="Recognizer ONNX (default: manifest's)")
]


def _config(path: Path | None, cart_id: str = "cart-replay") -> CartConfig:
    from firmware.config import CartConfig, load_config

    return load_config(path) if path is not None else CartConfig(cart_id=cart_id)


@app.command()
def replay(
    feeds: Annotated[list[Path], typer.Argument(help="cartfeed/1 folders", exists=True)],
    events_out: Annotated[
        Path,
        typer.Option(help="Events JSONL (one feed) or a folder for <feed>.jsonl files"),
    ],
    config: OptConfig = None,
    detector: Detector = None,
    recognizer: Recognizer = None,
    tolerate_truncation: Annotated[
        bool, typer.Option(help="A video shorter than frames.csv ends the replay, not fails it")
    ] = False,
    publish: Annotated[
        bool,
        typer.Option(
            help="Also publish the events to the config's broker as the live cart would "
            "(outbox + MQTT; the host must open a session for the cart)"
        ),
    ] = False,
) -> None:
    """Run the full pipeline on recorded feeds as fast as the CPU allows; write their events."""
    from contextlib import nullcontext

    import cv2
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from firmware.camera.feed import FeedSource
    from firmware.errors import FirmwareError
    from firmware.models import open_configured
    from firmware.publish import LivePublisher
    from firmware.replay import replay_feed, write_events
    from smartcart.catalog import default_catalog

    cv2.setNumThreads(1)
    cfg = _config(config)
    catalog = default_catalog()
    det, rec = open_configured(catalog, cfg.models, detector, recognizer)
    one_file = len(feeds) == 1 and events_out.suffix == ".jsonl"
    total = sum(FeedSource(f).frame_count for f in feeds) or None
    failed = 0
    publisher = LivePublisher(cfg) if publish else nullcontext()
    # Warnings (a scale read too fast, say) print above the progress bar, not through it.
    with publisher as pub, tqdm(total=total, unit="frame", desc="replay") as bar, \
            logging_redirect_tqdm():  # fmt: skip
        for feed in feeds:
            try:
                result = replay_feed(
                    feed,
                    det,
                    rec,
                    catalog,
                    cfg.basket,
                    cfg.scale,
                    tolerate_truncation=tolerate_truncation,
                    on_frame=bar.update,
                    on_change=None if pub is None else pub.submit,
                )
            except FirmwareError as e:
                failed += 1
                tqdm.write(f"{feed}: {e}")
                continue
            out = events_out if one_file else events_out / f"{feed.resolve().name}.jsonl"
            write_events(out, result.changes)
            tqdm.write(
                f"{feed.name}: {len(result.changes)} events, "
                f"{result.frames / max(result.wall_s, 1e-9):.0f} fps -> {out}"
            )
    if failed:
        raise typer.Exit(1)


@app.command()
def bench(
    feed: Annotated[Path, typer.Argument(help="A cartfeed/1 folder to run", exists=True)],
    detector: Detector = None,
    recognizer: Recognizer = None,
    frames: Annotated[int, typer.Option(help="Frames to time (the feed is looped)")] = 600,
    views: Annotated[
        int, typer.Option(min=1, max=4, help="Detector views fused per frame (cart.toml's)")
    ] = 1,
) -> None:
    """Frames per second of the full pipeline on one core, per-stage ms, idle-cart CPU."""
    from firmware.bench import run_bench
    from firmware.models import open_models
    from smartcart.catalog import default_catalog

    det, rec = open_models(default_catalog(), detector, recognizer, threads=1, detector_views=views)
    run_bench(feed, det, rec, frames)


@app.command()
def harvest(
    feeds: Annotated[
        list[Path], typer.Argument(help="Recorded cartfeed/1 folders with truth.jsonl", exists=True)
    ],
    out: Annotated[Path, typer.Option(help="Crops folder (images/ + labels.csv), appended to")],
    config: OptConfig = None,
) -> None:
    """Labelled crops of the adds in recorded trips, for `smartcart models fit-store-head`."""
    import cv2

    from firmware.errors import FirmwareError
    from firmware.harvest import harvest as run_harvest
    from firmware.models import open_configured
    from smartcart.catalog import default_catalog

    cv2.setNumThreads(1)
    cfg = _config(config)
    catalog = default_catalog()
    det, rec = open_configured(catalog, cfg.models)
    try:
        report = run_harvest(feeds, det, rec, catalog, out)
    except FirmwareError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from e
    typer.echo(
        f"{report.feeds} feeds: {report.labelled_adds} of {report.true_adds} true adds labelled "
        f"({report.relabelled_adds} the cart had named wrong), {report.crops} crops -> {out}"
    )


@app.command()
def record(
    out: Annotated[Path, typer.Argument(help="New cartfeed/1 folder to write")],
    config: Config,
    seconds: Annotated[float, typer.Option(help="How long to record")] = 60.0,
) -> None:
    """Record a cartfeed/1 feed (video, frames.csv, scale.csv) from the camera and scale.

    The only command that stores images: use it to collect real data, with consent.
    """
    from firmware.record import record_feed

    n = record_feed(_config(config), out, seconds)
    typer.echo(f"{out}: {n} frames")


@app.command()
def run(
    config: Config,
    detector: Detector = None,
    recognizer: Recognizer = None,
) -> None:
    """The live cart: camera + scale -> pipeline -> durable outbox -> MQTT to the host."""
    from firmware.live import run_live

    raise typer.Exit(run_live(_config(config), detector, recognizer))
