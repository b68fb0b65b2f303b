"""Simulated cart feeds and training data, rendered from the Grocery Store Dataset.

Modules: ``cutouts`` (product cut-outs), ``scene`` (basket view, hands, compositing),
``script`` (what happens in a trip, scale trace, truth), ``render`` (feeds), ``trainset``
(detector data), ``preview`` (contact sheets and GIFs), ``cli`` (``smartcart sim``).

``render_feed`` and ``cached_feed`` are re-exported lazily: ``smartcart --help`` imports this
package for its CLI and must not pay for numpy and OpenCV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.sim.render import cached_feed, render_feed

__all__ = ["cached_feed", "render_feed"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from host.sim import render

        return getattr(render, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
