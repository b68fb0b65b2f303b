"""What the cart screen shows, as pure functions of the link's state: ``ScreenView`` and toasts.

Nothing here does I/O: the controller hands in the running basket, the session's events from
the outbox (the unresolved ones carry the candidates to ask about), the link's connection and
how many events still wait for the host, and gets back frozen values the templates render.
Tested by tables in ``tests/firmware/screen``.

Phases: ``idle`` (no session: the QR code), ``shopping`` (the basket; a question overlay while
an unresolved event waits; a refusal banner after a refused checkout), ``paying`` (checkout in
flight), ``receipt`` (the charge went through).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from firmware.link.basket import Basket
from firmware.screen.money import grams_label, kr
from smartcart.catalog import Catalog, Pricing, Product
from smartcart.contract import messages as m

Phase = Literal["idle", "shopping", "paying", "receipt"]
ToastKind = Literal["add", "remove", "info"]

# Tile colours by department, dark enough for white initials (WCAG AA at tile size).
_DEPARTMENT_COLOURS = {"Fruit": "#c2410c", "Vegetables": "#15803d", "Packages": "#1d4ed8"}
_OTHER_COLOURS = ("#7c3aed", "#be185d", "#0f766e", "#a16207")

# What the shopper can do about each refusal, in the screen's words (the host's message says why).
ADVICE: dict[str, str] = {
    "unresolved_items": "Answer the question on the screen, then press Pay again.",
    "missing_events": "The cart is still sending your basket to the store. Wait a moment "
    "and press Pay again.",
    "insufficient_funds": "Top up your account in the SmartCart app, or take the cart to a "
    "staffed till, then press Pay again.",
    "no_session": "Ask a member of staff to start your shopping session.",
    "already_closed": "This session is closed. Ask a member of staff for help.",
    "timeout": "The store did not answer. Check that the cart is online and press Pay again.",
    "offline": "Your basket is safe on the cart. Pay when the cart is back online, or ask "
    "a member of staff.",
}

TITLES: dict[str, str] = {
    "unresolved_items": "An item still needs your answer",
    "missing_events": "Still syncing your basket",
    "insufficient_funds": "Payment declined",
    "no_session": "No shopping session",
    "already_closed": "Session already closed",
    "timeout": "No answer from the store",
    "offline": "The cart is offline",
}


@dataclass(frozen=True, slots=True)
class Tile:
    """A product's picture stand-in: its initial on its department's colour."""

    initial: str
    colour: str


@dataclass(frozen=True, slots=True)
class LineView:
    sku: str
    name: str
    tile: Tile
    quantity: int
    grams: int | None  # per-kg products: the weighed total
    detail: str  # "412 g × 32,00 kr/kg" or "2 × 14,90 kr"
    amount: str  # "13,18 kr"
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Choice:
    sku: str
    name: str
    tile: Tile


@dataclass(frozen=True, slots=True)
class Question:
    """An unresolved event waiting for the shopper's tap."""

    event_id: str
    action: str  # "add" or "remove"
    prompt: str
    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    title: str
    message: str  # the host's words
    advice: str  # what to do, in the screen's words


@dataclass(frozen=True, slots=True)
class ReceiptView:
    receipt_id: str
    lines: tuple[LineView, ...]
    total: str
    balance: str
    charged_at_hhmm: str


@dataclass(frozen=True, slots=True)
class Pairing:
    url: str
    svg: str


@dataclass(frozen=True, slots=True)
class ScreenView:
    phase: Phase
    cart_id: str
    online: bool
    unsynced: int  # events not yet acknowledged by the host
    customer_name: str | None
    lines: tuple[LineView, ...] = ()
    total: str = ""
    total_minor: int = 0
    item_count: int = 0
    question: Question | None = None
    more_questions: int = 0
    refusal: Refusal | None = None
    receipt: ReceiptView | None = None
    pairing: Pairing | None = None


@dataclass(frozen=True, slots=True)
class Toast:
    toast_id: int  # increasing: a stream sends each toast once
    kind: ToastKind
    text: str


def tile(product: Product) -> Tile:
    colour = _DEPARTMENT_COLOURS.get(product.department)
    if colour is None:
        colour = _OTHER_COLOURS[zlib.crc32(product.department.encode()) % len(_OTHER_COLOURS)]
    return Tile(product.name[:1].upper(), colour)


