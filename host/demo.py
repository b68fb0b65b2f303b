"""``smartcart demo``: the whole system on one machine, from an empty database to a receipt.

What runs, all real, in this process:
1. the embedded MQTT broker (amqtt) on a free port, or the broker given by ``--broker-url``;
2. the checkout host (``HostWorker``) on a SQLite file in a temporary folder, with a keyring
   holding the cart's public key, so it applies only messages the cart signed;
3. staff actions: a customer with a balance, a shopping session on ``cart-0042``;
4. the cart: its key, durable outbox (``firmware.link.outbox``) and MQTT link (``CartLink``),
   publishing a ``Script``'s basket changes, then asking to check out;
5. the receipt the host sent the cart, and the customer's new balance, printed with rich.

Two scripts: ``TripScript`` plays a committed file in the shape of a feed's ``truth.jsonl``
(``trips/demo-trip.jsonl``, the default) standing in for what the pipeline would emit;
``FeedScript`` (``--feed DIR``) runs the cart's real pipeline on a ``cartfeed/1`` feed. An
``unresolved`` change is answered as a shopper on the screen would: its best candidate (for a
remove, the best one in the basket). Everything from the outbox on is the production path.

Only typer and the standard library are imported at module level (``smartcart --help`` stays
instant); the rest is imported inside the command.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from firmware.basket.changes import BasketChange
    from smartcart.contract import messages as m
    from smartcart.feed.format import TruthEvent

DEFAULT_TRIP = Path(__file__).resolve().parents[1] / "trips" / "demo-trip.jsonl"
DEMO_CART = "cart-0042"
_WAIT_S = 60.0  # per step the demo waits on (connect, session, checkout); CI boxes get slow


@dataclass(frozen=True, slots=True)
class DemoResult:
    customer_id: str
    session_id: str
    answer: m.Receipt | m.CheckoutRefused
    balance_before_minor: int
    balance_after_minor: int
    events: tuple[m.CartEvent, ...]
    elapsed_s: float


def demo(
    broker_url: Annotated[
        str | None,
        typer.Option(help="Use this broker (mqtt://host:port) instead of the embedded one."),
    ] = None,
    trip: Annotated[
        Path, typer.Option(help="Scripted trip, truth.jsonl-shaped.", exists=True, dir_okay=False)
    ] = DEFAULT_TRIP,
    speed: Annotated[
        float,
        typer.Option(help="Play the trip this many times faster than real time; 0: no waits."),
    ] = 20.0,
    customer: Annotated[str, typer.Option(help="The shopper's name.")] = "Alex Andersson",
    balance: Annotated[int, typer.Option(help="Starting balance, in öre.")] = 50_000,
    cart_id: Annotated[str, typer.Option(help="The cart's id.")] = DEMO_CART,
    feed: Annotated[
        Path | None,
        typer.Option(
            help="Instead of the trip, run the cart's real pipeline (detector, tracker, "
            "recognizer, scale) on this cartfeed/1 folder; needs the models.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Broker + host + a cart on embedded defaults; prints the receipt and the new balance."""
    from rich.console import Console

    from firmware.errors import FirmwareError
    from host.errors import HostError
    from smartcart.feed.errors import FeedError

    console = Console()
    script: Script = TripScript(trip, speed) if feed is None else FeedScript(feed)
    try:
        with tempfile.TemporaryDirectory(prefix="smartcart-demo-") as tmp:
            result = run_demo(
                Path(tmp), script, console, broker_url=broker_url,
                customer=customer, balance_minor=balance, cart_id=cart_id,
            )  # fmt: skip
    except (FirmwareError, HostError, FeedError) as e:
        console.print(f"[bold red]demo failed:[/] {e}")
        raise typer.Exit(1) from e
    print_result(console, result)
    if result.answer.type != "receipt":
        raise typer.Exit(1)


