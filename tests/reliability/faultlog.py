"""Figures of each fault run for docs/reliability.md: with SMARTCART_FAULT_REPORT=file.jsonl set,
each fault test appends one JSON line (test, faults injected, events, lost, duplicated, ...)."""

from __future__ import annotations

import json
import os
from typing import Any


def record(test: str, **figures: Any) -> None:
    path = os.environ.get("SMARTCART_FAULT_REPORT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"test": test, **figures}) + "\n")
