"""``CartScreen``: the screen's local web server (standard library ``ThreadingHTTPServer``).

    GET  /            the page, rendered with the current view
    GET  /view        the view fragment alone (what each event carries)
    GET  /events      server-sent events: ``view`` with {version, html, toasts} on every change
                      after the page's ``?version=`` (and toasts after ``?toast=``)
    GET  /static/...  the stylesheet and the script (package files, nothing from the internet)
    POST /resolve     resolves=<event id>&sku=<sku or empty for "none of these">
    POST /checkout    start paying
    POST /done        close the receipt / the refusal

It listens on localhost only (the kiosk browser runs on the cart); a stdlib server keeps the
cart free of an ASGI stack. Each event stream holds one thread, which is what a kiosk with one
page needs. A POST answers 204 to the page's script, or redirects to ``/`` for a plain form.
"""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from firmware.screen.controller import ScreenController
from firmware.screen.errors import BadRequest
from firmware.screen.view import ScreenView

log = logging.getLogger(__name__)

_STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_KEEPALIVE_S = 10.0  # an SSE comment this often, so a dead client is noticed and dropped
_MAX_FORM_BYTES = 4096


class CartScreen:
    """``with CartScreen(controller, port=0) as screen: open screen.url in the kiosk``."""

    def __init__(self, controller: ScreenController, host: str = "127.0.0.1", port: int = 0):
        self.controller = controller
        self._env = Environment(
            loader=PackageLoader("firmware.screen", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._host = host
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._httpd.server_port}"

    def start(self) -> CartScreen:
        self.controller.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="screen-http", daemon=True
        )
        self._thread.start()
        log.info("cart screen on %s", self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.controller.stop()  # wakes the event streams so they end
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> CartScreen:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- rendering ----

    def render_view(self, view: ScreenView) -> str:
        return self._env.get_template("view.html").render(view=view)

    def render_page(self) -> str:
        version = self.controller.version
        return self._env.get_template("page.html").render(
            view=self.controller.view(),
            version=version,
            last_toast_id=self.controller.last_toast_id,
        )


def _handler(screen: CartScreen) -> type[BaseHTTPRequestHandler]:
    controller = screen.controller

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go as written: no 40 ms ACK stalls
        server_version = "smartcart-screen"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("%s " + format, self.address_string(), *args)

        # ---- GET ----

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", screen.render_page())
            elif parts.path == "/view":
                html = screen.render_view(controller.view())
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", html)
            elif parts.path == "/events":
                query = parse_qs(parts.query)
                after = query.get("toast", ["0"])[0]
                version = query.get("version", [""])[0]
                self._events(
                    int(after) if after.isdigit() else 0,
                    int(version) if version.isdigit() else -1,
                )
            elif parts.path.startswith("/static/"):
                self._static(parts.path.removeprefix("/static/"))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")

        def _static(self, name: str) -> None:
            path = _STATIC / name
            kind = _STATIC_TYPES.get(path.suffix)
            if "/" in name or kind is None or not path.is_file():
                self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")
                return
            self._send(HTTPStatus.OK, kind, path.read_text(encoding="utf-8"))

        def _events(self, toast_after: int, seen: int) -> None:
            """Stream views newer than ``seen`` (the page's own; -1: send the current at once)."""
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                while not screen._stopping.is_set():
                    version = controller.wait_change(seen, _KEEPALIVE_S)
                    if version == seen:
                        self.wfile.write(b": keepalive\n\n")
                        self.wfile.flush()
                        continue
                    seen = version
                    toasts = controller.toasts_after(toast_after)
                    if toasts:
                        toast_after = toasts[-1].toast_id
                    data = json.dumps(
                        {
                            "version": version,
                            "html": screen.render_view(controller.view()),
                            "toasts": [
                                {"id": t.toast_id, "kind": t.kind, "text": t.text} for t in toasts
                            ],
                        }
                    )
                    self.wfile.write(f"event: view\ndata: {data}\n\n".encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the browser went away (reload, kiosk restart): nothing to clean up

        # ---- POST ----

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = self._form()
            try:
                if path == "/resolve":
                    resolves = form.get("resolves", "")
                    controller.resolve(resolves, form.get("sku") or None)
                elif path == "/checkout":
                    controller.pay()
                elif path == "/done":
                    controller.done()
                else:
                    self._send(HTTPStatus.NOT_FOUND, "text/plain", "not found")
                    return
            except BadRequest as e:
                self._send(HTTPStatus.CONFLICT, "text/plain; charset=utf-8", str(e))
                return
            if "application/json" in self.headers.get("Accept", ""):
                self.send_response(HTTPStatus.NO_CONTENT)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(HTTPStatus.SEE_OTHER)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()

        def _form(self) -> dict[str, str]:
            length = min(int(self.headers.get("Content-Length") or 0), _MAX_FORM_BYTES)
            body = self.rfile.read(length).decode("utf-8", "replace")
            return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

        def _send(self, status: HTTPStatus, content_type: str, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

    return Handler
