"""The cart's touchscreen: a tiny local web server the kiosk browser shows full-screen.

- ``pairing``: the idle QR code, a signed one-time ``PairingCode`` the shopper's phone hands to
  the host, rendered server-side to SVG (segno);
- ``view``: pure functions from the link's state (basket, pending questions, connection) to a
  frozen ``ScreenView`` and the toasts for new events; tested by tables, no server in sight;
- ``controller``: ``ScreenController``, the screen's small state machine (greeting, paying,
  receipt, refusal) over a ``CartLink``; it watches the link and bumps a version on change;
- ``server``: ``CartScreen``, a stdlib ``ThreadingHTTPServer`` on localhost serving the page,
  server-sent events with the rendered view, and the shopper's taps (resolve, pay, done).

The page is server-rendered HTML (Jinja2) with a little vanilla JavaScript; nothing is fetched
from the internet, and every form also works without JavaScript.
"""
