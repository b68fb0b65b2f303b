"""A cart as its own process, for the kill -9 test: the signed outbox + CartLink, adding items
as fast as the outbox takes them (each append is an fsync'd SQLite commit).

Usage: python cart_proc.py BROKER_URL OUTBOX CART KEY [--items N --checkout]

Prints ``connected`` once subscribed to its host topic, ``ready`` once a session is open,
``event SEQ EVENT_ID`` after each event is durable, and with ``--checkout``, after N more
items, ``receipt TOTAL_MINOR`` or ``refused REASON``. Without it, it adds items until it is killed.
"""

import itertools
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from firmware.basket.changes import BasketChange
from firmware.link.mqtt import CartLink, LinkConfig
from firmware.link.outbox import Outbox
from smartcart.contract import messages as m
from smartcart.contract.signing import Signer

SKUS = ("kiwi", "lemon", "lime", "avocado", "mango", "pineapple", "papaya", "pomegranate")


def main() -> None:
    broker_url, db, cart, key = sys.argv[1:5]
    items = int(sys.argv[sys.argv.index("--items") + 1]) if "--items" in sys.argv else None
    cfg = LinkConfig(cart_id=cart, broker_url=broker_url, reconnect_max_s=2, checkout_retry_s=0.5)
    rng = random.Random()
    with Outbox(db, cart, Signer.load(Path(key))) as outbox, CartLink(cfg, outbox) as link:
        assert link.wait_ready(20), "no broker"
        print("connected", flush=True)
        link.wait_session(30)
        print("ready", flush=True)
        for i in itertools.count() if items is None else range(items):
            now = datetime.now(UTC)
            event = link.submit(BasketChange("add", now, float(i), sku=rng.choice(SKUS)))
            print(f"event {event.seq} {event.event_id}", flush=True)
            time.sleep(0.01)  # a busy aisle, not a flood: the kill lands among ~100 events
        answer = link.checkout(timeout_s=40)
        if isinstance(answer, m.Receipt):
            print(f"receipt {answer.total_minor}", flush=True)
        else:
            print(f"refused {answer.reason}", flush=True)


if __name__ == "__main__":
    main()
