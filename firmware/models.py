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
    from firmware.vision.detector import Detector
    from firmware.vision.recognizer import Recognizer


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
) -> tuple[Detector, Recognizer]:
    """Variants: on this x86 dev CPU (`smartcart models bench`, 4 Dec 2026) int8 runs at
    fp32's speed (detector 10.6 vs 9.6 ms a frame, recognizer 22 vs 24 ms a crop) and fp32 is
    the more accurate, so both default to fp32. On the Pi, measure with ``smartcart cart
    bench``. ``detector_views``: see ``first_views``."""
    from firmware.vision.detector import Detector, first_views
    from firmware.vision.recognizer import Recognizer

    det_path = detector_path or _manifest_path("detector", detector_variant)
    det = Detector(det_path, threads, score_threshold, first_views(detector_views))
    labels = [p.sku for p in catalog.by_class_id()]
    rec_path = recognizer_path or _manifest_path("recognizer", recognizer_variant)
    rec = Recognizer(rec_path, labels, threads)
    return det, rec