def line_view(product: Product, quantity: int, grams: int | None) -> LineView:
    if product.pricing is Pricing.PER_KG:
        weighed = grams or 0
        amount = product.price_for(quantity, weighed)
        detail = f"{grams_label(weighed)} × {kr(product.price_minor, product.currency)}/kg"
    else:
        amount = product.price_for(quantity)
        detail = f"{quantity} × {kr(product.price_minor, product.currency)}"
    return LineView(
        sku=product.sku,
        name=product.name,
        tile=tile(product),
        quantity=quantity,
        grams=grams if product.pricing is Pricing.PER_KG else None,
        detail=detail,
        amount=kr(amount, product.currency),
        amount_minor=amount,
    )


def basket_lines(catalog: Catalog, basket: Basket) -> tuple[LineView, ...]:
    """The basket's lines, most recently changed last (the order the shopper put things in)."""
    return tuple(
        line_view(catalog[ln.sku], ln.quantity, ln.grams)
        for ln in basket.lines.values()
        if ln.sku in catalog
    )


def questions(
    catalog: Catalog, basket: Basket, events: Iterable[m.CartEvent]
) -> tuple[Question, ...]:
    """The basket's pending unresolved events, oldest first, with their candidates."""
    asked = []
    for ev in events:
        if ev.type != "unresolved" or ev.event_id not in basket.pending:
            continue
        verb = "add" if ev.action == "add" else "take out"
        choices = tuple(
            Choice(c.sku, catalog[c.sku].name, tile(catalog[c.sku]))
            for c in ev.candidates
            if c.sku in catalog
        )
        prompt = f"Which item did you {verb}?"
        asked.append(Question(ev.event_id, ev.action or "add", prompt, choices))
    return tuple(asked)


def toasts(catalog: Catalog, events: Sequence[m.CartEvent], after_seq: int) -> list[Toast]:
    """One toast per basket change after ``after_seq``: adds, removes and answered questions.

    ``toast_id`` is the event's seq; the controller renumbers them among its own toasts.
    """
    actions = {ev.event_id: ev.action for ev in events if ev.type == "unresolved"}
    out = []
    for ev in events:
        if ev.seq <= after_seq:
            continue
        action: str | None = None
        if ev.type in ("add", "remove"):
            action = ev.type
        elif ev.type == "resolution" and ev.sku is not None:
            action = actions.get(ev.resolves or "")
        if action is None or ev.sku is None or ev.sku not in catalog:
            continue
        p = catalog[ev.sku]
        weight = f" ({grams_label(ev.grams)})" if ev.grams and p.pricing is Pricing.PER_KG else ""
        if action == "add":
            out.append(Toast(ev.seq, "add", f"Added {p.name}{weight}"))
        else:
            out.append(Toast(ev.seq, "remove", f"Removed {p.name}{weight}"))
    return out


def receipt_view(receipt: m.Receipt, catalog: Catalog) -> ReceiptView:
    lines = []
    for ln in receipt.lines:
        product = catalog.get(ln.sku)
        tile_ = tile(product) if product is not None else Tile(ln.name[:1].upper(), "#475569")
        unit = kr(ln.unit_price_minor, receipt.currency)
        if ln.pricing == "per_kg":
            detail = f"{grams_label(ln.grams or 0)} × {unit}/kg"
        else:
            detail = f"{ln.quantity} × {unit}"
        lines.append(
            LineView(
                sku=ln.sku,
                name=ln.name,
                tile=tile_,
                quantity=ln.quantity,
                grams=ln.grams,
                detail=detail,
                amount=kr(ln.amount_minor, receipt.currency),
                amount_minor=ln.amount_minor,
            )
        )
    return ReceiptView(
        receipt_id=receipt.receipt_id,
        lines=tuple(lines),
        total=kr(receipt.total_minor, receipt.currency),
        balance=kr(receipt.balance_minor, receipt.currency),
        charged_at_hhmm=receipt.charged_at.strftime("%H:%M UTC"),
    )


def refusal(reason: str, message: str) -> Refusal:
    return Refusal(
        reason=reason,
        title=TITLES.get(reason, "Payment refused"),
        message=message,
        advice=ADVICE.get(reason, "Ask a member of staff for help."),
    )
