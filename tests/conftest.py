"""Suite-wide fixtures: where the real services are, and skips that say why.

Tests that need Mosquitto or PostgreSQL run wherever those are reachable and are skipped with a
visible reason elsewhere; CI sets SMARTCART_REQUIRE_SERVICES=1 so a missing service fails loudly
instead of silently skipping.
"""

from __future__ import annotations

import os
import socket

import pytest

MOSQUITTO_HOST, MOSQUITTO_PORT = "127.0.0.1", int(os.environ.get("SMARTCART_TEST_MQTT_PORT", 1883))
POSTGRES_URL = os.environ.get(
    "SMARTCART_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _need(service: str, ok: bool) -> None:
    if ok:
        return
    if os.environ.get("SMARTCART_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{service} is required here (SMARTCART_REQUIRE_SERVICES=1) but unreachable")
    pytest.skip(f"{service} not reachable on this machine")


@pytest.fixture(scope="session")
def mosquitto_url() -> str:
    """URL of a real Mosquitto broker (skips with a reason where there is none)."""
    mosquitto = f"Mosquitto at {MOSQUITTO_HOST}:{MOSQUITTO_PORT}"
    _need(mosquitto, _reachable(MOSQUITTO_HOST, MOSQUITTO_PORT))
    return f"mqtt://{MOSQUITTO_HOST}:{MOSQUITTO_PORT}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of a real PostgreSQL database (skips with a reason where there is none)."""
    _need("PostgreSQL at 127.0.0.1:5432", _reachable("127.0.0.1", 5432))
    return POSTGRES_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
