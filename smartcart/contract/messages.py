"""Payloads of the cart <-> host contract, version 1: the one definition both sides import.

These pydantic models are the source of truth; ``schemas/*.json`` are generated from them
(``smartcart contract export``) for other languages and the AsyncAPI document, and a test keeps
the two in step.

Delivery rules that the fields exist for:
- ``seq`` is per cart and only grows, across sessions. The host applies a cart's events in
  ``seq`` order and acknowledges the highest ``seq`` it has durably applied (``Ack``); the cart
  may forget an event only at or below that acknowledgement.
- ``event_id`` is minted once by the cart when the event is first written to its outbox and
  reused on every resend, so the host can refuse duplicates by a unique key.
- ``request_id`` of a checkout is the idempotency key of the charge: the cart mints it once and
  retries with the same one; the host charges at most once per session whatever arrives.

Money is integer minor units (öre for SEK). Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

from smartcart.contract.topics import CART_ID_PATTERN

VERSION = 1

CartId = Annotated[
    str, Field(pattern=CART_ID_PATTERN, description="The cart's id, e.g. cart-0042.")
]
Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="Lower-case canonical UUID.",
    ),
]
Sku = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$", description="Catalog SKU.")]
Seq = Annotated[int, Field(ge=1, le=2**53, description="Per-cart sequence number; only grows.")]
Grams = Annotated[int, Field(ge=0, le=100_000, description="Weight in whole grams.")]
Minor = Annotated[int, Field(ge=-(2**53), le=2**53, description="Money in minor units (öre).")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")]
# Optional so v1 stays compatible; a host with a keyring requires it (smartcart.contract.signing).
Signature = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{16}\.[A-Za-z0-9_-]{86}$",
        description="kid.Ed25519 signature (base64url) over the canonical payload without sig.",
    ),
]


class _Message(BaseModel):
    # Unknown keys are an error: a typo on one side must not silently drop data on the other.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    v: Literal[1] = Field(1, description="Contract version.")


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    score: float = Field(ge=0.0, le=1.0, description="Recognizer confidence, 0..1.")


EventType = Literal["add", "remove", "unresolved", "resolution"]


class CartEvent(_Message):
    """One basket event, cart -> host, topic ``carts/{cart}/events``.

    - ``add`` / ``remove``: one item of ``sku`` went into / out of the basket; ``grams`` is the
      settled weight step where the cart has load cells (required for per-kg products).
    - ``unresolved``: the cart saw an ``action`` but is unsure what; ``candidates`` best first.
      It holds checkout until a ``resolution`` answers it.
    - ``resolution``: the shopper's answer to the unresolved event ``resolves``: ``sku`` is the
      chosen product, or null for "none of these" (nothing changes in the basket).
    """

    kind: Literal["cart_event"] = "cart_event"
    event_id: Uuid
    cart_id: CartId
    session_id: Uuid
    seq: Seq
    occurred_at: AwareDatetime
    type: EventType
    sku: Sku | None = None
    grams: Grams | None = None
    action: Literal["add", "remove"] | None = None
    candidates: tuple[Candidate, ...] = Field(default=(), max_length=10)
    resolves: Uuid | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    sig: Signature | None = None

    @model_validator(mode="after")
    def _shape_per_type(self) -> CartEvent:
        t = self.type
        if t in ("add", "remove"):
            if self.sku is None:
                raise ValueError(f"a {t} event needs a sku")
            if self.action or self.candidates or self.resolves:
                raise ValueError(f"a {t} event takes no action, candidates or resolves")
        elif t == "unresolved":
            if self.action is None or not self.candidates:
                raise ValueError("an unresolved event needs an action and at least one candidate")
            if self.sku is not None or self.resolves is not None:
                raise ValueError("an unresolved event takes no sku or resolves")
        elif t == "resolution":
            if self.resolves is None:
                raise ValueError("a resolution needs the event_id it resolves")
            if self.candidates or self.action:
                raise ValueError("a resolution takes no candidates or action")
        return self


class BasketLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    quantity: int = Field(ge=1, le=1000)
    grams: Grams | None = Field(None, description="Total weighed grams, for per-kg products.")


class BasketSnapshot(_Message):
    """The cart's whole basket after event ``seq``; retained on ``carts/{cart}/basket``."""

    kind: Literal["basket_snapshot"] = "basket_snapshot"
    cart_id: CartId
    session_id: Uuid
    seq: int = Field(ge=0, description="Last event seq reflected in this basket (0: none).")
    taken_at: AwareDatetime
    lines: tuple[BasketLine, ...] = Field(default=(), max_length=500)
    unresolved: int = Field(0, ge=0, description="Unresolved events still waiting for the shopper.")
    sig: Signature | None = None


