"""The idle screen's QR code: a signed, one-time ``PairingCode`` for the shopper's phone.

The cart mints a fresh code (random nonce, issue time, truncated HMAC with the cart's own
pairing key) when it becomes idle and again every ``rotate_s``; the phone opens the URL in the
QR code and hands the code to the host's ``POST /pair`` with the shopper's account. The host
checks the signature and freshness and starts the session; ``SessionStarted`` then reaches the
cart over MQTT. The QR code is rendered here to SVG (segno), so the kiosk browser fetches nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlencode

import segno

from smartcart.contract import messages as m


def mint_code(cart_id: str, key: bytes, now: datetime) -> m.PairingCode:
    issued_at = m.utc(now).replace(microsecond=0)  # the signed text has whole seconds
    nonce = secrets.token_hex(16)
    sig = m.pairing_sig(key, m.pairing_text(cart_id, nonce, issued_at))
    return m.PairingCode(cart_id=cart_id, nonce=nonce, issued_at=issued_at, sig=sig)


def pairing_url(base_url: str, code: m.PairingCode) -> str:
    """The URL in the QR code: the host's pairing page with the code as query parameters."""
    query = urlencode(
        {
            "cart": code.cart_id,
            "nonce": code.nonce,
            "t": int(code.issued_at.timestamp()),
            "sig": code.sig,
        }
    )
    return f"{base_url}?{query}"


def qr_svg(text: str) -> str:
    """An inline ``<svg>`` of ``text`` as a QR code; medium error correction survives glare."""
    qr = segno.make_qr(text, error="m")
    # scale 1 + a viewBox: the page sizes it with CSS; no XML declaration inside HTML.
    return str(qr.svg_inline(scale=1, border=2, dark="#111", light="#fff", omitsize=True))
