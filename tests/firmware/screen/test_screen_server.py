"""The screen's controller and HTTP server over a real outbox, without MQTT.

``BenchLink`` stands in for ``CartLink``'s transport only: it stores each change in a real
``Outbox`` and folds the real ``Basket`` exactly as the link does, and answers a checkout with
the answer the test scripts. Everything the screen does with it is the production code path.
The full system (broker, host, Chromium) is in tests/browser.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from firmware.basket.changes import BasketChange, Candidate
from firmware.link.basket import Basket
from firmware.link.outbox import Outbox
from firmware.screen.controller import ScreenController
from firmware.screen.server import CartScreen
from smartcart.catalog import default_catalog
from smartcart.contract import messages as m

CART = "cart-0042"


class BenchLink:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.connected = True
        self.basket: Basket | None = None
        self.answer: m.Receipt | m.CheckoutRefused | None = None

    def open(self, session_id: str) -> None:
        self.outbox.open_session(session_id)
        self.basket = Basket(session_id)

    def submit(self, change: BasketChange) -> m.CartEvent:
        assert self.basket is not None
        event = self.outbox.append(change, self.basket.session_id)
        self.basket = self.basket.apply(event)
        return event

    def checkout(self, timeout_s: float = 60.0) -> m.Receipt | m.CheckoutRefused:
        assert self.answer is not None
        return self.answer


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One client for the module: a new one per request costs ~0.3 s of TLS set-up."""
    with httpx.Client(timeout=5) as c:
        yield c


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[tuple[BenchLink, ScreenController, str]]:
    with Outbox(tmp_path / "outbox.sqlite", CART) as outbox:
        link = BenchLink(outbox)
        key = m.cart_pairing_key(b"secret", CART)
        controller = ScreenController(
            link, default_catalog(), CART, key, "http://host/pair", poll_s=0.02
        )
        with CartScreen(controller) as screen:
            yield link, controller, screen.url


def change(kind: str, **kw: object) -> BasketChange:
    return BasketChange(kind, datetime.now(UTC), 0.0, **kw)  # type: ignore[arg-type]


def refused(session_id: str) -> m.CheckoutRefused:
    return m.CheckoutRefused(
        cart_id=CART,
        session_id=session_id,
        request_id=str(uuid.uuid4()),
        reason="insufficient_funds",
        message="balance 1000 < 2400 SEK",
    )


def test_idle_shows_a_qr_code_then_greets_the_shopper(bench, client) -> None:
    link, controller, url = bench
    page = client.get(url).text
    assert "Scan to start shopping" in page and "<svg" in page and "/static/screen.js" in page
    assert 'data-pair-url="http://host/pair?cart=cart-0042&amp;nonce=' in page

    session_id = str(uuid.uuid4())
    link.open(session_id)
    started = m.SessionStarted(
        cart_id=CART,
        session_id=session_id,
        started_at=datetime.now(UTC),
        customer_name="Alice <b>",
        acked_seq=0,
    )
    controller.on_host_message(started)
    controller.on_host_message(started)  # redelivered: greeted once
    view = client.get(f"{url}/view").text
    assert "Hi Alice &lt;b&gt;!" in view  # escaped: a name is data, not markup
    assert [t.text for t in controller.toasts_after(0)] == ["Welcome, Alice <b>!"]


def test_a_tap_answers_the_question_through_the_outbox(bench, client) -> None:
    link, controller, url = bench
    link.open(str(uuid.uuid4()))
    link.submit(change("add", sku="oatly-oat-milk"))
    asked = link.submit(
        change("unresolved", action="add", grams=190, candidates=(Candidate("granny-smith", 0.5),))
    )
    view = client.get(f"{url}/view").text
    assert "Which item did you add?" in view and 'data-sku="granny-smith"' in view

    assert client.post(f"{url}/resolve", data={"resolves": "nope", "sku": ""}).status_code == 409
    r = client.post(
        f"{url}/resolve",
        data={"resolves": asked.event_id, "sku": "granny-smith"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 204
    answer = link.outbox.session_events(link.basket.session_id)[-1]
    assert (answer.type, answer.sku, answer.resolves) == (
        "resolution",
        "granny-smith",
        asked.event_id,
    )
    assert controller.view().total == "30,08 kr"  # 24,00 + 190 g × 32,00 kr/kg
    assert controller.view().question is None


def test_the_event_stream_sends_each_change_once(bench, client) -> None:
    link, controller, url = bench
    link.open(str(uuid.uuid4()))
    controller.poll()  # the session is on the screen: the stream starts from here
    version = controller.version
    with client.stream("GET", f"{url}/events", params={"version": version}, timeout=5) as r:
        link.submit(change("add", sku="banana", grams=412))
        messages = []
        for line in r.iter_lines():
            if line.startswith("data: "):
                messages.append(json.loads(line.removeprefix("data: ")))
                if messages[-1]["toasts"]:
                    break
    # Usually one message; the watcher may have sent the same view a tick before its toast.
    assert len(messages) <= 2
    assert all(msg["version"] > version for msg in messages)
    assert "10,30 kr" in messages[-1]["html"]
    assert [t["text"] for t in messages[-1]["toasts"]] == ["Added Banana (412 g)"]


def test_a_refused_checkout_shows_why_and_what_to_do(bench, client) -> None:
    link, controller, url = bench
    session_id = str(uuid.uuid4())
    link.open(session_id)
    link.submit(change("add", sku="oatly-oat-milk"))
    link.answer = refused(session_id)
    assert client.post(f"{url}/checkout").status_code == 303
    controller.wait_change(controller.version, 2)
    for _ in range(50):
        view = controller.view()
        if view.refusal is not None:
            break
        controller.wait_change(controller.version, 0.1)
    assert view.phase == "shopping"
    assert view.refusal is not None and view.refusal.title == "Payment declined"
    assert "Top up your account" in client.get(f"{url}/view").text

    link.connected = False  # the store's network is gone: paying is refused at once
    controller.pay()
    assert controller.view().refusal.reason == "offline"
    assert "Offline" in client.get(f"{url}/view").text
