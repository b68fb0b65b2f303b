"""The dashboard's errors, under the host's ``HostError``."""

from __future__ import annotations

from host.errors import HostError


class DashboardError(HostError):
    """Base of every error the dashboard and the pairing endpoint raise on purpose."""


class PairingRefused(DashboardError):
    """A pairing code that is forged, expired, already used, or for a cart with no key."""


class BadForm(DashboardError):
    """A staff form with a value that cannot be read (an amount that is not "12,50")."""
