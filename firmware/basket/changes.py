"""``BasketChange``: what the basket logic decides, handed to the outbox.

The pipeline produces these; ``firmware.link`` gives each a sequence number and an event id,
stores it durably and sends it as a contract ``CartEvent``. Kept free of wire details so the
basket logic can be tested by tables without a broker in sight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ChangeType = Literal["add", "remove", "unresolved", "resolution"]


@dataclass(frozen=True, slots=True)
class Candidate:
    sku: str
    score: float  # recognizer confidence, 0..1


@dataclass(frozen=True, slots=True)
class BasketChange:
    type: ChangeType
    occurred_at: datetime  # timezone-aware UTC wall-clock time of the change
    t_s: float  # seconds from the start of the feed/run, for replay output and scoring
    sku: str | None = None  # add/remove: the product; resolution: the chosen one (None: none)
    grams: int | None = None  # settled weight step, where the cart has load cells
    action: Literal["add", "remove"] | None = None  # unresolved: what the cart saw happen
    candidates: tuple[Candidate, ...] = field(default=())  # unresolved: best first
    resolves: str | None = None  # resolution: event id of the unresolved event it answers
    confidence: float | None = None
    track_id: int | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware (UTC)")
        if self.type in ("add", "remove") and not self.sku:
            raise ValueError(f"a {self.type} needs a sku")
        if self.type == "unresolved" and (self.action is None or not self.candidates):
            raise ValueError("an unresolved change needs an action and candidates")
        if self.type == "resolution" and self.resolves is None:
            raise ValueError("a resolution needs the event id it resolves")
