"""``python -m host.loadgen run --carts 50`` / ``sweep --carts 10,25,50,100``: the load run.

Each cart is the real cart link (signed outbox + ``CartLink``) in this process, shopping trips of
``--items`` products with exponentially distributed gaps of mean ``--gap-s`` (a real shopper
takes ~30 s per item; the default 2 s is 15x real time), checking out at the end of each trip
and starting another, until ``--duration-s`` is up. Against them: a private Mosquitto, two
host workers as processes sharing the carts (MQTT 5 shared subscription) and a private
PostgreSQL cluster, all on 127.0.0.1 and stopped afterwards.

Figures (printed, never asserted): events/s sustained (events applied / wall time from the
first submit to the last acknowledgement), latency from the event being durable in the cart's
outbox (it is published at once) to the host's ``Ack`` reaching the cart (the host committed
it): an upper bound of publish -> applied; and the audit of the carts' own logs against the
database (lost, duplicated). ``sweep`` reports the largest N whose p99 stays under 1 s.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class RunResult:
    carts: int
    events: int
    trips: int
    wall_s: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    lost: int
    duplicated: int
    reconciled: int
    receipts: int
    charges: int

    def line(self) -> str:
        return (
            f"N={self.carts:4d}  events={self.events:6d}  trips={self.trips:4d}  "
            f"{self.events_per_s:7.1f} ev/s  p50={self.p50_ms:7.1f} ms  "
            f"p99={self.p99_ms:7.1f} ms  max={self.max_ms:7.1f} ms  lost={self.lost}  "
            f"dup={self.duplicated}  reconciled={self.reconciled}  "
            f"receipts={self.receipts} charges={self.charges}"
        )


class Services:
    """Private broker + PostgreSQL + two host worker processes, torn down on exit."""

    def __init__(self, stack: ExitStack, workers: int) -> None:
        from host.loadgen.services import (
            PrivateMosquitto,
            PrivatePostgres,
            free_port,
            plain_conf,
        )

        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="smartcart-load-")))
        self.work = work
        port = free_port()
        (work / "mosquitto").mkdir()
        self.broker = stack.enter_context(
            PrivateMosquitto(work / "mosquitto", plain_conf(work / "mosquitto", port), port)
        )
        self.pg = stack.enter_context(PrivatePostgres())
        self.keyring = work / "cart-keys.json"
        self.keyring.write_text('{"version": 1, "carts": {}}\n')
        self._procs: list[subprocess.Popen[str]] = []
        stack.callback(self._stop_workers)
        # All at once on the empty database: migrations serialise on an advisory lock.
        for i in range(workers):
            self._start_worker(f"load-host-{i + 1}")
        for i, proc in enumerate(self._procs):
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"host worker load-host-{i + 1} did not start (said {line!r})")

    def _start_worker(self, worker_id: str) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "host.loadgen.hostproc", self.pg.url, self.broker.url,
             worker_id, str(self.keyring)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._procs.append(proc)  # stopped (terminate, then kill) by _stop_workers

    def _stop_workers(self) -> None:
        for p in self._procs:
            p.terminate()
        for p in self._procs:
            try:
                out, _ = p.communicate(timeout=20)
                typer.echo(f"  worker: {out.strip()}")
            except subprocess.TimeoutExpired:
                p.kill()


def run_once(
    services: Services, carts: int, duration_s: float, gap_s: float, items: int, seed: int
) -> RunResult:
    from host.loadgen.fleet import SimCart, Staff, audit, make_keys, trip
    from smartcart.contract import messages as m

    rng = random.Random(seed)
    ids = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(carts)]
    signers = make_keys(ids, services.keyring)
    staff = Staff(services.pg.url, services.broker.url)
    sims = [SimCart(c, services.broker.url, services.work, signers[c]) for c in ids]
    receipts = 0
    lock = threading.Lock()
    try:
        for sim in sims:
            sim.start()
        for sim in sims:
            if not sim.link.wait_ready(30):
                # paho's loop uses select(), which cannot watch a file descriptor past 1023;
                # each simulated cart holds about six (outbox, WAL, socket, wake-up pipe).
                raise RuntimeError(
                    f"{sim.cart_id} (cart {sims.index(sim) + 1} of {len(sims)}) could not connect;"
                    " one generator process runs at most about 165 carts"
                )
        deadline = time.monotonic() + duration_s

        def shopper(sim: SimCart, r: random.Random) -> None:
            nonlocal receipts
            while time.monotonic() < deadline:
                staff.open_session(sim.cart_id, balance_minor=100_000_000)
                sim.link.wait_session(30)
                for sku in trip(r, r.randint(max(1, items // 2), items * 3 // 2)):
                    time.sleep(r.expovariate(1.0 / gap_s))
                    sim.add(sku)
                    if time.monotonic() >= deadline:
                        break
                answer = sim.checkout(timeout_s=120)
                if isinstance(answer, m.Receipt):
                    with lock:
                        receipts += 1
                # A new shopper takes the cart after a short pause.
                time.sleep(r.uniform(0, gap_s))

        threads = [
            threading.Thread(target=shopper, args=(s, random.Random(rng.random())), daemon=True)
            for s in sims
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(duration_s + 300)
        for sim in sims:
            sim.link.wait_acked(60)
        result = audit(staff.engine, sims)
    finally:
        for sim in sims:
            sim.stop()
        staff.close()
    lat = sorted(x for s in sims for x in s.latencies_s())
    first = min(s.log[0].submitted_s for s in sims if s.log)
    last = max(max(s.acked_s.values()) for s in sims if s.acked_s)
    wall = max(last - first, 1e-9)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")
    return RunResult(
        carts=carts,
        events=result.minted,
        trips=receipts,
        wall_s=wall,
        events_per_s=(result.applied + result.reconciled) / wall,
        p50_ms=statistics.median(lat) * 1e3 if lat else float("nan"),
        p99_ms=p99 * 1e3,
        max_ms=lat[-1] * 1e3 if lat else float("nan"),
        lost=result.lost,
        duplicated=result.duplicated + result.foreign,
        reconciled=result.reconciled,
        receipts=result.receipts,
        charges=result.charges,
    )


Carts = Annotated[int, typer.Option(help="Simulated carts.")]
Duration = Annotated[float, typer.Option(help="Shopping time per run (s); checkouts follow.")]
Gap = Annotated[float, typer.Option(help="Mean seconds between a cart's items (real: ~30).")]
Items = Annotated[int, typer.Option(help="Mean items per trip.")]
Workers = Annotated[int, typer.Option(help="Host worker processes sharing the carts.")]


@app.command()
def run(
    carts: Carts = 20,
    duration_s: Duration = 30.0,
    gap_s: Gap = 2.0,
    items: Items = 15,
    workers: Workers = 2,
    seed: int = 1,
) -> None:
    """One load run at N carts; prints the figures and the audit."""
    with ExitStack() as stack:
        services = Services(stack, workers)
        result = run_once(services, carts, duration_s, gap_s, items, seed)
        typer.echo(result.line())
    if result.lost or result.duplicated or result.receipts != result.charges:
        raise typer.Exit(1)


@app.command()
def sweep(
    carts: Annotated[str, typer.Option(help="Comma-separated N to try, ascending.")] = "10,25,50",
    duration_s: Duration = 30.0,
    gap_s: Gap = 2.0,
    items: Items = 15,
    workers: Workers = 2,
    seed: int = 1,
) -> None:
    """Runs at growing N on the same services; reports the largest N with p99 < 1 s."""
    best: int | None = None
    bad = False
    with ExitStack() as stack:
        services = Services(stack, workers)
        for n in (int(x) for x in carts.split(",")):
            result = run_once(services, n, duration_s, gap_s, items, seed + n)
            typer.echo(result.line())
            bad |= bool(result.lost or result.duplicated or result.receipts != result.charges)
            if result.p99_ms < 1000:
                best = n
    typer.echo(f"largest N with p99 < 1 s: {best}")
    if bad:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
