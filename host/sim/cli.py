"""``smartcart sim``: render feeds, training data, previews and the cut-out contact sheet.

Only typer and the standard library at module level; the renderer (numpy, cv2) is imported
inside each command so ``smartcart --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError as e:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT, got {text!r}") from e
    if w < 64 or h < 64:
        raise typer.BadParameter("width and height must be at least 64 px")
    return w, h


@app.command()
def trainset(
    out: Annotated[Path, typer.Argument(help="Output folder (YOLO layout, data.yaml inside)")],
    images: Annotated[int, typer.Option("--images", "-n", min=1, help="Number of images")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed: same seed, same images")] = 0,
    size: Annotated[str, typer.Option(help="Image size WIDTHxHEIGHT")] = "640x480",
    workers: Annotated[int, typer.Option(min=1, help="Processes rendering in parallel")] = 1,
) -> None:
    """Detector training images with product (0) and hand (1) boxes."""
    from host.sim.trainset import generate

    data_yaml = generate(out, images, seed, size_px=parse_size(size), workers=workers)
    typer.echo(f"wrote {images} images; dataset config {data_yaml}")


@app.command()
def crops(
    out: Annotated[Path, typer.Argument(help="Output folder (images/ and labels.csv)")],
    scenes: Annotated[int, typer.Option("--scenes", "-n", min=1, help="Scenes to cut")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed: never one an evaluation feed uses")] = 2,
    size: Annotated[str, typer.Option(help="Scene size WIDTHxHEIGHT (main stream)")] = "640x480",
    workers: Annotated[int, typer.Option(min=1, help="Processes rendering in parallel")] = 1,
) -> None:
    """Recognizer training crops of products in rendered scenes, cut as the cart cuts them."""
    from host.sim.crops import generate

    labels = generate(out, scenes, seed, size_px=parse_size(size), workers=workers)
    n = len(labels.read_text(encoding="utf-8").splitlines()) - 1
    typer.echo(f"wrote {n} crops from {scenes} scenes; labels {labels}")


@app.command()
def cutouts(
    out: Annotated[Path, typer.Argument(help="Contact sheet PNG to write")] = Path("cutouts.png"),
) -> None:
    """Make (or load cached) cut-outs of all catalog products and write a contact sheet."""
    import cv2

    from host.sim.cutouts import contact_sheet, cutout_dir, load_cutouts

    cuts = load_cutouts()
    cv2.imwrite(str(out), contact_sheet(cuts))
    typer.echo(f"{len(cuts)} cut-outs cached in {cutout_dir()}; contact sheet {out}")


@app.command()
def render(
    out: Annotated[Path, typer.Argument(help="Feed folder to write (cartfeed/1)")],
    seed: Annotated[int, typer.Option(help="Seed: same seed and options, same bytes")] = 0,
    duration: Annotated[
        float | None, typer.Option(help="Seconds (default: 60-90 s, drawn from the seed)")
    ] = None,
    events: Annotated[
        int | None, typer.Option(help="Adds and removes (default: 6-12, fewer if short)")
    ] = None,
    distractors: Annotated[
        int | None, typer.Option(help="Hovers and empty reaches, no event (default 1-3)")
    ] = None,
    size: Annotated[str, typer.Option(help="Video size WIDTHxHEIGHT")] = "640x480",
    fps: Annotated[float, typer.Option(min=1, help="Frames per second")] = 15.0,
    quality: Annotated[int, typer.Option(min=1, max=100, help="MJPEG quality")] = 50,
    scale_sps: Annotated[
        int, typer.Option(help="The HX711's rate: 10 or 80 samples a second (its RATE pin)")
    ] = 10,
    scale_average: Annotated[
        int, typer.Option(min=1, help="scale.csv holds the mean of each this many samples")
    ] = 1,
) -> None:
    """Render a simulated cart feed: video, frames.csv, scale.csv, truth.jsonl, meta.json."""
    import time

    from host.sim.render import render_feed
    from host.sim.script import HX711_NOISE_G
    from smartcart.feed.format import open_feed

    if scale_sps not in HX711_NOISE_G:
        raise typer.BadParameter(
            "an HX711 gives 10 or 80 samples a second", param_hint="--scale-sps"
        )
    started = time.perf_counter()
    render_feed(out, seed, duration_s=duration, events=events, distractors=distractors,
                size_px=parse_size(size), fps=fps, jpeg_quality=quality, scale_sps=scale_sps,
                scale_average=scale_average)  # fmt: skip
    elapsed = time.perf_counter() - started
    feed = open_feed(out)
    truth = feed.truth() or []
    length_s = float(feed.frame_times()[-1])
    typer.echo(
        f"{out}: {length_s:.1f} s, {len(truth)} events, rendered in {elapsed:.1f} s "
        f"({elapsed / length_s * 60:.1f} s per feed-minute)"
    )


@app.command()
def preview(
    feed: Annotated[Path, typer.Argument(help="Feed folder (cartfeed/1)")],
    out: Annotated[Path, typer.Argument(help="OUT.png (contact sheet) or OUT.gif (animation)")],
    fps: Annotated[float, typer.Option(min=0.5, help="GIF frames per second of feed")] = 4.0,
    seconds: Annotated[
        float | None, typer.Option(help="GIF: only the first SECONDS of the feed")
    ] = None,
) -> None:
    """A contact sheet or GIF of a feed with the basket polygon and truth events drawn on."""
    from host.sim.preview import preview as make_preview

    typer.echo(f"wrote {make_preview(feed, out, fps=fps, seconds=seconds)}")


@app.command()
def bench(
    seconds: Annotated[float, typer.Option(help="Length of the feed to render")] = 60.0,
    images: Annotated[int, typer.Option(help="Training images to render")] = 200,
    size: Annotated[str, typer.Option(help="Size WIDTHxHEIGHT")] = "640x480",
    seed: Annotated[int, typer.Option(help="Seed")] = 0,
) -> None:
    """Print render speed: seconds per feed-minute, and training images per second."""
    import shutil
    import tempfile
    import time

    from host.sim.cutouts import load_cutouts
    from host.sim.render import render_feed
    from host.sim.trainset import generate

    load_cutouts()  # made once and cached: not part of either figure
    work = Path(tempfile.mkdtemp(prefix="smartcart-sim-bench-"))
    # Wall time depends on what else the machine runs; this process's CPU time (all its
    # threads) does much less, so both are printed.
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        render_feed(work / "feed", seed, duration_s=seconds, size_px=parse_size(size))
        feed_s, feed_cpu = time.perf_counter() - wall, time.process_time() - cpu
        mb = (work / "feed" / "video.avi").stat().st_size / 1e6
        wall, cpu = time.perf_counter(), time.process_time()
        generate(work / "trainset", images, seed, size_px=parse_size(size), progress=False)
        train_s, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_min = 60 / seconds
    typer.echo(f"feed: {seconds:.0f} s at {size}: {feed_s * per_min:.1f} s wall, "
               f"{feed_cpu * per_min:.1f} s CPU per feed-minute; video {mb * per_min:.0f} MB "
               f"per feed-minute")  # fmt: skip
    typer.echo(f"trainset: {images} images at {size}: {images / train_s:.1f} images/s wall, "
               f"{train_cpu / images * 1000:.0f} ms CPU per image")  # fmt: skip
