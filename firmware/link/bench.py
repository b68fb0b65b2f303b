"""Benchmark of the cart's link: ``python -m firmware.link.bench [--broker-url URL]``.

Prints figures, asserts nothing. Three measurements:

1. ``append``: one durable outbox append (``synchronous=FULL``: an fsync per event), the floor
   under everything the cart sends.
2. ``on the wire`` and ``round trip``: a cart submitting one event at a time, as a shopper
   does. From ``submit`` returning (the event is on disk) to a subscriber of the broker
   receiving it (the event has left the cart), and to the real checkout host's ``Ack`` making
   the outbox forget it (``HostWorker`` on SQLite).
3. ``burst``: events submitted back to back, as after minutes offline; events per second until
   the host has acknowledged them all.

A development tool: it starts the host in-process (the embedded broker unless ``--broker-url``),
which the cart itself never does.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(add_completion=False)

_SKUS = ("kiwi", "lemon", "lime", "avocado", "mango", "garlic", "cucumber", "aubergine")


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _ms(samples: list[float]) -> str:
    qs = statistics.quantiles(samples, n=20)
    return (
        f"p50 {statistics.median(samples) * 1e3:6.2f} ms  p95 {qs[18] * 1e3:6.2f} ms  "
        f"max {max(samples) * 1e3:6.2f} ms  (n={len(samples)})"
    )


@app.command()
def bench(
    broker_url: Annotated[
        str | None, typer.Option(help="Broker to use; default: the embedded one on a free port.")
    ] = None,
    paced: Annotated[int, typer.Option(help="Events for the round-trip latency.")] = 100,
    burst: Annotated[int, typer.Option(help="Events for the burst throughput.")] = 500,
    appends: Annotated[int, typer.Option(help="Outbox appends to time on their own.")] = 300,
) -> None:
    """Print outbox append latency, cart->host->ack round trip, and burst throughput."""
    from contextlib import ExitStack

    from firmware.basket.changes import BasketChange
    from firmware.link.mqtt import CartLink, LinkConfig
    from firmware.link.outbox import Outbox
    from host.broker import EmbeddedBroker
    from host.settings import HostSettings
    from host.worker import HostWorker
    from smartcart.contract.topics import Channel, topic

    def change(i: int) -> BasketChange:
        return BasketChange("add", datetime.now(UTC), t_s=float(i), sku=_SKUS[i % len(_SKUS)])

    with tempfile.TemporaryDirectory(prefix="smartcart-link-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        with Outbox(work / "alone.sqlite", "bench-cart") as ob:
            samples = []
            for i in range(appends):
                t = time.perf_counter()
                ob.append(change(i), "00000000-0000-4000-8000-000000000000")
                samples.append(time.perf_counter() - t)
        typer.echo(f"append      {_ms(samples)}")

        url = stack.enter_context(EmbeddedBroker()).url if broker_url is None else broker_url
        settings = HostSettings(
            database_url=f"sqlite:///{work / 'host.db'}",
            broker_url=url,
            worker_id=f"bench-host-{time.time_ns()}",
            # Never shared: on a broker other hosts use, a shared group would hand some of the
            # bench cart's events to their databases.
            shared_subscription=False,
        )
        host = stack.enter_context(HostWorker(settings))
        cart = f"bench-{time.time_ns() % 10**9}"
        outbox = stack.enter_context(Outbox(work / "cart.sqlite", cart))
        link = stack.enter_context(CartLink(LinkConfig(cart_id=cart, broker_url=url), outbox))
        if not link.wait_ready(20):
            _fail(f"cannot reach {url}")
        customer = host.create_customer("Bench", top_up_minor=0)

        def session() -> None:
            host.start_session(cart, customer)
            link.wait_session(20)

        session()
        seen = stack.enter_context(_Sniffer(url, topic(cart, Channel.EVENTS)))
        wire, trip = [], []
        for i in range(paced):
            seq = link.submit(change(i)).seq
            t = time.perf_counter()
            if not link.wait_acked(10):
                _fail(f"event {i} not acknowledged within 10 s")
            trip.append(time.perf_counter() - t)
            wire.append(seen.first_seen(seq, timeout_s=5) - t)
        typer.echo(f"on the wire {_ms(wire)}")
        typer.echo(f"round trip  {_ms(trip)}  [{url}, host on SQLite]")

        # A fresh session keeps the basket small (a snapshot holds at most 1000 of one sku).
        host.start_session(cart, customer)
        time.sleep(0.5)
        t = time.perf_counter()
        for i in range(burst):
            link.submit(change(i))
        submitted_s = time.perf_counter() - t
        if not link.wait_acked(120):
            _fail("burst not acknowledged within 120 s")
        total_s = time.perf_counter() - t
        typer.echo(
            f"burst       {burst} events: submitted in {submitted_s:.2f} s, all acknowledged "
            f"after {total_s:.2f} s = {burst / total_s:.0f} events/s"
        )
        stats = link.stats
        typer.echo(f"link        {stats.published} publishes, {stats.resent} resends")


class _Sniffer:
    """A plain subscriber noting when each event seq first reaches it through the broker."""

    def __init__(self, url: str, topic_name: str) -> None:
        import threading

        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        from firmware.link.mqtt import BrokerAddress

        self._topic = topic_name
        self._seen: dict[int, float] = {}
        self._cond = threading.Condition()
        address = BrokerAddress.parse(url)
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"link-bench-sniffer-{time.time_ns()}"
        )
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect(address.host, address.port)
        self._client.subscribe(topic_name, qos=1)
        self._client.loop_start()
        if not subscribed.wait(10):
            _fail(f"the sniffer could not subscribe at {url}")

    def _on_message(self, client: object, userdata: object, msg: object) -> None:
        import json

        now = time.perf_counter()
        if msg.topic != self._topic:  # type: ignore[attr-defined]
            return  # amqtt sometimes hands a new subscriber retained messages of sibling topics
        seq = json.loads(msg.payload)["seq"]  # type: ignore[attr-defined]
        with self._cond:
            self._seen.setdefault(seq, now)
            self._cond.notify_all()

    def first_seen(self, seq: int, timeout_s: float) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: seq in self._seen, timeout_s):
                _fail(f"event {seq} never reached the broker's subscribers")
            return self._seen[seq]

    def __enter__(self) -> _Sniffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()


if __name__ == "__main__":
    app()
