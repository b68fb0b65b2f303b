"""``smartcart models``: train, export, evaluate and benchmark the cart's two ONNX models.

Only typer and the standard library at module level. ``train-*``, ``export`` and ``retrain`` need
the ``train`` extra (torch); ``evaluate`` and ``bench`` need only onnxruntime, like the cart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)

RUNS_DIR = Path("artifacts")
MEMBERS_DIR = RUNS_DIR / "recognizer" / "members"


@app.command("train-recognizer")
def train_recognizer(
    out: Annotated[Path, typer.Option(help="Run folder")] = RUNS_DIR / "recognizer" / "run",
    epochs: Annotated[int, typer.Option(min=1)] = 7,
    size: Annotated[int, typer.Option(help="Input size of the last epochs, px")] = 160,
    low_res_epochs: Annotated[int, typer.Option(help="Epochs at --low-res first")] = 0,
    low_res: Annotated[int, typer.Option(help="Input size of the first epochs, px")] = 160,
    seed: int = 0,
    threads: Annotated[int, typer.Option(min=1)] = 2,
    init: Annotated[Path | None, typer.Option(help="Start from these EMA weights")] = None,
    lr_scale: Annotated[float, typer.Option(help="Multiply both learning rates")] = 1.0,
    sim_crops: Annotated[
        Path | None, typer.Option(help="`smartcart sim crops` folder to train on as well")
    ] = None,
    sim_val: Annotated[Path | None, typer.Option(help="Sim crops folder scored beside val")] = None,
    sim_per_epoch: Annotated[int, typer.Option(min=0, help="Sim crops drawn per epoch")] = 1500,
    stop_after: Annotated[
        int | None, typer.Option(min=1, help="End after this many epochs of the schedule")
    ] = None,
    teacher: Annotated[
        Path | None, typer.Option(help="Distil from this exported recognizer (ONNX) as well")
    ] = None,
    distill_weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Weight of the teacher's soft targets")
    ] = 0.7,
    distill_temp: Annotated[float, typer.Option(min=0.1, help="Distillation temperature")] = 2.0,
) -> None:
    """Fine-tune EfficientNet-Lite0 on the Grocery Store Dataset (EMA weights per epoch)."""
    from models.train_recognizer import RecognizerTrainConfig, train

    base = RecognizerTrainConfig(out)
    cfg = RecognizerTrainConfig(
        out,
        size_px=size,
        epochs=epochs,
        low_res_px=low_res,
        low_res_epochs=low_res_epochs,
        seed=seed,
        threads=threads,
        init_checkpoint=init,
        lr_backbone=base.lr_backbone * lr_scale,
        lr_head=base.lr_head * lr_scale,
        sim_crops_dir=sim_crops,
        sim_val_dir=sim_val,
        sim_per_epoch=sim_per_epoch,
        stop_after=stop_after,
        teacher=teacher,
        distill_weight=distill_weight,
        distill_temp=distill_temp,
    )
    typer.echo(f"run folder {train(cfg)}")


@app.command("train-detector")
def train_detector(
    data: Annotated[Path, typer.Argument(help="`smartcart sim trainset` folder (YOLO layout)")],
    out: Annotated[Path, typer.Option(help="Run folder")] = RUNS_DIR / "detector" / "run",
    epochs: Annotated[int, typer.Option(min=1)] = 8,
    seed: int = 0,
    threads: Annotated[int, typer.Option(min=1)] = 2,
    frozen_blocks: Annotated[int, typer.Option(help="Stem + this many blocks stay ImageNet's")] = 5,
    neck_ch: Annotated[int, typer.Option(help="Channels of the neck and heads")] = 64,
    head_units: Annotated[int, typer.Option(help="Depthwise + pointwise pairs per head")] = 1,
    context_blocks: Annotated[int, typer.Option(help="Stride-32 blocks added top-down")] = 0,
    size: Annotated[
        str | None, typer.Option(help="Input WIDTHxHEIGHT, multiples of 16 (default: 384x288)")
    ] = None,
) -> None:
    """Train the product/hand detector on rendered frames (EMA weights per epoch)."""
    from host.sim.cli import parse_size
    from models.detector_net import DetectorArch
    from models.train_detector import INPUT_WH_PX, DetectorTrainConfig, train

    arch = DetectorArch(frozen_blocks, neck_ch, head_units, context_blocks)
    input_wh_px = parse_size(size) if size else INPUT_WH_PX
    try:
        cfg = DetectorTrainConfig(data, out, epochs=epochs, seed=seed, threads=threads,
                                  arch=arch, input_wh_px=input_wh_px)  # fmt: skip
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    typer.echo(f"run folder {train(cfg)}")


@app.command("export")
def export(
    model: Annotated[str, typer.Argument(help="recognizer or detector")] = "recognizer",
    run: Annotated[
        list[Path] | None, typer.Option(help="Training run folder (recognizer: repeatable)")
    ] = None,
    member: Annotated[
        list[Path] | None, typer.Option(help="Recognizer: an already exported member ONNX")
    ] = None,
    int8_only: Annotated[
        bool, typer.Option(help="Detector: re-make only int8, from the committed fp32")
    ] = False,
    data: Annotated[
        Path, typer.Option(help="Detector --int8-only: `sim trainset` folder to calibrate on")
    ] = RUNS_DIR / "detector" / "train_s1_384",
) -> None:
    """Choose on val, export fp32 + int8 ONNX into models/ and update the manifest.

    Recognizer: each run becomes a member (artifacts/recognizer/members/RUN.onnx); the members
    (and any --member) are merged into the best ensemble and input size on val."""
    runs = run or [RUNS_DIR / model / "run"]
    if model == "recognizer":
        from models.recognizer_release import choose_ensemble, export_member, release_ensemble

        members = [export_member(r, MEMBERS_DIR / f"{r.name}.onnx") for r in runs]
        choice, table = choose_ensemble([*members, *(member or [])])
        for row in table:
            typer.echo(json.dumps(row))
        typer.echo(f"chosen: {choice}")
        release_ensemble(choice)
    elif model == "detector" and int8_only:
        from models.detector_release import requantize_detector

        requantize_detector(data)
    elif model == "detector":
        from models.detector_release import release_detector

        release_detector(runs[0])
    else:
        raise typer.BadParameter(f"unknown model {model!r}")
    typer.echo("manifest updated; now run `smartcart models evaluate --record`")


@app.command("split-recognizer")
def split_recognizer(
    out: Annotated[Path, typer.Option(help="Folder for the members")] = MEMBERS_DIR / "shipped",
) -> None:
    """Write the committed recognizer's members as their own graphs (named as the manifest
    records them), to pass to `export recognizer --member` beside new runs (their training runs
    need not exist)."""
    from models import manifest
    from models.ensemble import split

    fp32 = manifest.entry("recognizer").path("fp32")
    names = manifest.raw_record("recognizer").get("training", {}).get("members", [])
    for path in split(fp32, out, names):
        typer.echo(path)


@app.command("fit-store-head")
def fit_store_head(
    crops: Annotated[
        list[Path], typer.Option("--crops", help="Labelled crops (`smartcart sim crops` layout)")
    ],
    val: Annotated[Path, typer.Option(help="Other crops, to choose the blend on")],
    out: Annotated[
        Path | None, typer.Option(help="Head file (.npz) for cart.toml's [models] store_head")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(help="Write models/store-head.npz and name it in the manifest as the default"),
    ] = False,
) -> None:
    """Fit the store's own head over the shipped recognizer's embedding (no retraining)."""
    from dataclasses import asdict

    from models import store_head

    if record == (out is not None):
        raise typer.BadParameter("give either --out FILE or --record")
    head, report = store_head.fit_store_head(crops, val)
    if out is None:
        store_head.release(head, report)
    else:
        head.save(out)
    typer.echo(json.dumps(asdict(report), indent=2))


@app.command("evaluate")
def evaluate(
    model: Annotated[str, typer.Argument(help="recognizer or detector")] = "recognizer",
    record: Annotated[bool, typer.Option(help="Write the figures into the manifest")] = False,
    frames: Annotated[int, typer.Option(help="Detector: frames to render (seed 1000)")] = 200,
    folder: Annotated[
        Path | None, typer.Option(help="Detector: an already rendered seed-1000 set")
    ] = None,
) -> None:
    """Evaluate the committed models with ONNX Runtime (recognizer: the test split)."""
    if model == "recognizer":
        from models.evaluate import evaluate_recognizer_cli

        evaluate_recognizer_cli(record)
    elif model == "detector":
        from models.detector_eval import evaluate_detector_cli

        evaluate_detector_cli(record, frames, folder)
    else:
        raise typer.BadParameter(f"unknown model {model!r}")


@app.command("retrain")
def retrain(
    work: Annotated[Path, typer.Option(help="Folder for data and runs")] = RUNS_DIR / "retrain",
    detector_images: Annotated[int, typer.Option(min=100)] = 4000,
    detector_epochs: Annotated[int, typer.Option(min=1)] = 20,
    seed: int = 0,
    member_seeds: Annotated[
        list[int] | None, typer.Option("--member-seed", help="Recognizer members' seeds")
    ] = None,
) -> None:
    """Both models from scratch, as committed: data, training, export, evaluation, manifest."""
    member_seeds = member_seeds or [5, 6]
    from host.sim.crops import generate as generate_crops
    from host.sim.trainset import generate
    from models import store_head
    from models.detector_eval import evaluate_detector_cli
    from models.detector_release import release_detector
    from models.evaluate import evaluate_recognizer_cli
    from models.recognizer_release import choose_ensemble, export_member, release_ensemble
    from models.train_detector import INPUT_WH_PX, DetectorTrainConfig
    from models.train_detector import train as train_det
    from models.train_recognizer import RecognizerTrainConfig
    from models.train_recognizer import train as train_rec

    # The committed recipe (models/README.md), once per member seed. Stage 1: real photos at
    # 224 px, a whole 14-epoch schedule. Stage 2: 7 epochs from its last EMA weights at half
    # the learning rates with 1,500 simulator crops a epoch joining the photos (sim seeds 2 and
    # 3; feeds never use them). The members are merged into the best ensemble on val.
    crops_train = generate_crops(work / "crops-train", 2500, seed=2).parent
    crops_val = generate_crops(work / "crops-val", 250, seed=3).parent
    base = RecognizerTrainConfig(work)
    members = []
    for member_seed in member_seeds:
        stage1 = train_rec(
            RecognizerTrainConfig(
                work / f"recognizer-{member_seed}-1",
                size_px=224,
                epochs=14,
                low_res_epochs=0,
                seed=member_seed,
            )
        )
        stage2 = train_rec(
            RecognizerTrainConfig(
                work / f"recognizer-{member_seed}-2",
                size_px=224,
                epochs=7,
                low_res_epochs=0,
                seed=member_seed,
                init_checkpoint=stage1 / "ema_epoch14.pt",
                lr_backbone=0.5 * base.lr_backbone,
                lr_head=0.5 * base.lr_head,
                sim_crops_dir=crops_train,
                sim_val_dir=crops_val,
                sim_per_epoch=1500,
            )
        )
        members.append(export_member(stage2, work / "members" / f"seed{member_seed}.onnx"))
    release_ensemble(choose_ensemble(members)[0])
    evaluate_recognizer_cli(record=True)
    # The demo store's head: its "recorded" crops are the simulator's, seeds 2, 4 and 5.
    crops_store = [
        generate_crops(work / "crops-store-4", 7500, seed=4).parent,
        generate_crops(work / "crops-store-5", 15000, seed=5).parent,
    ]
    store_head.release(*store_head.fit_store_head([crops_train, *crops_store], crops_val))
    data = work / "detector-data"
    generate(data, detector_images, seed=1, size_px=INPUT_WH_PX)
    det_run = train_det(
        DetectorTrainConfig(data, work / "detector", epochs=detector_epochs, seed=seed)
    )
    release_detector(det_run)
    evaluate_detector_cli(record=True)


@app.command("bench")
def bench(
    threads: Annotated[int, typer.Option(min=1)] = 1,
    runs: Annotated[int, typer.Option(min=5)] = 50,
) -> None:
    """Print latency (ms, median and p90) per crop / per frame, fp32 and int8."""
    from models.bench import bench as run_bench

    for name in ("detector", "recognizer"):
        for variant in ("fp32", "int8"):
            lat = run_bench(name, variant, threads, runs)
            unit = "crop" if name == "recognizer" else "frame"
            typer.echo(
                f"{name:<10} {variant:<4} threads={threads}: {lat.median_ms:6.2f} ms/{unit} "
                f"median, {lat.p90_ms:6.2f} ms p90 ({runs} runs)"
            )
