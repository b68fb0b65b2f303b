"""Phone pairing: the shopper's phone hands the host the code from the cart's QR code.

The cart's idle screen shows a ``PairingCode`` (cart id, one-time nonce, issue time, truncated
HMAC-SHA256 with the cart's pairing key; ``smartcart.contract.messages``). The host derives each
cart's key from the store's pairing secret, so it holds one secret and a cart holds only its
own key. A code is accepted when:

1. its signature is right (constant-time comparison);
2. it is fresh: issued at most ``code_ttl_s`` ago, and not more than ``clock_skew_s`` ahead;
3. it is unused: no session on that cart started at or after ``issued_at``. Starting a session
   is what uses a code, and the cart shows a new code after every session, so this needs no
   table of its own and survives host restarts.

The phone names the shopper by the customer's secret pairing token (``host.accounts``), not by
the customer id: knowing someone's id is not enough to put a cart on their wallet.

Then ``HostWorker.start_session`` opens the session and sends ``SessionStarted`` to the cart.
One lock makes check-and-start atomic within a host process; two host processes pairing the
same cart in the same instant could both succeed (the later session abandons the earlier one,
as a staff-started session does).
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select

from host import accounts
from host.dashboard.errors import PairingRefused
from host.db.models import Session as ShoppingSession
from host.worker import HostWorker
from smartcart.contract import messages as m

_LOCK = threading.Lock()


class PairingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTCART_PAIRING_", extra="forbid", frozen=True)

    secret: SecretStr | None = Field(
        None,
        title="Store pairing secret",
        description="Each cart's pairing key is HMAC(secret, cart id): provision the cart with "
        "``cart_pairing_key``. Unset: the pairing endpoint refuses every code.",
    )
    code_ttl_s: int = Field(600, ge=30, le=86_400, title="How long a QR code stays valid (s)")
    clock_skew_s: int = Field(30, ge=0, le=600, title="Cart clock ahead of the host at most (s)")


@dataclass(frozen=True, slots=True)
class Paired:
    session_id: str
    cart_id: str
    customer_name: str


def check_code(
    code: m.PairingCode, store_secret: bytes, now: datetime, settings: PairingSettings
) -> None:
    """Raise ``PairingRefused`` unless the code is genuine and fresh (rules 1 and 2)."""
    key = m.cart_pairing_key(store_secret, code.cart_id)
    if not hmac.compare_digest(m.pairing_sig(key, code.pairing_text()), code.sig):
        raise PairingRefused("this code was not made by that cart")
    age = m.utc(now) - code.issued_at
    if age > timedelta(seconds=settings.code_ttl_s):
        raise PairingRefused("this code has expired: scan the code on the cart's screen again")
    if age < -timedelta(seconds=settings.clock_skew_s):
        raise PairingRefused("this code is from the future: the cart's clock is wrong")


def pair(
    worker: HostWorker,
    code: m.PairingCode,
    customer_token: str,
    settings: PairingSettings,
    now: datetime,
) -> Paired:
    """Check the code and the customer's pairing token, then start the customer's session on
    the cart (rules 1 to 3)."""
    if settings.secret is None:
        raise PairingRefused("phone pairing is not configured on this host")
    check_code(code, settings.secret.get_secret_value().encode(), now, settings)
    with _LOCK:
        with worker.transaction() as s:
            shopper = accounts.customer_by_pairing_token(s, customer_token)
            if shopper is None:
                raise PairingRefused("this pairing token is not valid: ask the store for a new one")
            customer_id, name = shopper.id, shopper.name
            used = s.scalar(
                select(ShoppingSession.id)
                .where(
                    ShoppingSession.cart_id == code.cart_id,
                    ShoppingSession.started_at >= code.issued_at,
                )
                .limit(1)
            )
        if used is not None:
            raise PairingRefused("this code was already used: scan the cart's new code")
        session_id = worker.start_session(code.cart_id, customer_id)
    return Paired(session_id, code.cart_id, name)
