"""Helpers of the browser tests: the store's pieces, a cuttable network path, waiting."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

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
STAFF_TOKEN = "browser-test-staff-token"  # the store's settings list its SHA-256
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
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


@dataclass
class Cart:
    cart_id: str
    link: object  # firmware.link.mqtt.CartLink
    controller: object  # firmware.screen.controller.ScreenController
    url: str
    path: CuttablePath


# Toasts leave the page after 3.5 s, sooner than a loaded CI machine may look: record every
# toast the page shows (a MutationObserver, test-side only) and wait on the record instead.
_RECORD_TOASTS = """() => {
  window.__toasts = [];
  new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) window.__toasts.push(n.textContent);
  }).observe(document.getElementById("toasts"), { childList: true });
}"""


def record_toasts(page: object) -> None:
    page.evaluate(_RECORD_TOASTS)  # type: ignore[attr-defined]


def wait_toast(page: object, text: str) -> None:
    """Wait until the page has shown a toast reading ``text`` (after ``record_toasts``)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "(text) => window.__toasts.includes(text)", arg=text, timeout=WAIT_S * 1000
    )
