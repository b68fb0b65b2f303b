"""Opening the cart's two ONNX models (detector, recognizer) for the pipeline.

Paths come from the cart config or the command line; where none is given, the models manifest
(``models.manifest.load``, which verifies the file's checksum) names the shipped default. The
recognizer's labels are the catalog's SKUs in dataset-class-id order, the order it was trained
in. Imports of onnxruntime happen here, at call time, never when the CLI loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from firmware.errors import FirmwareError
from smartcart.catalog import Catalog

if TYPE_CHECKING:  # onnxruntime loads only when models are opened
    from firmware.config import ModelsConfig
    from firmware.vision.detector import Detector
    from firmware.vision.recognizer import Recognizer
    from firmware.vision.store_head import StoreHead


class ModelsMissing(FirmwareError):
    """No model file given and none found through the manifest."""


Variant = Literal["int8", "fp32"]


def _manifest_path(name: str, variant: Variant) -> Path:
    try:
        from models import manifest  # the models owner's manifest (checksummed)
    except ImportError as e:
        raise ModelsMissing(f"no {name} model given and models.manifest is not available") from e
    return Path(manifest.load(name, variant))


def open_models(
    catalog: Catalog,
    detector_path: Path | None = None,
    recognizer_path: Path | None = None,
    threads: int = 1,
    score_threshold: float = 0.3,
    detector_variant: Variant = "fp32",
    recognizer_variant: Variant = "fp32",
    detector_views: int = 1,
    store_head: Path | None = None,
    use_store_head: bool = True,
) -> tuple[Detector, Recognizer]:
    """Variants: on this x86 dev CPU (`smartcart models bench`, 4 Dec 2026) int8 runs at
    fp32's speed (detector 10.6 vs 9.6 ms a frame, recognizer 22 vs 24 ms a crop) and fp32 is
    the more accurate, so both default to fp32. On the Pi, measure with ``smartcart cart
    bench``. ``detector_views``: see ``first_views``. The store head (``store_head`` or, with the
    manifest's recognizer, the manifest's head) is mixed into the recognizer's scores unless
    ``use_store_head`` is false; a head fitted on another recognizer is refused."""
    from firmware.vision.detector import Detector, first_views
    from firmware.vision.recognizer import Recognizer

    det_path = detector_path or _manifest_path("detector", detector_variant)
    det = Detector(det_path, threads, score_threshold, first_views(detector_views))
    labels = [p.sku for p in catalog.by_class_id()]
    rec_path = recognizer_path or _manifest_path("recognizer", recognizer_variant)
    head = _store_head(store_head, recognizer_path) if use_store_head else None
    rec = Recognizer(rec_path, labels, threads, head)
    if head is not None:
        # A head is fitted on the fp32 graph; the manifest's int8 graph of the same model computes
        # the same embedding to int8 precision (top-1 agreement 99.5 %), so it takes that head too.
        fitted_on = _recognizer_sha256(recognizer_path)
        head.check_fits(rec.labels, rec.embedding_dim, fitted_on)
    rec.warm_up()
    return det, rec


def open_configured(
    catalog: Catalog,
    cfg: ModelsConfig,
    detector_path: Path | None = None,
    recognizer_path: Path | None = None,
) -> tuple[Detector, Recognizer]:
    """``open_models`` as cart.toml's ``[models]`` says (paths given here take precedence)."""
    return open_models(
        catalog,
        detector_path or cfg.detector,
        recognizer_path or cfg.recognizer,
        cfg.threads,
        detector_variant=cfg.detector_variant,
        recognizer_variant=cfg.recognizer_variant,
        detector_views=cfg.detector_views,
        store_head=cfg.store_head,
        use_store_head=cfg.use_store_head,
    )


def _store_head(path: Path | None, recognizer_path: Path | None) -> StoreHead | None:
    from firmware.vision.store_head import StoreHead

    if path is not None:
        return StoreHead.load(path)
    if recognizer_path is not None:
        return None  # the manifest's head belongs to the manifest's recognizer only
    try:
        from models import manifest
    except ImportError:
        return None
    if "store-head" not in manifest.read():
        return None
    return StoreHead.load(manifest.load("store-head", "fp32"))


def _recognizer_sha256(recognizer_path: Path | None) -> str:
    from models import manifest

    if recognizer_path is None:
        return manifest.entry("recognizer").sha256["fp32"]
    return manifest.sha256_of(recognizer_path)
