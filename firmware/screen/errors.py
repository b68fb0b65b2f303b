"""The screen's errors, under the firmware's ``FirmwareError``."""

from __future__ import annotations

from firmware.errors import FirmwareError


class ScreenError(FirmwareError):
    """Base of every error the cart screen raises on purpose."""


class BadRequest(ScreenError):
    """A tap the screen cannot act on: unknown question, unknown product, nothing to pay."""