def run_demo(
    workdir: Path,
    script: Script,
    console: Console,
    *,
    broker_url: str | None = None,
    customer: str = "Alex Andersson",
    balance_minor: int = 50_000,
    cart_id: str = DEMO_CART,
) -> DemoResult:
    """Run the demo with its state under ``workdir``; returns what the cart was told."""
    from contextlib import ExitStack

    from firmware.link.errors import LinkError
    from firmware.link.mqtt import CartLink, LinkConfig
    from firmware.link.outbox import Outbox
    from host.broker import EmbeddedBroker
    from host.settings import HostSettings
    from host.worker import HostWorker
    from smartcart.contract.signing import Keyring, KeyringFile, Signer

    started = time.monotonic()
    script.prepare()  # a bad trip or missing models fail here, before anything starts
    with ExitStack() as stack:
        embedded = broker_url is None
        if broker_url is None:
            broker_url = stack.enter_context(EmbeddedBroker()).url
        else:
            _forget_broker_session(broker_url, cart_id)
        console.print(f"[dim]broker[/] {broker_url}")
        settings = HostSettings(
            database_url=f"sqlite:///{workdir / 'host.db'}",
            broker_url=broker_url,
            # amqtt speaks MQTT 3.1.1 only: no shared subscriptions, no MQTT 5 attempt first.
            shared_subscription=False if embedded else None,
        )
        # The cart signs what it says with its own key; the host applies only what verifies.
        signer = Signer.generate(cart_id)
        keyring = Keyring()
        keyring.enrol(cart_id, signer.public)
        keyring.save(workdir / "keyring.json")
        host = stack.enter_context(
            HostWorker(settings, keyring=KeyringFile(workdir / "keyring.json"))
        )
        console.print(f"[dim]host[/]   {settings.database_url}")
        customer_id = host.create_customer(customer, top_up_minor=balance_minor)
        before = host.balance_minor(customer_id)

        outbox = stack.enter_context(Outbox(workdir / "cart-outbox.sqlite", cart_id, signer))
        link = stack.enter_context(
            CartLink(LinkConfig(cart_id=cart_id, broker_url=broker_url, firmware="demo"), outbox)
        )
        if not link.wait_ready(_WAIT_S):
            raise LinkError(f"the cart could not reach the broker at {broker_url}")
        session_id = host.start_session(cart_id, customer_id)
        link.wait_session(_WAIT_S)
        who = f"session {session_id[:8]} for {customer}"
        console.print(f"[dim]cart[/]   {cart_id} (key {signer.kid[:8]}), {who}")

        events: list[m.CartEvent] = []

        def emit(change: BasketChange) -> None:
            submitted = [link.submit(change)]
            if submitted[0].type == "unresolved":
                in_basket = frozenset(link.basket.lines) if link.basket else frozenset()
                pick = _shopper_pick(change, in_basket)
                submitted.append(link.submit(_answer(submitted[0], pick, change.t_s)))
            for event in submitted:
                events.append(event)
                console.print(
                    f"  [dim]{change.t_s:6.2f} s  seq {event.seq:>3}[/]  {_describe(event)}"
                )

        script.play(emit)
        answer = link.checkout(timeout_s=_WAIT_S)
        after = host.balance_minor(customer_id)
    return DemoResult(
        customer_id, session_id, answer, before, after, tuple(events), time.monotonic() - started
    )


class Script(Protocol):
    """Where the demo cart's basket changes come from."""

    def prepare(self) -> None: ...
    def play(self, emit: Callable[[BasketChange], None]) -> None: ...


@dataclass
class TripScript:
    """A committed trip file in the shape of ``truth.jsonl``, played at ``speed`` x real time."""

    path: Path
    speed: float = 20.0
    _steps: list[TruthEvent] = field(default_factory=list)

    def prepare(self) -> None:
        from smartcart.feed.format import read_events

        self._steps = read_events(self.path)

    def play(self, emit: Callable[[BasketChange], None]) -> None:
        t0, clock0 = datetime.now(UTC), time.monotonic()
        for step in self._steps:
            if self.speed > 0:
                time.sleep(max(0.0, clock0 + step.t / self.speed - time.monotonic()))
            emit(_change(step, t0))


@dataclass
class FeedScript:
    """The cart's real pipeline replaying a recorded or rendered ``cartfeed/1`` feed."""

    path: Path
    _models: tuple[Any, Any] | None = None

    def prepare(self) -> None:
        from firmware.models import ModelsMissing, open_models
        from models.manifest import ManifestError
        from smartcart.catalog import default_catalog

        try:
            self._models = open_models(default_catalog())
        except ManifestError as e:  # not shipped yet, or a checksum that does not match
            raise ModelsMissing(f"--feed needs the cart's models: {e}") from e

    def play(self, emit: Callable[[BasketChange], None]) -> None:
        from firmware.replay import replay_feed
        from smartcart.catalog import default_catalog

        assert self._models is not None, "prepare() first"
        detector, recognizer = self._models
        replay_feed(self.path, detector, recognizer, default_catalog(), on_change=emit)


