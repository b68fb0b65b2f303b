"""``models/manifest.json``: which model files the cart may load, and their SHA-256.

Standard library only: the cart imports this. ``load(name, variant)`` returns the path of a
model file after checking its digest, so a truncated copy or a swapped file is refused before
ONNX Runtime ever parses it. The manifest also carries each model's input spec, labels and the
figures the model card reports (CI compares fresh evaluations against them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Variant = Literal["int8", "fp32"]
MODELS_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = MODELS_DIR / "manifest.json"


class ManifestError(RuntimeError):
    """The manifest or a model file it names cannot be trusted."""


class ChecksumMismatch(ManifestError):
    pass


@dataclass(frozen=True)
class ModelEntry:
    name: str
    version: str
    files: dict[str, str]  # variant -> file name beside the manifest
    sha256: dict[str, str]  # variant -> hex digest
    input: dict[str, Any]
    outputs: dict[str, Any]
    labels: tuple[str, ...]
    metrics: dict[str, Any]
    base_dir: Path = MODELS_DIR  # model files live beside the manifest that names them

    def path(self, variant: Variant) -> Path:
        if variant not in self.files:
            raise ManifestError(f"{self.name}: no {variant!r} variant (has {sorted(self.files)})")
        return self.base_dir / self.files[variant]


def read(path: Path = MANIFEST_PATH) -> dict[str, ModelEntry]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ManifestError(f"cannot read {path}: {e}") from e
    entries: dict[str, ModelEntry] = {}
    for name, m in raw.get("models", {}).items():
        try:
            entries[name] = ModelEntry(
                name=name,
                version=m["version"],
                files={v: f["file"] for v, f in m["variants"].items()},
                sha256={v: f["sha256"] for v, f in m["variants"].items()},
                input=m["input"],
                outputs=m["outputs"],
                labels=tuple(m.get("labels", ())),
                metrics=m.get("metrics", {}),
                base_dir=path.parent,
            )
        except (KeyError, TypeError) as e:
            raise ManifestError(f"{path}: model {name!r} is missing {e}") from e
    return entries


def entry(name: str, path: Path = MANIFEST_PATH) -> ModelEntry:
    entries = read(path)
    if name not in entries:
        raise ManifestError(f"no model {name!r} in {path} (has {sorted(entries)})")
    return entries[name]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(model: ModelEntry, variant: Variant) -> Path:
    path = model.path(variant)
    if not path.is_file():
        raise ManifestError(f"{model.name} {variant}: file {path} is missing")
    actual = sha256_of(path)
    if actual != model.sha256[variant]:
        raise ChecksumMismatch(
            f"{model.name} {variant}: {path.name} has sha256 {actual}, "
            f"manifest says {model.sha256[variant]}"
        )
    return path


# fp32 by default: on this x86 CPU int8 is no faster (models/README.md, latency) and fp32 is the
# reference; pick int8 explicitly once it is measured faster on the target (a Pi's ARM cores).
DEFAULT_VARIANT: Variant = "fp32"


def load(
    name: str, variant: Variant = DEFAULT_VARIANT, manifest_path: Path = MANIFEST_PATH
) -> Path:
    """The verified path of model ``name``'s ``variant`` (raises before anything is loaded)."""
    return verify(entry(name, manifest_path), variant)


def raw_record(name: str, path: Path = MANIFEST_PATH) -> dict[str, Any]:
    """One model's record as written (training/export side, to amend and write back)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if name not in raw.get("models", {}):
        raise ManifestError(f"no model {name!r} in {path}")
    return raw["models"][name]


def write_model(name: str, record: dict[str, Any], path: Path = MANIFEST_PATH) -> None:
    """Insert or replace one model's record (training/export side; the cart only reads)."""
    raw: dict[str, Any] = {"format": "smartcart-models/1", "models": {}}
    if path.is_file():
        raw = json.loads(path.read_text(encoding="utf-8"))
    raw.setdefault("models", {})[name] = record
    path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")


def set_metrics(name: str, metrics: dict[str, Any], path: Path = MANIFEST_PATH) -> None:
    record = raw_record(name, path)
    record["metrics"] = metrics
    write_model(name, record, path)
