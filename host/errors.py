"""The host's one exception hierarchy.

``HostError`` is the root; the API maps each subclass to one HTTP status, the MQTT worker maps
``Rejected`` subclasses to a dead-letter reason. Anything else escaping is a bug.
"""

from __future__ import annotations


class HostError(Exception):
    """Base of every error the host raises on purpose."""


class NotFound(HostError):
    """A customer, session, receipt or line that does not exist."""


class Conflict(HostError):
    """The request is valid but the state forbids it (session closed, refund exceeds line...)."""


class LedgerError(HostError):
    """A transaction that would break the ledger's rules (unbalanced, non-positive amount)."""


class Declined(HostError):
    """The payment gateway refused: ``reason`` is a contract refusal reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Rejected(HostError):
    """A cart message that is well-formed but cannot be applied (unknown sku, grams missing...).

    ``reason`` goes to the dead-letter table.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class BrokerError(HostError):
    """The embedded broker failed to start or stop."""


class SignaturesRequired(HostError):
    """``require_signatures`` is set but the host has no keyring to verify carts with."""
