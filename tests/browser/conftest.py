"""The whole store on one machine for the browser tests, and Debian's Chromium to look at it.

Module-scoped (started once, ~3 s): the embedded MQTT broker, a ``HostWorker`` on a temporary
SQLite file, the host's HTTP app (API + dashboard + pairing) under uvicorn on a free port, and
headless Chromium driven by Playwright (never a downloaded browser). Per test: a fresh cart
(its own id, durable outbox, ``CartLink`` reaching the broker through a ``CuttablePath`` so a
test can cut the store's network) with its screen server, and a fresh customer.

Screenshots go to ``<pytest tmp>/artefacts``; set SMARTCART_SCREENSHOTS=docs/img to refresh
the README's pictures.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAIRING_SECRET,
    STAFF_TOKEN,
    WAIT_S,
    Cart,
    CuttablePath,
    Store,
    wait_until,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    import uvicorn

    from host.api import create_app
    from host.broker import EmbeddedBroker
    from host.settings import HostSettings, staff_token_sha256
    from host.worker import HostWorker

    db = tmp_path_factory.mktemp("host") / "host.db"
    with EmbeddedBroker() as broker:
        # amqtt speaks MQTT 3.1.1 only: no shared subscription, no MQTT 5 probe first.
        settings = HostSettings(
            database_url=f"sqlite:///{db}",
            broker_url=broker.url,
            shared_subscription=False,
            staff_token_sha256=(staff_token_sha256(STAFF_TOKEN),),
        )
        with HostWorker(settings) as worker:
            # The host's real app: API, dashboard and pairing, configured from the environment.
            with pytest.MonkeyPatch.context() as env:
                env.setenv("SMARTCART_PAIRING_SECRET", PAIRING_SECRET.decode())
                app = create_app(worker)
            sock = socket.create_server(("127.0.0.1", 0))  # bound here: no port race
            port = sock.getsockname()[1]
            config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            wait_until(lambda: server.started, what="uvicorn")
            assert broker.port is not None
            yield Store(worker, broker.port, f"http://127.0.0.1:{port}")
            server.should_exit = True
            thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("SMARTCART_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required here (SMARTCART_REQUIRE_SERVICES=1)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 800, "height": 480})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(WAIT_S * 1000)
    yield pg
    context.close()


@pytest.fixture
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[object, str], Path]:
    """``shot(page, "name")``: a PNG in the artefacts dir (and docs/img when asked)."""
    out = tmp_path_factory.getbasetemp() / "artefacts"
    out.mkdir(exist_ok=True)
    docs = os.environ.get("SMARTCART_SCREENSHOTS")

    def shot(pg: object, name: str) -> Path:
        path = out / f"{name}.png"
        pg.screenshot(path=str(path))  # type: ignore[attr-defined]
        if docs:
            Path(docs).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(docs) / path.name)
        return path

    return shot


_CART_NUMBERS = itertools.count(1)


@pytest.fixture
def cart(store: Store, tmp_path: Path) -> Iterator[Cart]:
    from firmware.link.mqtt import CartLink, LinkConfig
    from firmware.link.outbox import Outbox
    from firmware.screen.controller import ScreenController
    from firmware.screen.server import CartScreen
    from smartcart.catalog import default_catalog
    from smartcart.contract import messages as m

    cart_id = f"cart-b{os.getpid() % 1000:03d}{next(_CART_NUMBERS):02d}"
    path = CuttablePath(store.broker_port)
    outbox = Outbox(tmp_path / "outbox.sqlite", cart_id)
    controller: ScreenController | None = None

    def on_message(msg: object) -> None:
        assert controller is not None
        controller.on_host_message(msg)  # type: ignore[arg-type]

    link = CartLink(
        LinkConfig(
            cart_id,
            f"mqtt://127.0.0.1:{path.port}",
            reconnect_min_s=1,
            reconnect_max_s=1,
            checkout_retry_s=0.5,
        ),
        outbox,
        on_message=on_message,
    )
    controller = ScreenController(
        link,
        default_catalog(),
        cart_id,
        m.cart_pairing_key(PAIRING_SECRET, cart_id),
        f"{store.http_url}/pair",
        checkout_timeout_s=WAIT_S,
        poll_s=0.05,
    )
    link.start()
    assert link.wait_ready(WAIT_S)
    with CartScreen(controller) as screen:
        yield Cart(cart_id, link, controller, screen.url, path)
    link.stop()
    outbox.close()
    path.close()
