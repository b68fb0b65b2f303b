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

import contextlib
import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAIRING_SECRET = b"browser-test-store-secret"
WAIT_S = 20.0  # generous: CI machines are shared and slow


def wait_until(check: Callable[[], bool], timeout_s: float = WAIT_S, what: str = "it") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


class CuttablePath:
    """A TCP relay between the cart and the broker that a test can cut and restore.

    ``cut()`` closes every live connection and refuses new ones (the cart sees its network
    drop); ``restore()`` lets connections through again (the cart reconnects by itself).
    """

    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # the connect timeout must not become an idle timeout
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self.cut()
        self._server.close()


@dataclass
class Store:
    worker: object  # host.worker.HostWorker
    broker_port: int
    http_url: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    import uvicorn
    from fastapi import FastAPI

    from host.broker import EmbeddedBroker
    from host.dashboard.pairing import PairingSettings
    from host.dashboard.router import dashboard_router
    from host.settings import HostSettings
    from host.worker import HostWorker

    db = tmp_path_factory.mktemp("host") / "host.db"
    with EmbeddedBroker() as broker:
        settings = HostSettings(database_url=f"sqlite:///{db}", broker_url=broker.url)
        with HostWorker(settings) as worker:
            app = FastAPI()
            app.include_router(
                dashboard_router(
                    worker, PairingSettings(secret=PAIRING_SECRET.decode()), poll_s=0.2
                )
            )
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


@dataclass
class Cart:
    cart_id: str
    link: object  # firmware.link.mqtt.CartLink
    controller: object  # firmware.screen.controller.ScreenController
    url: str
    path: CuttablePath


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
