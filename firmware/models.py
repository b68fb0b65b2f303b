"""Opening the cart's two ONNX models (detector, recognizer) for the pipeline.

Paths come from the cart config or the command line; where none is given, the models manifest
(``models.manifest.load``, which verifies the file's checksum) names the shipped default. The
recognizer's labels are the catalog's SKUs in dataset-class-id order, the order it was trained
in. Imports of onnxruntime happen here, at call time, never when the CLI loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from firmware.errors import FirmwareError
from smartcart.catalog import Catalog

if TYPE_CHECKING:  # onnxruntime loads only when models are opened
    from firmware.vision.detector import Detector
    from firmware.vision.recognizer import Recognizer


class ModelsMissing(FirmwareError):
    """No model file given and none found through the manifest."""


def _manifest_path(name: str) -> Path:
    try:
        from models import manifest  # the models owner's manifest (checksummed)
    except ImportError as e:
        raise ModelsMissing(f"no {name} model given and models.manifest is not available") from e
    return Path(manifest.load(name))


def open_models(
    catalog: Catalog,
    detector_path: Path | None = None,
    recognizer_path: Path | None = None,
    threads: int = 1,
    score_threshold: float = 0.3,
) -> tuple[Detector, Recognizer]:
    from firmware.vision.detector import Detector
    from firmware.vision.recognizer import Recognizer

    det = Detector(detector_path or _manifest_path("detector"), threads, score_threshold)
    labels = [p.sku for p in catalog.by_class_id()]
    rec = Recognizer(recognizer_path or _manifest_path("recognizer"), labels, threads)
    return det, rec
