"""The simulator's one exception hierarchy: everything it raises on purpose is a ``SimError``."""

from __future__ import annotations


class SimError(RuntimeError):
    """The simulator cannot do what was asked (bad option, missing dataset image, ...)."""


class CutoutError(SimError):
    """A product's iconic image could not be turned into a usable cut-out."""
