"""Basket arithmetic with no I/O: how one event changes one basket line, and what a line costs.

Kept pure so the rules are tested by tables: an ``add`` of a per-kg product needs the weighed
grams; a ``remove`` needs the line to hold the item and takes off the weighed grams (or the
line's average grams per item when the cart sent none); per-unit lines carry no grams.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.errors import Rejected
from smartcart.catalog import Catalog, Pricing, Product


@dataclass(frozen=True, slots=True)
class LineState:
    sku: str
    quantity: int
    grams: int | None  # total weighed grams of the line, per-kg products only


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    name: str
    pricing: Pricing
    quantity: int
    grams: int | None
    unit_price_minor: int  # per item, or per kg for per-kg products
    amount_minor: int


def product(catalog: Catalog, sku: str) -> Product:
    try:
        return catalog[sku]
    except KeyError:
        raise Rejected("unknown_sku", f"{sku!r} is not in the catalog") from None


def after(
    catalog: Catalog, line: LineState | None, action: str, sku: str, grams: int | None
) -> LineState:
    """The line after one ``add`` / ``remove`` of ``sku``; raise ``Rejected`` if impossible."""
    p = product(catalog, sku)
    per_kg = p.pricing is Pricing.PER_KG
    current = line or LineState(sku, 0, 0 if per_kg else None)
    if action == "add":
        if per_kg and grams is None:
            raise Rejected("grams_required", f"{sku} is sold per kg: an add needs grams")
        new_grams = (current.grams or 0) + (grams or 0) if per_kg else None
        return LineState(sku, current.quantity + 1, new_grams)
    if action != "remove":
        raise ValueError(f"unknown action {action!r}")
    if current.quantity < 1:
        raise Rejected("not_in_basket", f"remove of {sku}, which is not in the basket")
    if not per_kg:
        return LineState(sku, current.quantity - 1, None)
    held = current.grams or 0
    # Without a weight, take off the line's average item (the best estimate the host has).
    taken = grams if grams is not None else held // current.quantity
    remaining_qty = current.quantity - 1
    return LineState(sku, remaining_qty, 0 if remaining_qty == 0 else max(0, held - taken))


def price(catalog: Catalog, line: LineState) -> PricedLine:
    p = product(catalog, line.sku)
    grams = line.grams if p.pricing is Pricing.PER_KG else None
    return PricedLine(
        sku=p.sku,
        name=p.name,
        pricing=p.pricing,
        quantity=line.quantity,
        grams=grams,
        unit_price_minor=p.price_minor,
        amount_minor=p.price_for(line.quantity, grams),
    )
