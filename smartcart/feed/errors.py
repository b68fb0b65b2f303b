"""The feed package's one exception hierarchy."""

from __future__ import annotations


class FeedError(ValueError):
    """A feed folder, or a replay's events, that cannot be read as cartfeed/1."""


class FeedFormatError(FeedError):
    """A file of the feed exists but breaks the format; the message names file and line."""
