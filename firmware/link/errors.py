"""The link's exception hierarchy, under the firmware's ``FirmwareError``.

``LinkError`` is what the live loop catches from the outbox and the MQTT link; each subclass
names one way the link can refuse or fail, so callers can tell "no session yet, ask the shopper
to scan in" from "the outbox file is unusable, stop the cart".
"""

from __future__ import annotations

from firmware.errors import FirmwareError


class LinkError(FirmwareError):
    """Base of every error the outbox and the MQTT link raise on purpose."""


class OutboxError(LinkError):
    """The outbox database cannot be opened or does not belong to this cart."""


class NoSession(LinkError):
    """A basket change or checkout while no shopping session is open on this cart."""


class CheckoutTimeout(LinkError):
    """No receipt or refusal arrived for a checkout request within the allowed time."""


class BrokerUrlError(LinkError):
    """A broker URL that is not mqtt://[user:password@]host[:port] or mqtts://..."""
