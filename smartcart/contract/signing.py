"""End-to-end integrity of cart messages: each cart signs what it says with its own Ed25519 key.

Why on top of the broker's ACLs: the ACLs stop cart A from *publishing* on cart B's topics, but a
misconfigured broker, a leaked host password or a rogue bridge would let anyone on the store
network write ``carts/B/events``. The host therefore checks, before applying anything, that a
money-moving message was signed by a key enrolled for the cart it names. The private key never
leaves the cart; the host holds public keys only, so a copy of the host's key file forges nothing.

What is signed
--------------
``sig`` is ``<kid>.<signature>``: ``kid`` is the first 16 hex digits of SHA-256 over the raw
public key (so a key names itself, and rotation is "enrol the new kid, retire the old"), the
signature is 64 bytes, base64url without padding. It covers the *canonical payload*: the JSON
object as it travels minus its ``sig`` key, re-serialised with sorted keys and no whitespace,
prefixed by a domain tag. Both sides compute it from parsed JSON, never from pydantic models, so
a cart and a host on different library versions agree byte for byte. ``kind`` and ``cart_id``
are inside the payload, so a signed event cannot be replayed as a snapshot or for another cart;
a replayed *identical* message is harmless by design (seq, event id and request id).

The outbox signs each event once, when it is written, so every resend is byte-identical.

Keyring
-------
The host's ``Keyring`` is one JSON file (``{"version": 1, "carts": {cart: {kid: pubkey}}}``)
written atomically by ``smartcart host keys enrol/retire`` and re-read when its mtime changes,
so enrolment and rotation need no restart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel

from smartcart.contract.codec import ContractError, encode
from smartcart.contract.topics import Channel, valid_cart_id

DOMAIN = b"smartcart/v1 cart-message\n"
KID_PATTERN = r"[0-9a-f]{16}"
# kid "." 64 signature bytes as unpadded base64url (86 characters).
SIG_PATTERN = rf"^{KID_PATTERN}\.[A-Za-z0-9_-]{{86}}$"  # as messages.Signature
# Channels whose messages move money or the basket. Status (online/offline) carries neither and
# its retained last will is fixed at connect time, so it stays unsigned.
SIGNED_CHANNELS = frozenset({Channel.EVENTS, Channel.BASKET, Channel.CHECKOUT})

M = TypeVar("M", bound=BaseModel)


class SignatureError(ContractError):
    """A cart message whose signature is missing or wrong. ``reason`` (the dead-letter reason):
    unsigned, bad_signature, unknown_key."""


class KeyringError(ValueError):
    """A key file or keyring that cannot be read, or a key operation that makes no sense."""


def canonical(raw: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the payload object minus ``sig``, sorted and compact."""
    body = {k: v for k, v in raw.items() if k != "sig"}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return DOMAIN + text.encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_text(public: Ed25519PublicKey) -> str:
    """The public key as the keyring and the enrolment command write it (base64, 32 bytes)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyringError(f"public key is not base64: {e}") from e
    if len(raw) != 32:
        raise KeyringError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


# ---- the cart's side ----


@dataclass(frozen=True, slots=True)
class Signer:
    """The cart's private key. ``signer.sign(event)`` returns the event with ``sig`` set."""

    cart_id: str
    private: Ed25519PrivateKey

    @property
    def kid(self) -> str:
        return key_id(self.private.public_key())

    @property
    def public(self) -> str:
        return public_text(self.private.public_key())

    @classmethod
    def generate(cls, cart_id: str) -> Signer:
        if not valid_cart_id(cart_id):
            raise KeyringError(f"invalid cart id {cart_id!r}")
        return cls(cart_id, Ed25519PrivateKey.generate())

    def sign_raw(self, raw: Mapping[str, Any]) -> str:
        sig = self.private.sign(canonical(raw))
        return f"{self.kid}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"

    def sign(self, msg: M) -> M:
        unsigned = msg.model_copy(update={"sig": None})
        return msg.model_copy(update={"sig": self.sign_raw(json.loads(encode(unsigned)))})

    def save(self, path: Path) -> None:
        """Write the private key as PKCS#8 PEM, readable by its owner only."""
        pem = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        header = f"# smartcart cart key: {self.cart_id} kid {self.kid}\n".encode()
        _write_atomic(path, header + pem, mode=0o600)

    @classmethod
    def load(cls, path: Path) -> Signer:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise KeyringError(f"cannot read cart key {path}: {e}") from e
        first, _, pem = data.partition(b"\n")
        prefix = b"# smartcart cart key: "
        if not first.startswith(prefix):
            raise KeyringError(f"{path} is not a smartcart cart key (no header line)")
        cart_id = first[len(prefix) :].split()[0].decode()
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError as e:
            raise KeyringError(f"{path}: not a PEM private key: {e}") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyringError(f"{path}: not an Ed25519 key")
        return cls(cart_id, key)


