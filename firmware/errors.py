"""The firmware's one exception hierarchy.

Every error the cart pipeline raises on purpose derives from ``FirmwareError`` so the live loop
can tell "a sensor misbehaved, degrade and keep going" from a programming error, which it lets
crash. Adapters wrap the library's own exception with ``raise ... from e``.
"""

from __future__ import annotations


class FirmwareError(Exception):
    """Base of every error the firmware raises deliberately."""


class ConfigError(FirmwareError):
    """A cart config file that is missing, unreadable or invalid."""


class CameraError(FirmwareError):
    """A frame source that cannot open, or stopped delivering frames."""


class CameraStalled(CameraError):
    """The camera was open but delivered no frame within the allowed time."""


class ScaleError(FirmwareError):
    """A load-cell source that cannot open or read."""


class FeedError(FirmwareError):
    """A cartfeed/1 folder that does not follow the format."""
