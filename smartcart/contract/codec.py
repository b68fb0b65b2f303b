"""Bytes <-> messages. Every payload that crosses the broker goes through here.

``decode`` never lets a bad payload escape as anything but ``ContractError``, whose ``reason`` is
a short machine-readable code (for the host's dead-letter table and metrics) and whose message
says what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from smartcart.contract import messages as m
from smartcart.contract.topics import Channel

# Far above a real basket snapshot (500 lines); refusing early bounds memory per message.
MAX_PAYLOAD_BYTES = 64 * 1024


class ContractError(ValueError):
    """A payload that is not a valid v1 message. ``reason``: oversized, not_json,
    unknown_version, invalid, topic_mismatch."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_BY_CHANNEL: dict[Channel, TypeAdapter[Any]] = {
    Channel.EVENTS: TypeAdapter(m.CartEvent),
    Channel.BASKET: TypeAdapter(m.BasketSnapshot),
    Channel.STATUS: TypeAdapter(m.CartStatus),
    Channel.CHECKOUT: TypeAdapter(m.CheckoutRequest),
    Channel.HOST: m.HOST_MESSAGE,
}


def encode(msg: BaseModel) -> bytes:
    """Compact JSON; the same message always encodes to the same bytes."""
    return msg.model_dump_json(exclude_none=True).encode()


def decode(channel: Channel, payload: bytes, *, cart_id: str | None = None) -> Any:
    """Parse and validate ``payload`` as the message type of ``channel``.

    With ``cart_id`` (the id taken from the topic), the payload must name the same cart: a cart
    may only speak for itself.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("oversized", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ContractError("not_json", str(e)) from e
    if not isinstance(raw, dict):
        raise ContractError("invalid", f"expected a JSON object, got {type(raw).__name__}")
    if raw.get("v") != m.VERSION:
        raise ContractError("unknown_version", f"v={raw.get('v')!r}, this side speaks v{m.VERSION}")
    try:
        msg = _BY_CHANNEL[channel].validate_python(raw)
    except ValidationError as e:
        raise ContractError("invalid", _summary(e)) from e
    if cart_id is not None and msg.cart_id != cart_id:
        detail = f"payload cart {msg.cart_id!r} on topic of {cart_id!r}"
        raise ContractError("topic_mismatch", detail)
    return msg


def _summary(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
