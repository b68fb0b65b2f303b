"""The link's settings and figures: broker address, ``LinkConfig``, ``LinkStats``.

Plain frozen values with no paho import, so a cart's config loader and the screen can build and
read them without pulling in the MQTT client. ``firmware.link.mqtt`` re-exports all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from firmware.link.errors import BrokerUrlError


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://[user:password@]host[:1883]`` or ``mqtts://...[:8883]`` (TLS, system CAs)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp") or not parts.hostname:
            raise BrokerUrlError(f"expected mqtt://host:port or mqtts://host:port, got {url!r}")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as e:
            raise BrokerUrlError(f"bad port in {url!r}") from e
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True, slots=True)
class LinkConfig:
    cart_id: str
    broker_url: str
    username: str | None = None  # overrides the URL's
    password: str | None = None
    firmware: str | None = None  # reported in the online status
    keepalive_s: int = 15  # the broker declares the cart offline after 1.5x this
    reconnect_min_s: int = 1  # backoff doubles from here ...
    reconnect_max_s: int = 30  # ... up to here
    resend_after_s: float = 10.0  # unacknowledged this long with no progress: resend all
    checkout_retry_s: float = 2.0  # first checkout retry; doubles up to resend_after_s
    # TLS (mqtts:// only): the device CA that signed the broker's certificate (None: system CAs),
    # and the cart's own certificate and key for the broker's mTLS listener (deploy/pki).
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        tls_files = (self.ca_file, self.cert_file, self.key_file)
        if any(tls_files) and not BrokerAddress.parse(self.broker_url).tls:
            raise BrokerUrlError(f"TLS files need an mqtts:// broker URL, got {self.broker_url!r}")
        if self.key_file and not self.cert_file:
            raise BrokerUrlError("key_file without cert_file: a client key needs its certificate")


@dataclass(frozen=True, slots=True)
class LinkStats:
    connects: int  # successful connections, first one included
    published: int  # event publishes, resends included
    resent: int  # of which resends of an event already sent once
