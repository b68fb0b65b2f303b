"""``ScreenController``: the cart screen's state machine over the cart's ``CartLink``.

The link stays the one owner of the basket and the session; the controller only adds what the
screen itself knows: the shopper's name from ``SessionStarted``, a checkout in flight, the last
receipt or refusal, the current pairing code, and recent toasts. A watcher thread looks at the
link every ``poll_s`` (cheap: the basket is an immutable value, the unsynced count two integers)
and, when anything the shopper would see changed, bumps ``version`` and wakes the server's
event streams. Polling rather than hooks keeps the link and the pipeline free of screen code:
whoever calls ``link.submit`` (the pipeline, a tap here), the screen follows.

Checkout runs ``link.checkout`` on its own thread (it blocks until the host answers), so a tap
returns at once and the page shows "paying" until the answer arrives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from firmware.basket.changes import BasketChange
from firmware.link.basket import Basket
from firmware.link.errors import CheckoutTimeout, LinkError
from firmware.link.outbox import Outbox
from firmware.screen import view as v
from firmware.screen.errors import BadRequest
from firmware.screen.money import kr
from firmware.screen.pairing import mint_code, pairing_url, qr_svg
from smartcart.catalog import Catalog
from smartcart.contract import messages as m

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
HostMessage = m.SessionStarted | m.Ack | m.Receipt | m.CheckoutRefused


class ScreenLink(Protocol):
    """What the screen needs of ``firmware.link.mqtt.CartLink``."""

    outbox: Outbox

    @property
    def basket(self) -> Basket | None: ...

    @property
    def connected(self) -> bool: ...

    def submit(self, change: BasketChange) -> m.CartEvent: ...

    def checkout(self, timeout_s: float = 60.0) -> m.Receipt | m.CheckoutRefused: ...


class ScreenController:
    def __init__(
        self,
        link: ScreenLink,
        catalog: Catalog,
        cart_id: str,
        pairing_key: bytes,
        pair_base_url: str,
        *,
        checkout_timeout_s: float = 60.0,
        rotate_code_s: float = 300.0,
        receipt_shown_s: float = 120.0,
        poll_s: float = 0.2,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.link = link
        self.catalog = catalog
        self.cart_id = cart_id
        self._key = pairing_key
        self._pair_base_url = pair_base_url
        self._checkout_timeout_s = checkout_timeout_s
        self._rotate_code_s = rotate_code_s
        self._receipt_shown_s = receipt_shown_s
        self._poll_s = poll_s
        self._clock = clock
        self._t0 = time.monotonic()

        self._cond = threading.Condition()
        self.version = 0
        self._fingerprint: tuple[object, ...] = ()
        self._customer: tuple[str, str] | None = None  # (session id, name) from SessionStarted
        self._paying = False
        self._receipt: tuple[m.Receipt, float] | None = None  # and when it arrived (monotonic)
        self._refusal: v.Refusal | None = None
        self._pairing: tuple[v.Pairing, float] | None = None  # and when it was minted
        self._toasts: deque[v.Toast] = deque(maxlen=20)
        self._toast_count = 0
        self._toast_seq = link.outbox.last_seq  # no toasts for what happened before a restart
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # ---- lifecycle ----

    def start(self) -> ScreenController:
        self.poll()
        self._watcher = threading.Thread(target=self._watch, name="screen-watch", daemon=True)
        self._watcher.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
        with self._cond:
            self._cond.notify_all()

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.poll()
            except LinkError:  # a broken outbox: show what we have, keep the screen alive
                log.exception("screen: reading the link failed")

    # ---- inputs ----

    def on_host_message(self, msg: HostMessage) -> None:
        """``CartLink``'s ``on_message`` hook (its worker thread): greet the shopper."""
        if isinstance(msg, m.SessionStarted):
            with self._cond:
                if self._customer is not None and self._customer[0] == msg.session_id:
                    return  # redelivered (QoS 1): greet once
                self._customer = (msg.session_id, msg.customer_name)
                self._receipt = None
                self._refusal = None
                self._pairing = None  # that code is spent: the next idle screen gets a new one
                self._toast("info", f"Welcome, {msg.customer_name}!")
                self._bump()

    def poll(self) -> None:
        """Look at the link; wake the streams if anything visible changed."""
        basket = self.link.basket
        outbox = self.link.outbox
        unsynced = max(outbox.last_seq - outbox.acked_seq, 0)
        now = time.monotonic()
        with self._cond:
            if self._receipt is not None and now - self._receipt[1] > self._receipt_shown_s:
                self._receipt = None
            idle = basket is None and self._receipt is None and not self._paying
            if idle and (self._pairing is None or now - self._pairing[1] > self._rotate_code_s):
                code = mint_code(self.cart_id, self._key, self._clock())
                url = pairing_url(self._pair_base_url, code)
                self._pairing = (v.Pairing(url, qr_svg(url)), now)
            fingerprint = (
                None if basket is None else (basket.session_id, basket.seq, len(basket.pending)),
                self.link.connected,
                unsynced,
                None if self._pairing is None else self._pairing[1],
                self._receipt is None,
            )
            if fingerprint == self._fingerprint:
                return
            self._fingerprint = fingerprint
            if basket is not None and basket.seq > self._toast_seq:
                events = outbox.session_events(basket.session_id)
                for t in v.toasts(self.catalog, events, self._toast_seq):
                    self._toast(t.kind, t.text)
                self._toast_seq = basket.seq
            self._bump()

    def resolve(self, event_id: str, sku: str | None) -> m.CartEvent:
        """The shopper's tap on a question: a ``resolution`` event through the outbox."""
        basket = self.link.basket
        if basket is None or event_id not in basket.pending:
            raise BadRequest(f"no open question {event_id!r}")
        if sku is not None and sku not in self.catalog:
            raise BadRequest(f"unknown product {sku!r}")
        event = self.link.submit(
            BasketChange(
                type="resolution",
                occurred_at=self._clock(),
                t_s=time.monotonic() - self._t0,
                sku=sku,
                resolves=event_id,
            )
        )
        with self._cond:
            if self._refusal is not None and self._refusal.reason == "unresolved_items":
                self._refusal = None
        self.poll()
        return event

    def pay(self) -> None:
        """Start a checkout on its own thread; the answer arrives as a new view."""
        with self._cond:
            if self._paying:
                return  # a second tap while paying changes nothing
            if self.link.basket is None:
                raise BadRequest("nothing to pay: no shopping session is open")
            self._refusal = None
            if not self.link.connected:
                self._refusal = v.refusal("offline", "The cart cannot reach the store right now.")
                self._bump()
                return
            self._paying = True
            self._bump()
        threading.Thread(target=self._checkout, name="screen-checkout", daemon=True).start()

    def done(self) -> None:
        """The shopper closed the receipt (or the refusal banner)."""
        with self._cond:
            self._receipt = None
            self._refusal = None
            self._bump()
        self.poll()

    def _checkout(self) -> None:
        answer: m.Receipt | m.CheckoutRefused | None = None
        refused: v.Refusal | None = None
        try:
            answer = self.link.checkout(self._checkout_timeout_s)
        except CheckoutTimeout:
            refused = v.refusal("timeout", "The store did not answer the payment request.")
        except LinkError as e:  # no session any more, or the link stopped
            refused = v.refusal("no_session", str(e))
        with self._cond:
            self._paying = False
            if isinstance(answer, m.Receipt):
                self._receipt = (answer, time.monotonic())
                self._customer = None
            elif isinstance(answer, m.CheckoutRefused):
                self._refusal = v.refusal(answer.reason, answer.message)
            else:
                self._refusal = refused
            self._bump()
        self.poll()

    # ---- outputs ----

    def view(self) -> v.ScreenView:
        basket = self.link.basket
        outbox = self.link.outbox
        online = self.link.connected
        unsynced = max(outbox.last_seq - outbox.acked_seq, 0)
        with self._cond:
            name = None
            if self._customer is not None and basket is not None:
                name = self._customer[1] if self._customer[0] == basket.session_id else None
            base = v.ScreenView(
                phase="idle",
                cart_id=self.cart_id,
                online=online,
                unsynced=unsynced,
                customer_name=name,
                refusal=self._refusal,
            )
            if self._receipt is not None:
                return replace(
                    base, phase="receipt", receipt=v.receipt_view(self._receipt[0], self.catalog)
                )
            paying = self._paying
            pairing = None if self._pairing is None else self._pairing[0]
        if basket is None:
            return replace(base, pairing=pairing)
        lines = v.basket_lines(self.catalog, basket)
        asked = v.questions(self.catalog, basket, outbox.session_events(basket.session_id))
        total = sum(ln.amount_minor for ln in lines)
        return replace(
            base,
            phase="paying" if paying else "shopping",
            lines=lines,
            total=kr(total),
            total_minor=total,
            item_count=sum(ln.quantity for ln in lines),
            question=asked[0] if asked else None,
            more_questions=max(len(asked) - 1, 0),
        )

    def toasts_after(self, toast_id: int) -> list[v.Toast]:
        with self._cond:
            return [t for t in self._toasts if t.toast_id > toast_id]

    @property
    def last_toast_id(self) -> int:
        with self._cond:
            return self._toast_count

    def wait_change(self, seen_version: int, timeout_s: float) -> int:
        """Block until ``version`` moves past ``seen_version`` (or the timeout); return it."""
        with self._cond:
            self._cond.wait_for(
                lambda: self.version != seen_version or self._stop.is_set(), timeout_s
            )
            return self.version

    def _toast(self, kind: v.ToastKind, text: str) -> None:
        self._toast_count += 1
        self._toasts.append(v.Toast(self._toast_count, kind, text))

    def _bump(self) -> None:
        self.version += 1
        self._cond.notify_all()
