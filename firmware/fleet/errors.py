"""The fleet updater's exceptions, a branch of the firmware's one hierarchy.

Refusals (``BundleRejected`` and its subclasses) mean "this bundle must never be installed";
``LayoutError`` means the install directories on this cart are not what the updater expects.
A failed health check is not an exception: it is an outcome (``RolledBack``) the updater
handles itself.
"""

from __future__ import annotations

from firmware.errors import FirmwareError


class FleetError(FirmwareError):
    """Base of every error the fleet updater raises on purpose."""


class BundleRejected(FleetError):
    """A bundle that must not be installed: malformed, tampered with or untrusted."""


class ManifestInvalid(BundleRejected):
    """``manifest.json`` is missing or does not follow the manifest schema."""


class SignatureInvalid(BundleRejected):
    """The manifest is unsigned where a signature is required, or no trusted key signed it."""


class ChecksumMismatch(BundleRejected):
    """A payload file whose SHA-256 or size differs from the manifest, or is missing/extra."""


class DowngradeRefused(BundleRejected):
    """A bundle older than the one running (a replayed old release), without explicit consent."""


class LayoutError(FleetError):
    """The A/B install directories or the ``current`` symlink are not in a state we understand."""


class SourceError(FleetError):
    """A bundle source (file or URL) that cannot be read."""
