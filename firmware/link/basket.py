"""The cart's running basket: a fold over the events the cart emitted in the open session.

The host keeps the authoritative basket; this one is what the cart's screen shows and what the
retained ``BasketSnapshot`` carries, so the host can reconcile a gap against it. It is a pure
value: ``Basket.apply(event)`` returns a new basket, and ``Basket.replay`` rebuilds it from the
outbox after a restart, so there is no second copy of state to keep in step.

Rules (the same the events mean on the wire):
- ``add``: one more of ``sku``; its ``grams`` add to the line's weight.
- ``remove``: one fewer; a per-kg line loses the event's grams, or, without grams, its average
  grams per item. A remove of something not in the basket changes nothing.
- ``unresolved``: nothing changes yet; it is pending until a ``resolution`` answers it.
- ``resolution``: applies the pending event's ``action`` to the chosen ``sku`` (with the
  resolution's grams, else the unresolved event's); ``sku`` null means "none of these".
Grams are kept for per-kg products only; a per-unit line is priced by count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType

from smartcart.catalog import Pricing, default_catalog
from smartcart.contract import messages as m


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    grams: int | None  # total weighed grams, per-kg products only


@dataclass(frozen=True, slots=True)
class Pending:
    """An unresolved event waiting for the shopper: what was seen and what it weighed."""

    action: str
    grams: int | None


def _per_kg_skus() -> frozenset[str]:
    return frozenset(p.sku for p in default_catalog().values() if p.pricing is Pricing.PER_KG)


@dataclass(frozen=True, slots=True)
class Basket:
    session_id: str
    seq: int = 0  # last event folded in (0: none)
    lines: Mapping[str, Line] = field(default_factory=lambda: MappingProxyType({}))
    pending: Mapping[str, Pending] = field(default_factory=lambda: MappingProxyType({}))
    per_kg: frozenset[str] = field(default_factory=_per_kg_skus, repr=False)

    @classmethod
    def replay(
        cls, session_id: str, events: Iterable[m.CartEvent], per_kg: frozenset[str] | None = None
    ) -> Basket:
        basket = cls(session_id) if per_kg is None else cls(session_id, per_kg=per_kg)
        for event in events:
            basket = basket.apply(event)
        return basket

    def apply(self, event: m.CartEvent) -> Basket:
        """The basket after ``event``; events of another session or already folded are ignored."""
        if event.session_id != self.session_id or event.seq <= self.seq:
            return self
        lines, pending = dict(self.lines), dict(self.pending)
        if event.type in ("add", "remove"):
            assert event.sku is not None  # the contract guarantees it for add/remove
            self._change(lines, event.type, event.sku, event.grams)
        elif event.type == "unresolved":
            assert event.action is not None
            pending[event.event_id] = Pending(event.action, event.grams)
        elif event.type == "resolution":
            assert event.resolves is not None
            asked = pending.pop(event.resolves, None)
            if asked is not None and event.sku is not None:
                grams = event.grams if event.grams is not None else asked.grams
                self._change(lines, asked.action, event.sku, grams)
        return replace(
            self,
            seq=event.seq,
            lines=MappingProxyType(lines),
            pending=MappingProxyType(pending),
        )

    def snapshot(self, cart_id: str, taken_at: datetime) -> m.BasketSnapshot:
        return m.BasketSnapshot(
            cart_id=cart_id,
            session_id=self.session_id,
            seq=self.seq,
            taken_at=m.utc(taken_at),
            lines=tuple(
                m.BasketLine(sku=ln.sku, quantity=ln.quantity, grams=ln.grams)
                for ln in sorted(self.lines.values(), key=lambda ln: ln.sku)
            ),
            unresolved=len(self.pending),
        )

    def _change(self, lines: dict[str, Line], action: str, sku: str, grams: int | None) -> None:
        weighed = sku in self.per_kg
        line = lines.get(sku)
        if action == "add":
            if line is None:
                line = Line(sku, 0, 0 if weighed else None)
            added_g = (line.grams or 0) + (grams or 0) if weighed else None
            lines[sku] = Line(sku, line.quantity + 1, added_g)
            return
        if line is None:
            return
        if line.quantity <= 1:
            del lines[sku]
            return
        left_g = None
        if weighed:
            total_g = line.grams or 0
            taken_g = grams if grams is not None else total_g // line.quantity
            left_g = max(total_g - taken_g, 0)
        lines[sku] = Line(sku, line.quantity - 1, left_g)
