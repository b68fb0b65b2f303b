"""JSON Schema for every payload, generated from ``messages`` (the one definition).

``schemas/<name>.json`` are committed for other languages and for ``asyncapi.yaml``;
``smartcart contract export`` rewrites them and a test fails when they drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from smartcart.contract import messages as m

SCHEMA_DIR = Path(__file__).parent / "schemas"
ASYNCAPI = Path(__file__).parent / "asyncapi.yaml"
_ID_BASE = "https://smartcart.example/schemas/v1/"

# File name -> the type it describes. host-message is the union the cart receives.
PAYLOADS: dict[str, Any] = {
    "cart-event": m.CartEvent,
    "basket-snapshot": m.BasketSnapshot,
    "cart-status": m.CartStatus,
    "checkout-request": m.CheckoutRequest,
    "host-message": m.HostMessage,
}


def generate() -> dict[str, dict[str, Any]]:
    out = {}
    for name, tp in PAYLOADS.items():
        schema = TypeAdapter(tp).json_schema()
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{_ID_BASE}{name}.json",
            **schema,
        }
        out[name] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate().items():
        path = directory / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
