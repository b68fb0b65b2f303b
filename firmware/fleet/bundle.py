"""Packing a bundle (release side) and unpacking + verifying one (cart side).

A bundle is a plain tar::

    manifest.json        # firmware.fleet.manifest.Manifest
    manifest.sig         # Ed25519 signature of manifest.json's exact bytes (optional when unsigned)
    payload/...          # wheels/*.whl (the smartcart wheel + its aarch64 dependencies), models/...

Unpacking uses tarfile's ``data`` filter (no links out, no devices, no absolute paths), accepts
only those three top-level names, then verifies the signature over the raw manifest bytes before
trusting anything in them, and finally every payload file against the manifest: nothing
missing, nothing extra, every size and SHA-256 equal. Only a ``VerifiedBundle`` reaches a slot.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from firmware.fleet.errors import BundleRejected, ChecksumMismatch, ManifestInvalid
from firmware.fleet.manifest import (
    MANIFEST_NAME,
    PAYLOAD_DIR,
    SIGNATURE_NAME,
    Manifest,
    describe_tree,
    sha256_file,
    sign,
    verify_signature,
)


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """Which manifests this cart accepts."""

    keys: tuple[Ed25519PublicKey, ...]
    require_signature: bool = True  # False only for bench carts: checksums are still verified


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    manifest: Manifest
    payload_dir: Path  # unpacked and verified, ready to be moved into a slot
    signed: bool


def build_bundle(
    payload: Path, version: str, out: Path, created_at: datetime, private_pem: bytes | None
) -> Manifest:
    """Pack ``payload`` into the bundle tar ``out``, signed when a private key is given."""
    manifest = describe_tree(payload, version, created_at)
    manifest_bytes = manifest.to_bytes()
    mtime = int(created_at.timestamp())

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        # Same bytes for the same inputs: no builder's user names, clocks or umask leak in.
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = mtime
        info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info

    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, MANIFEST_NAME, manifest_bytes, mtime)
        if private_pem is not None:
            _add_bytes(tar, SIGNATURE_NAME, sign(manifest_bytes, private_pem), mtime)
        for entry in manifest.files:
            tar.add(payload / entry.path, f"{PAYLOAD_DIR}/{entry.path}", filter=normalise)
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))


def unpack_bundle(bundle: Path, staging: Path, trust: TrustPolicy) -> VerifiedBundle:
    """Unpack ``bundle`` into the empty folder ``staging`` and verify it completely."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    _extract(bundle, staging)

    manifest_path = staging / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ManifestInvalid(f"{bundle}: no {MANIFEST_NAME}")
    manifest_bytes = manifest_path.read_bytes()
    sig_path = staging / SIGNATURE_NAME
    signature = sig_path.read_bytes() if sig_path.is_file() else None
    if trust.require_signature or signature is not None:
        # A signature that is present is always checked, even where none is required.
        verify_signature(manifest_bytes, signature, trust.keys)
    manifest = Manifest.from_bytes(manifest_bytes)
    payload_dir = staging / PAYLOAD_DIR
    verify_payload(payload_dir, manifest)
    return VerifiedBundle(manifest=manifest, payload_dir=payload_dir, signed=signature is not None)


def _extract(bundle: Path, staging: Path) -> None:
    allowed_top = {MANIFEST_NAME, SIGNATURE_NAME, PAYLOAD_DIR}
    try:
        with tarfile.open(bundle) as tar:
            for member in tar.getmembers():
                top = member.name.split("/", 1)[0]
                if top not in allowed_top or not (member.isfile() or member.isdir()):
                    raise BundleRejected(f"{bundle}: unexpected member {member.name!r}")
            tar.extractall(staging, filter="data")
    except (OSError, tarfile.TarError) as e:
        raise BundleRejected(f"{bundle}: not a readable bundle tar: {e}") from e


def verify_payload(payload_dir: Path, manifest: Manifest) -> None:
    """Raise ``ChecksumMismatch`` unless ``payload_dir`` holds exactly the manifest's files."""
    present = (
        {p.relative_to(payload_dir).as_posix() for p in payload_dir.rglob("*") if not p.is_dir()}
        if payload_dir.is_dir()
        else set()
    )
    listed = {f.path for f in manifest.files}
    if extra := sorted(present - listed):
        raise ChecksumMismatch(f"files not in the manifest: {extra[:5]}")
    if missing := sorted(listed - present):
        raise ChecksumMismatch(f"files in the manifest but not in the bundle: {missing[:5]}")
    for entry in manifest.files:
        path = payload_dir / entry.path
        size_bytes = path.stat().st_size
        if size_bytes != entry.size_bytes:
            raise ChecksumMismatch(
                f"{entry.path}: {size_bytes} bytes, manifest says {entry.size_bytes}"
            )
        if (actual := sha256_file(path)) != entry.sha256:
            raise ChecksumMismatch(f"{entry.path}: sha256 {actual}, manifest says {entry.sha256}")