# ---- the host's side ----


class Keyring:
    """Public keys by cart and kid; ``verify`` raises ``SignatureError`` or returns the kid."""

    def __init__(self, carts: Mapping[str, Mapping[str, Ed25519PublicKey]] | None = None) -> None:
        self._carts: dict[str, dict[str, Ed25519PublicKey]] = {
            c: dict(keys) for c, keys in (carts or {}).items()
        }

    # file form

    @classmethod
    def load(cls, path: Path) -> Keyring:
        if not path.exists():
            return cls()
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise KeyringError(f"cannot read keyring {path}: {e}") from e
        if (
            not isinstance(doc, dict)
            or doc.get("version") != 1
            or not isinstance(doc.get("carts"), dict)
        ):
            raise KeyringError(f"{path}: expected {{'version': 1, 'carts': {{...}}}}")
        carts: dict[str, dict[str, Ed25519PublicKey]] = {}
        for cart_id, keys in doc["carts"].items():
            if not valid_cart_id(cart_id) or not isinstance(keys, dict):
                raise KeyringError(f"{path}: bad entry for cart {cart_id!r}")
            carts[cart_id] = {}
            for kid, text in keys.items():
                public = parse_public(text)
                if key_id(public) != kid:
                    raise KeyringError(f"{path}: {cart_id} kid {kid} does not match its key")
                carts[cart_id][kid] = public
        return cls(carts)

    def save(self, path: Path) -> None:
        doc = {
            "version": 1,
            "carts": {
                c: {kid: public_text(k) for kid, k in sorted(keys.items())}
                for c, keys in sorted(self._carts.items())
            },
        }
        _write_atomic(path, (json.dumps(doc, indent=2) + "\n").encode(), mode=0o644)

    # editing

    def enrol(self, cart_id: str, public: str) -> str:
        if not valid_cart_id(cart_id):
            raise KeyringError(f"invalid cart id {cart_id!r}")
        key = parse_public(public)
        kid = key_id(key)
        self._carts.setdefault(cart_id, {})[kid] = key
        return kid

    def retire(self, cart_id: str, kid: str) -> None:
        keys = self._carts.get(cart_id, {})
        if kid not in keys:
            raise KeyringError(f"{cart_id} has no key {kid}")
        del keys[kid]
        if not keys:
            del self._carts[cart_id]

    def kids(self, cart_id: str) -> list[str]:
        return sorted(self._carts.get(cart_id, {}))

    def carts(self) -> list[str]:
        return sorted(self._carts)

    # checking

    def verify(self, channel: Channel, payload: bytes, cart_id: str) -> str | None:
        """Check ``payload`` (already decoded once by the codec) for ``cart_id``.

        Returns the signing kid, or None for a channel that is not signed.
        """
        if channel not in SIGNED_CHANNELS:
            return None
        raw = json.loads(payload)  # the codec accepted it: a JSON object
        sig = raw.get("sig")
        if not isinstance(sig, str):
            raise SignatureError("unsigned", f"{channel.value} message of {cart_id} carries no sig")
        kid, _, b64 = sig.partition(".")
        public = self._carts.get(cart_id, {}).get(kid)
        if public is None:
            raise SignatureError("unknown_key", f"{cart_id} has no enrolled key {kid!r}")
        try:
            signature = base64.urlsafe_b64decode(b64 + "==")
            public.verify(signature, canonical(raw))
        except (binascii.Error, ValueError, InvalidSignature) as e:
            raise SignatureError("bad_signature", f"{channel.value} of {cart_id}, key {kid}") from e
        return kid


class KeyringFile:
    """A ``Keyring`` backed by a file, re-read when the file changes (enrol/rotate live)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._ring = Keyring()

    def current(self) -> Keyring:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        with self._lock:
            if stamp != self._stamp:
                self._ring = Keyring.load(self.path)
                self._stamp = stamp
            return self._ring

    def verify(self, channel: Channel, payload: bytes, cart_id: str) -> str | None:
        return self.current().verify(channel, payload, cart_id)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    # Write beside the target and rename: a reader sees the old file or the new, never half.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
