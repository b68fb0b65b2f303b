"""The bundle manifest: what a bundle contains, by SHA-256, and who vouches for it.

``manifest.json`` lists every payload file with its size and SHA-256. The manifest's exact
bytes are signed with Ed25519 (``manifest.sig``, the raw 64-byte signature); the cart holds the
fleet's public keys in ``/etc/smartcart/fleet-keys/*.pem``. Checksums alone would only catch
a corrupted download; the signature is what stops a tampered one, because an attacker who can
change a file can also rewrite its checksum.

Paths are POSIX, relative, and may not climb out of the bundle (``..``) — checked here, before
anything touches the disk.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from firmware.fleet.errors import ManifestInvalid, SignatureInvalid

FORMAT = "smartcart-bundle/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
PAYLOAD_DIR = "payload"
_CHUNK_BYTES = 1 << 20

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(..., description="POSIX path relative to the payload directory")
    size_bytes: int = Field(..., ge=0)
    sha256: Sha256Hex

    @field_validator("path")
    @classmethod
    def _relative_and_contained(cls, v: str) -> str:
        p = PurePosixPath(v)
        if p.is_absolute() or not p.parts or ".." in p.parts or str(p) != v:
            raise ValueError(f"payload path must be a plain relative POSIX path, got {v!r}")
        return v


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = Field(FORMAT, pattern=f"^{FORMAT}$")
    version: str = Field(..., pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")
    created_at: AwareDatetime = Field(..., description="Release time; orders bundles")
    files: tuple[FileEntry, ...] = Field(..., min_length=1)

    @field_validator("files")
    @classmethod
    def _unique_paths(cls, v: tuple[FileEntry, ...]) -> tuple[FileEntry, ...]:
        paths = [f.path for f in v]
        if len(set(paths)) != len(paths):
            raise ValueError("a payload path is listed twice")
        return v

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=2).encode("utf-8") + b"\n"

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            return cls.model_validate_json(raw)
        except ValidationError as e:
            raise ManifestInvalid(f"{MANIFEST_NAME}: {e}") from e


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def describe_tree(payload: Path, version: str, created_at: datetime) -> Manifest:
    """The manifest of every regular file under ``payload``, sorted by path."""
    entries = [
        FileEntry(
            path=p.relative_to(payload).as_posix(),
            size_bytes=p.stat().st_size,
            sha256=sha256_file(p),
        )
        for p in sorted(payload.rglob("*"))
        if p.is_file() and not p.is_symlink()
    ]
    return Manifest(version=version, created_at=created_at, files=tuple(entries))


def generate_key() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def sign(manifest_bytes: bytes, private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureInvalid("the signing key is not an Ed25519 private key")
    return key.sign(manifest_bytes)


def load_trusted_keys(keys_dir: Path) -> tuple[Ed25519PublicKey, ...]:
    """Every ``*.pem`` public key in ``keys_dir`` (none if the folder does not exist)."""
    keys = []
    for pem in sorted(keys_dir.glob("*.pem")) if keys_dir.is_dir() else ():
        try:
            key = serialization.load_pem_public_key(pem.read_bytes())
        except ValueError as e:
            raise SignatureInvalid(f"{pem}: not a PEM public key: {e}") from e
        if not isinstance(key, Ed25519PublicKey):
            raise SignatureInvalid(f"{pem}: not an Ed25519 public key")
        keys.append(key)
    return tuple(keys)


def verify_signature(
    manifest_bytes: bytes, signature: bytes | None, trusted: tuple[Ed25519PublicKey, ...]
) -> None:
    """Raise ``SignatureInvalid`` unless one of ``trusted`` signed exactly these bytes."""
    if signature is None:
        raise SignatureInvalid(f"the bundle has no {SIGNATURE_NAME} and a signature is required")
    if not trusted:
        raise SignatureInvalid("a signature is required but no trusted fleet key is installed")
    for key in trusted:
        try:
            key.verify(signature, manifest_bytes)
        except InvalidSignature:
            continue
        return
    raise SignatureInvalid("the manifest signature matches none of the trusted fleet keys")
