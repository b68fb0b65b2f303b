"""A cart as its own process, for the kill -9 end-to-end test: outbox + CartLink play a trip.

Usage: python cart_process.py BROKER_URL OUTBOX CART TRIP [--checkout]

Prints ``ready`` once connected and subscribed, ``event SEQ EVENT_ID`` after each event is in
the outbox, and with ``--checkout`` finally ``receipt TOTAL_MINOR`` or ``refused REASON``.
A restarted process picks the trip up after the steps its outbox already holds for the session.
Without ``--checkout`` it idles after the trip, waiting to be killed.
"""

import sys
import time
from datetime import UTC, datetime, timedelta

from firmware.basket.changes import BasketChange
from firmware.link.mqtt import CartLink, LinkConfig
from firmware.link.outbox import Outbox
from smartcart.contract import messages as m
from smartcart.feed.format import read_events


def main() -> None:
    broker_url, db, cart, trip = sys.argv[1:5]
    steps = read_events(trip)
    t0 = datetime.now(UTC)
    cfg = LinkConfig(cart_id=cart, broker_url=broker_url, reconnect_max_s=2, checkout_retry_s=0.5)
    with Outbox(db, cart) as outbox, CartLink(cfg, outbox) as link:
        assert link.wait_ready(20), "no broker"
        print("ready", flush=True)
        session = link.wait_session(30)
        done = len(outbox.session_events(session))
        for step in steps[done:]:
            change = BasketChange(step.type, t0 + timedelta(seconds=step.t), step.t,
                                  sku=step.sku, grams=step.grams)  # fmt: skip
            event = link.submit(change)
            print(f"event {event.seq} {event.event_id}", flush=True)
            time.sleep(0.05)
        if "--checkout" not in sys.argv:
            time.sleep(3600)
        answer = link.checkout(timeout_s=30)
        if isinstance(answer, m.Receipt):
            print(f"receipt {answer.total_minor}", flush=True)
        else:
            print(f"refused {answer.reason}", flush=True)


if __name__ == "__main__":
    main()
