"""Child process for the kill -9 test: append events forever, reporting each one committed.

Usage: python outbox_writer.py DB CART SESSION. Prints ``event SEQ EVENT_ID`` after each
append returns (the event is committed) and ``ack SEQ`` after each acknowledgement returns;
the parent kills it with SIGKILL at a random moment and checks the database against the report.
"""

import sys
from datetime import UTC, datetime

from firmware.basket.changes import BasketChange
from firmware.link.outbox import Outbox


def main() -> None:
    db, cart, session = sys.argv[1:4]
    outbox = Outbox(db, cart)
    n = 0
    while True:
        change = BasketChange(
            "add", datetime.now(UTC), t_s=n * 0.1, sku="banana", grams=120 + n % 40
        )
        event = outbox.append(change, session)
        print(f"event {event.seq} {event.event_id}", flush=True)
        n += 1
        if n % 7 == 0:  # the host acknowledging a little behind, as it does live
            outbox.acknowledge(event.seq - 3)
            print(f"ack {event.seq - 3}", flush=True)


if __name__ == "__main__":
    main()
