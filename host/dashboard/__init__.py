"""The store's dashboard and the shopper's phone pairing, served by the host under its API.

- ``queries``: read models over the host's tables (carts with their state, a session's basket,
  event history and receipt with adjustments) as frozen values, plus a cheap change fingerprint;
- ``pairing``: ``POST /pair``, the endpoint the shopper's phone calls with the cart's QR code;
  it checks the code's signature, age and one-time use, then starts the session through
  ``HostWorker.start_session`` (which tells the cart over MQTT);
- ``router``: ``dashboard_router(worker)``, the FastAPI router: server-rendered pages (Jinja2),
  a server-sent-events stream that re-renders on change, and the staff's refund and correction
  forms, which go through ``host.checkout`` (new balanced ledger transactions, never edits).
"""
