"""Path parameters shared by the JSON API (``host.api``) and the staff dashboard
(``host.dashboard.router``), validated before a handler runs: a malformed id or an absurd line
number is a 422, never a query (SQLite refuses integers past 64 bits with a crash)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from smartcart.contract.topics import CART_ID_PATTERN

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
UuidPath = Annotated[str, Path(pattern=UUID_PATTERN)]
CartPath = Annotated[str, Path(pattern=CART_ID_PATTERN)]
LineNo = Annotated[int, Path(ge=1, le=500)]
