"""``HostSettings``: everything the checkout host reads from its environment.

One pydantic-settings model, env prefix ``SMARTCART_HOST_`` (``SMARTCART_HOST_DATABASE_URL``,
``SMARTCART_HOST_BROKER_URL``, ...). The defaults run on one laptop with nothing installed: a
SQLite file in the working directory and a broker on localhost. Tests and the demo build one
with keyword arguments instead of the environment.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_worker_id() -> str:
    return f"host-{socket.gethostname()}"


def staff_token_sha256(token: str) -> str:
    """The hex SHA-256 of a staff token: what HostSettings.staff_token_sha256 lists."""
    return hashlib.sha256(token.encode()).hexdigest()


class HostSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTCART_HOST_", extra="forbid", frozen=True)

    database_url: str = Field(
        "sqlite:///smartcart-host.db",
        title="Database URL",
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db.",
    )
    broker_url: str = Field(
        "mqtt://127.0.0.1:1883",
        title="Broker URL",
        description="mqtt://[user:password@]host:port of the MQTT broker.",
    )
    http_host: str = Field("127.0.0.1", title="HTTP bind address", description="API listens here.")
    http_port: int = Field(8080, ge=0, le=65535, title="HTTP port", description="API port.")
    worker_id: str = Field(
        default_factory=_default_worker_id,
        title="Worker id",
        description="MQTT client id; unique per host worker process (it names the broker "
        "session that keeps unacknowledged messages across a restart).",
    )
    currency: str = Field("SEK", pattern=r"^[A-Z]{3}$", title="Currency", description="ISO 4217.")
    shared_subscription: bool | None = Field(
        None,
        title="Shared subscription",
        description="Subscribe as $share/checkout/... over MQTT 5 (several workers split carts). "
        "None: on unless the broker URL is an embedded amqtt one (MQTT 3.1.1 only).",
    )
    batch_max: int = Field(
        500,
        ge=1,
        le=10_000,
        title="Batch size",
        description="Most messages applied in one database transaction (acks follow the commit).",
    )
    keyring_path: Path | None = Field(
        None,
        title="Cart keyring",
        description="JSON keyring of enrolled cart public keys (smartcart host keys enrol). "
        "When set, every cart message must carry its cart's signature; unsigned ones are "
        "dead-lettered.",
    )
    require_signatures: bool = Field(
        False,
        title="Require signed cart messages",
        description="True: a host without a keyring refuses to start, so every unsigned cart "
        "message is dead-lettered. False (development, the demo) accepts unsigned messages when "
        "no keyring is set, with a warning at start. Production sets it true (deploy/host).",
    )
    # Hashes, not tokens: a leaked environment or unit file grants no staff access. Tokens are
    # random (smartcart host staff-token), so plain SHA-256 is enough; no salt or KDF needed.
    staff_token_sha256: tuple[str, ...] = Field(
        (),
        title="Staff token hashes",
        description="Hex SHA-256 of each staff bearer token the HTTP API accepts (JSON list in "
        "the environment). Empty: every staff endpoint answers 401.",
    )
    share_group: str = Field(
        "checkout",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        title="Shared-subscription group",
        description="Workers in one group split the carts' messages (MQTT 5 brokers only).",
    )
    mqtt_keepalive_s: int = Field(30, ge=5, le=600, title="MQTT keepalive (s)")
    # 0 by default: a worker that dies must not keep a share of the group. Mosquitto goes on
    # handing a disconnected persistent session its round-robin turn, and carts retrying in step
    # can land on the dead worker every time. Nothing is lost by ending the session: carts
    # resend every unacknowledged event and retry checkout until the host answers.
    mqtt_session_expiry_s: int = Field(
        0,
        ge=0,
        le=86_400,
        title="MQTT session expiry (s)",
        description="How long the broker keeps a disconnected worker's session (MQTT 5). Above "
        "0, a worker that never returns holds its share of a shared group this long.",
    )

    @field_validator("staff_token_sha256")
    @classmethod
    def _hex_sha256(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for h in v:
            if len(h) != 64 or any(c not in "0123456789abcdef" for c in h.lower()):
                raise ValueError("staff_token_sha256 holds hex SHA-256 digests (64 characters)")
        return tuple(h.lower() for h in v)

    @field_validator("broker_url")
    @classmethod
    def _mqtt_scheme(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"expected mqtt://host:port, got {v!r}")
        return v
