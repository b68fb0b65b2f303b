"""``smartcart sim``: render feeds, training data, previews and the cut-out contact sheet.

Only typer and the standard library at module level; the renderer (numpy, cv2) is imported
inside each command so ``smartcart --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)


def _size(text: str) -> tuple[int, int]:
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
) -> None:
    """Detector training images with product (0) and hand (1) boxes."""
    from host.sim.trainset import generate

    data_yaml = generate(out, images, seed, size_px=_size(size))
    typer.echo(f"wrote {images} images; dataset config {data_yaml}")


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
