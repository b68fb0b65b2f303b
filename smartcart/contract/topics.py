"""MQTT topics of the cart <-> host contract, version 1.

Every topic lives under one versioned root so a v2 can run beside v1 during a fleet upgrade.
One topic per purpose; the cart id is the only wildcard level, which is what lets the broker's
ACLs pin a cart to its own topics (``pattern readwrite smartcart/v1/carts/%u/#``).

| topic                          | direction   | QoS | retained | payload            |
|--------------------------------|-------------|-----|----------|--------------------|
| carts/{cart}/events            | cart->host  | 1   | no       | CartEvent          |
| carts/{cart}/basket            | cart->host  | 1   | yes      | BasketSnapshot     |
| carts/{cart}/status            | cart->host  | 1   | yes      | CartStatus (LWT)   |
| carts/{cart}/checkout          | cart->host  | 1   | no       | CheckoutRequest    |
| carts/{cart}/host              | host->cart  | 1   | no       | HostMessage        |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ROOT = "smartcart/v1"
QOS = 1
# Group name for MQTT 5 / Mosquitto shared subscriptions: host workers in one group split the
# carts' messages between them. Correctness never depends on it (the database decides).
SHARE_GROUP = "checkout"

CART_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"
_CART_ID_RE = re.compile(CART_ID_PATTERN)


class Channel(StrEnum):
    EVENTS = "events"
    BASKET = "basket"
    STATUS = "status"
    CHECKOUT = "checkout"
    HOST = "host"


RETAINED = frozenset({Channel.BASKET, Channel.STATUS})
CART_TO_HOST = (Channel.EVENTS, Channel.BASKET, Channel.STATUS, Channel.CHECKOUT)


class TopicError(ValueError):
    """A topic that is not one of the contract's."""


def valid_cart_id(cart_id: str) -> bool:
    return bool(_CART_ID_RE.match(cart_id))


def topic(cart_id: str, channel: Channel) -> str:
    if not valid_cart_id(cart_id):
        raise TopicError(f"invalid cart id {cart_id!r}: expected {CART_ID_PATTERN}")
    return f"{ROOT}/carts/{cart_id}/{channel.value}"


def subscription(channel: Channel, shared: bool = False) -> str:
    """The wildcard filter for one channel of every cart, optionally as a shared subscription."""
    base = f"{ROOT}/carts/+/{channel.value}"
    return f"$share/{SHARE_GROUP}/{base}" if shared else base


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    cart_id: str
    channel: Channel


def parse(topic_name: str) -> ParsedTopic:
    """Split a concrete topic into cart id and channel; raise TopicError for anything else."""
    parts = topic_name.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT or parts[2] != "carts":
        raise TopicError(f"not a {ROOT} cart topic: {topic_name!r}")
    cart_id, channel = parts[3], parts[4]
    if not valid_cart_id(cart_id):
        raise TopicError(f"invalid cart id in topic {topic_name!r}")
    try:
        return ParsedTopic(cart_id, Channel(channel))
    except ValueError as e:
        raise TopicError(f"unknown channel {channel!r} in topic {topic_name!r}") from e