class CartStatus(_Message):
    """Retained on ``carts/{cart}/status``; the ``offline`` form is the cart's last will."""

    kind: Literal["cart_status"] = "cart_status"
    cart_id: CartId
    state: Literal["online", "offline"]
    since: AwareDatetime | None = Field(None, description="When the state began (unset in a will).")
    firmware: str | None = Field(None, max_length=64)


class CheckoutRequest(_Message):
    """Cart -> host, ``carts/{cart}/checkout``: charge this session's basket."""

    kind: Literal["checkout_request"] = "checkout_request"
    request_id: Uuid
    cart_id: CartId
    session_id: Uuid
    last_seq: int = Field(ge=0, description="The cart's last event seq of the session.")
    requested_at: AwareDatetime
    sig: Signature | None = None


# ---- host -> cart, all on carts/{cart}/host, told apart by ``type`` ----


class SessionStarted(_Message):
    type: Literal["session_started"] = "session_started"
    cart_id: CartId
    session_id: Uuid
    started_at: AwareDatetime
    customer_name: str = Field(max_length=120)
    acked_seq: int = Field(ge=0, description="Highest seq of this cart the host has applied.")


class Ack(_Message):
    type: Literal["ack"] = "ack"
    cart_id: CartId
    acked_seq: int = Field(ge=0, description="Highest seq of this cart durably applied.")


class ReceiptLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    name: str = Field(max_length=120)
    pricing: Literal["per_unit", "per_kg"]
    quantity: int = Field(ge=1)
    grams: Grams | None = None
    unit_price_minor: Minor = Field(description="Per unit, or per kg for per-kg products.")
    amount_minor: Minor


class Receipt(_Message):
    type: Literal["receipt"] = "receipt"
    cart_id: CartId
    session_id: Uuid
    request_id: Uuid
    receipt_id: Uuid
    lines: tuple[ReceiptLine, ...] = Field(max_length=500)
    total_minor: Minor
    currency: Currency
    balance_minor: Minor = Field(description="The customer's balance after the charge.")
    charged_at: AwareDatetime


RefusalReason = Literal[
    "unresolved_items", "missing_events", "insufficient_funds", "no_session", "already_closed"
]


class CheckoutRefused(_Message):
    type: Literal["checkout_refused"] = "checkout_refused"
    cart_id: CartId
    session_id: Uuid | None = None
    request_id: Uuid
    reason: RefusalReason
    message: str = Field(max_length=500, description="Human-readable: what to do next.")


HostMessage = Annotated[
    SessionStarted | Ack | Receipt | CheckoutRefused, Field(discriminator="type")
]

CART_TO_HOST_MODELS: tuple[type[_Message], ...] = (
    CartEvent,
    BasketSnapshot,
    CartStatus,
    CheckoutRequest,
)
HOST_TO_CART_MODELS: tuple[type[_Message], ...] = (SessionStarted, Ack, Receipt, CheckoutRefused)

HOST_MESSAGE = TypeAdapter(HostMessage)


# ---- cart screen -> phone -> host: the pairing code behind the idle QR code ----


class PairingCode(BaseModel):
    """What the cart's idle screen shows as a QR code and the shopper's phone hands to the host.

    It proves the phone saw this cart's screen recently: ``sig`` is the first 128 bits (hex) of
    HMAC-SHA256 over ``pairing_text()`` with the cart's pairing key (``cart_pairing_key``). The
    host accepts a code once: not after a session on the cart started at or after ``issued_at``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cart_id: CartId
    nonce: str = Field(pattern=r"^[0-9a-f]{32}$", description="One-time, minted by the cart.")
    issued_at: AwareDatetime = Field(description="Whole seconds; part of the signed text.")
    sig: str = Field(pattern=r"^[0-9a-f]{32}$", description="Truncated HMAC-SHA256, hex.")

    def pairing_text(self) -> bytes:
        return pairing_text(self.cart_id, self.nonce, self.issued_at)


def pairing_text(cart_id: str, nonce: str, issued_at: datetime) -> bytes:
    return f"smartcart-pair/v1|{cart_id}|{nonce}|{int(utc(issued_at).timestamp())}".encode()


def cart_pairing_key(store_secret: bytes, cart_id: str) -> bytes:
    """A cart's own pairing key: provisioned on the cart; the host derives it from the secret."""
    return hmac.new(store_secret, f"cart-pairing-key|{cart_id}".encode(), hashlib.sha256).digest()


def pairing_sig(key: bytes, text: bytes) -> str:
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:32]


def utc(dt: datetime) -> datetime:
    """Guard for call sites that build messages: naive datetimes are a bug, not local time."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC datetime")
    return dt
