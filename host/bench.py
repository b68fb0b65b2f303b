"""``smartcart host bench``: how many cart events per second the host applies, end to end.

M simulated carts publish N events in all (QoS 1, pre-encoded, a share of them sent twice as a
flaky link would) through a real broker (Mosquitto by default) to a ``HostWorker`` that applies
them into a real database (PostgreSQL by default, in a schema of its own that is dropped
afterwards). The clock runs from the first publish until the worker has applied the last
event. Then it checks that nothing was lost or duplicated: exactly N applied events, every
cart's ``applied_seq`` at its last seq, no held events, no dead letters.

A benchmark command, not a test: it prints figures and fails only when the check fails.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select, text

from host.db import make_engine
from host.db.models import AppliedEvent, Cart, DeadLetter, PendingEvent
from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.contract import encode, topics
from smartcart.contract import messages as m

# Per-unit and per-kg products, so both pricing paths run.
_SKUS = (("kiwi", None), ("avocado", None), ("golden-delicious", 180), ("banana", 120))


class BarrierLike(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(frozen=True, slots=True)
class BenchResult:
    events: int
    carts: int
    duplicates_sent: int
    publish_s: float
    host_cpu_s: float  # CPU time of the host process (worker + its MQTT thread) while applying
    apply_s: float
    batches: int
    lost: int
    duplicated: int
    dead_letters: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.apply_s if self.apply_s > 0 else 0.0

    @property
    def events_per_cpu_s(self) -> float:
        return self.events / self.host_cpu_s if self.host_cpu_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.dead_letters == 0


def _trip(cart_id: str, session_id: str, n: int, rng: random.Random) -> list[bytes]:
    """``n`` events of one cart: adds, with a remove of the last-added item now and then."""
    out: list[bytes] = []
    held: list[tuple[str, int | None]] = []
    now = datetime.now(UTC)
    for seq in range(1, n + 1):
        if held and rng.random() < 0.3:
            sku, grams = held.pop()
            kind = "remove"
        else:
            sku, unit_g = rng.choice(_SKUS)
            grams = None if unit_g is None else unit_g + rng.randrange(-20, 21)
            held.append((sku, grams))
            kind = "add"
        ev = m.CartEvent(
            event_id=str(uuid.uuid4()),
            cart_id=cart_id,
            session_id=session_id,
            seq=seq,
            occurred_at=now,
            type=kind,
            sku=sku,
            grams=grams,
        )
        out.append(encode(ev))
    return out


def _publish(
    broker_url: str, work: list[tuple[str, bytes]], client_id: str, go: BarrierLike
) -> None:
    """One publisher process: connect, wait for the start signal, publish all, wait for PUBACKs."""
    parts = urlsplit(broker_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    go.wait(timeout=120)
    last = None
    for topic, payload in work:
        last = client.publish(topic, payload, qos=1)
    if last is not None:
        last.wait_for_publish(300)
    client.disconnect()
    client.loop_stop()


def run(
    *,
    events: int,
    carts: int,
    broker_url: str,
    database_url: str,
    publishers: int = 2,
    duplicate_share: float = 0.02,
    batch_max: int = 1000,
    seed: int = 7,
    timeout_s: float = 300.0,
) -> BenchResult:
    rng = random.Random(seed)
    token = uuid.uuid4().hex[:8]
    schema = None
    url = database_url
    if database_url.startswith("postgresql"):
        # A schema of its own: the benchmark never touches real data and cleans up after itself.
        schema = f"bench_{token}"
        admin = make_engine(database_url)
        with admin.begin() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
        sep = "&" if "?" in database_url else "?"
        url = f"{database_url}{sep}options=-csearch_path%3D{schema}"
    settings = HostSettings(
        database_url=url,
        broker_url=broker_url,
        worker_id=f"bench-host-{token}",
        share_group=f"bench-{token}",
        mqtt_session_expiry_s=0,
        batch_max=batch_max,
    )
    try:
        with HostWorker(settings) as host:
            cart_ids = [f"bench-{token}-{i:04d}" for i in range(carts)]
            customer = host.create_customer("Bench", top_up_minor=10**9)
            per_cart = [events // carts + (1 if i < events % carts else 0) for i in range(carts)]
            streams = {
                cid: _trip(cid, host.start_session(cid, customer), n, rng)
                for cid, n in zip(cart_ids, per_cart, strict=True)
            }
            # Interleave the carts as a store's traffic would; each cart stays in seq order.
            work: list[tuple[str, bytes]] = []
            cursors = dict.fromkeys(cart_ids, 0)
            duplicates = 0
            while cursors:
                for cid in list(cursors):
                    i = cursors[cid]
                    topic = topics.topic(cid, topics.Channel.EVENTS)
                    work.append((topic, streams[cid][i]))
                    if rng.random() < duplicate_share:
                        work.append((topic, streams[cid][i]))
                        duplicates += 1
                    cursors[cid] = i + 1
                    if i + 1 == len(streams[cid]):
                        del cursors[cid]
            host.wait_idle(5)
            base_applied = host.applied_events
            base_batches = host.batches
            # A cart's events all go through one publisher, so each cart stays in seq order.
            shards: list[list[tuple[str, bytes]]] = [[] for _ in range(publishers)]
            owner = {cid: k % publishers for k, cid in enumerate(cart_ids)}
            for topic, payload in work:
                shards[owner[topics.parse(topic).cart_id]].append((topic, payload))
            # Publishers run in their own processes, so this process's CPU time is the host's.
            ctx = multiprocessing.get_context("spawn")
            go = ctx.Barrier(publishers + 1)
            procs = [
                ctx.Process(target=_publish, args=(broker_url, shard, f"bench-pub-{token}-{k}", go))
                for k, shard in enumerate(shards)
            ]
            for p in procs:
                p.start()
            go.wait(timeout=120)  # every publisher connected: start the clock
            t0, cpu0 = time.perf_counter(), time.process_time()
            for p in procs:
                p.join()
            publish_s = time.perf_counter() - t0
            deadline = time.monotonic() + timeout_s
            while host.applied_events - base_applied < events and time.monotonic() < deadline:
                time.sleep(0.005)
            apply_s = time.perf_counter() - t0
            host_cpu_s = time.process_time() - cpu0
            host.wait_idle(10, settle_s=0.5)  # let late duplicates arrive before checking
            batches = host.batches - base_batches
            with host.transaction() as s:
                applied = s.scalar(select(func.count()).select_from(AppliedEvent)) or 0
                distinct = s.scalar(select(func.count(func.distinct(AppliedEvent.event_id)))) or 0
                seqs = dict(
                    s.execute(select(Cart.id, Cart.applied_seq).where(Cart.id.in_(cart_ids))).all()
                )
                pending = s.scalar(select(func.count()).select_from(PendingEvent)) or 0
                # Other clients of a shared broker may publish too: count only our carts.
                dead = (
                    s.scalar(
                        select(func.count())
                        .select_from(DeadLetter)
                        .where(DeadLetter.topic.like(f"{topics.ROOT}/carts/bench-{token}-%"))
                    )
                    or 0
                )
            short = sum(n - seqs.get(cid, 0) for cid, n in zip(cart_ids, per_cart, strict=True))
            return BenchResult(
                events=events,
                carts=carts,
                duplicates_sent=duplicates,
                publish_s=publish_s,
                host_cpu_s=host_cpu_s,
                apply_s=apply_s,
                batches=batches,
                lost=max(events - distinct, short) + pending,
                duplicated=applied - distinct,
                dead_letters=dead,
            )
    finally:
        if schema is not None:
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