def _change(step: TruthEvent, t0: datetime) -> BasketChange:
    """A trip line as the basket logic would have handed it to the outbox."""
    from firmware.basket.changes import BasketChange, Candidate

    return BasketChange(
        step.type,
        t0 + timedelta(seconds=step.t),
        t_s=step.t,
        sku=step.sku,
        grams=step.grams,
        action=step.action,
        candidates=tuple(Candidate(c.sku, c.score) for c in step.candidates),
    )


def _shopper_pick(question: BasketChange, in_basket: frozenset[str]) -> str | None:
    """No shopper at a demo: the best-scoring candidate (for a remove, the best one that is in
    the basket, as the screen offers only those); None ("none of these") when nothing fits."""
    candidates = sorted(question.candidates, key=lambda c: c.score, reverse=True)
    if question.action == "remove":
        candidates = [c for c in candidates if c.sku in in_basket]
    return candidates[0].sku if candidates else None


def _answer(question: m.CartEvent, sku: str | None, t_s: float) -> BasketChange:
    """The shopper's pick on the cart's screen for an ``unresolved`` event."""
    from firmware.basket.changes import BasketChange

    return BasketChange(
        "resolution", datetime.now(UTC), t_s=t_s, sku=sku, resolves=question.event_id
    )


def _describe(event: m.CartEvent) -> str:
    grams = f" {event.grams} g" if event.grams is not None else ""
    if event.type == "unresolved":
        options = " / ".join(f"{c.sku} {c.score:.2f}" for c in event.candidates)
        return f"? {event.action}{grams}: {options} (asks the shopper)"
    if event.type == "resolution":
        return f"  shopper picks {event.sku or 'none of these'}"
    return f"{'+' if event.type == 'add' else '-'} {event.sku}{grams}"


def _forget_broker_session(broker_url: str, cart_id: str) -> None:
    """Drop a persistent session a previous demo left on an external broker for this cart id,
    so no stale acknowledgement from another run's host reaches this run's fresh outbox."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from firmware.link.errors import LinkError
    from firmware.link.mqtt import BrokerAddress

    address = BrokerAddress.parse(broker_url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=cart_id, clean_session=True)
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    try:
        client.connect(address.host, address.port)
    except OSError as e:
        raise LinkError(f"cannot reach the broker at {broker_url}: {e}") from e
    client.loop_start()
    client.disconnect()
    client.loop_stop()


def kr(minor: int, currency: str = "SEK") -> str:
    """Swedish style: 2450 -> "24,50 kr", 123456 -> "1 234,56 kr"."""
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 100)
    grouped = f"{major:,}".replace(",", " ")
    unit = "kr" if currency == "SEK" else currency
    return f"{sign}{grouped},{cents:02d} {unit}"


def print_result(console: Console, result: DemoResult) -> None:
    from rich.table import Table

    from smartcart.contract import messages as m

    answer = result.answer
    if isinstance(answer, m.CheckoutRefused):
        console.print(f"[bold red]Checkout refused[/] ({answer.reason}): {answer.message}")
        return
    table = Table(title=f"Receipt {answer.receipt_id[:8]}", title_justify="left")
    table.add_column("Item")
    table.add_column("Qty / weight", justify="right")
    table.add_column("Unit price", justify="right")
    table.add_column("Amount", justify="right")
    for line in answer.lines:
        if line.pricing == "per_kg":
            qty = f"{(line.grams or 0) / 1000:.3f} kg".replace(".", ",")
            unit = f"{kr(line.unit_price_minor, answer.currency)}/kg"
        else:
            qty = f"{line.quantity} st"
            unit = kr(line.unit_price_minor, answer.currency)
        table.add_row(line.name, qty, unit, kr(line.amount_minor, answer.currency))
    table.add_section()
    table.add_row("[bold]Total[/]", "", "", f"[bold]{kr(answer.total_minor, answer.currency)}[/]")
    console.print(table)
    console.print(f"Charged: {kr(answer.total_minor, answer.currency)}")
    before, after = (
        kr(b, answer.currency) for b in (result.balance_before_minor, result.balance_after_minor)
    )
    console.print(f"Balance: {before} -> {after}")
    console.print(f"[dim]{len(result.events)} events, demo ran in {result.elapsed_s:.1f} s[/]")
