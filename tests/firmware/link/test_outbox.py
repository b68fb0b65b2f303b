"""The outbox: seqs only grow and survive restarts, event ids are minted once, acknowledgements
forget only up to the acked seq, and ``kill -9`` at any moment loses and duplicates nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware.basket.changes import BasketChange, Candidate
from firmware.link.errors import OutboxError
from firmware.link.outbox import Outbox
from smartcart.contract import encode

CART = "cart-0042"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
WRITER = Path(__file__).with_name("outbox_writer.py")


def change(sku: str = "banana", kind: str = "add", grams: int | None = 131) -> BasketChange:
    return BasketChange(kind, NOW, t_s=1.0, sku=sku, grams=grams)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite"


def test_append_mints_growing_seqs_and_fresh_event_ids(db: Path) -> None:
    session = str(uuid.uuid4())
    with Outbox(db, CART) as ob:
        events = [ob.append(change(), session) for _ in range(5)]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert len({e.event_id for e in events}) == 5
    assert {(e.cart_id, e.session_id) for e in events} == {(CART, session)}


def test_every_change_type_becomes_a_valid_event(db: Path) -> None:
    session = str(uuid.uuid4())
    with Outbox(db, CART) as ob:
        asked = ob.append(
            BasketChange(
                "unresolved",
                NOW,
                2.0,
                action="add",
                grams=90,
                candidates=(Candidate("lemon", 0.5), Candidate("lime", 0.4)),
            ),
            session,
        )
        answer = ob.append(
            BasketChange("resolution", NOW, 3.0, sku="lime", resolves=asked.event_id), session
        )
        removed = ob.append(change("lime", "remove", None), session)
        assert ob.unacked() == [asked, answer, removed]
    assert [c.sku for c in asked.candidates] == ["lemon", "lime"]
    assert answer.resolves == asked.event_id


def test_events_and_seq_survive_a_restart_and_sessions(db: Path) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    with Outbox(db, CART) as ob:
        before = [ob.append(change(), first) for _ in range(3)]
    with Outbox(db, CART) as ob:
        assert ob.unacked() == before  # same seqs, same event ids, same bytes
        assert [encode(e) for e in ob.unacked()] == [encode(e) for e in before]
        nxt = ob.append(change(), second)
    assert nxt.seq == 4


def test_acknowledge_forgets_at_or_below_and_never_above(db: Path) -> None:
    session = str(uuid.uuid4())
    with Outbox(db, CART) as ob:
        events = [ob.append(change(), session) for _ in range(6)]
        assert ob.acknowledge(4) == 4
        assert [e.seq for e in ob.unacked()] == [5, 6]
        assert ob.acknowledge(2) == 0  # a stale, lower ack changes nothing
        assert ob.acknowledge(4) == 0
        assert [e.seq for e in ob.unacked()] == [5, 6]
        assert ob.unacked() == events[4:]
        assert ob.acked_seq == 4


def test_acked_events_are_kept_for_the_open_session_only(db: Path) -> None:
    old, current = str(uuid.uuid4()), str(uuid.uuid4())
    with Outbox(db, CART) as ob:
        [ob.append(change(), old) for _ in range(2)]
        ob.open_session(current)
        mine = [ob.append(change(), current) for _ in range(2)]
        ob.acknowledge(4)
        assert ob.unacked() == []
        assert ob.session_events(old) == []  # acknowledged and not the open session: gone
        assert ob.session_events(current) == mine  # kept to rebuild the screen's basket
        ob.close_session()
        assert ob.session_events(current) == []
        assert ob.session_id is None


def test_an_ack_above_every_minted_seq_moves_the_counter_past_it(db: Path) -> None:
    # A replaced outbox file must not reuse seqs the host already applied.
    with Outbox(db, CART) as ob:
        ob.acknowledge(40)
        assert ob.append(change(), str(uuid.uuid4())).seq == 41


def test_checkout_request_id_is_minted_once_per_session(db: Path) -> None:
    with Outbox(db, CART) as ob:
        with pytest.raises(OutboxError):
            ob.checkout_request_id()
        ob.open_session(str(uuid.uuid4()))
        rid = ob.checkout_request_id()
    with Outbox(db, CART) as ob:
        assert ob.checkout_request_id() == rid  # survives a restart: retries reuse it
        ob.forget_checkout_request()
        assert ob.checkout_request_id() != rid
        ob.open_session(str(uuid.uuid4()))
        assert ob.checkout_request_id() != rid


def test_the_file_belongs_to_one_cart(db: Path) -> None:
    Outbox(db, CART).close()
    with pytest.raises(OutboxError, match="cart-0042"):
        Outbox(db, "cart-0043")


def test_the_database_is_in_wal_mode(db: Path) -> None:
    import sqlite3

    Outbox(db, CART).close()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.slow
def test_kill_9_mid_write_loses_nothing_and_reuses_nothing(db: Path) -> None:
    rng = random.Random(4)
    session = str(uuid.uuid4())
    reported: dict[int, str] = {}  # seq -> event id, as reported committed by the child
    acked_reported = 0

    def note(line: str) -> None:
        nonlocal acked_reported
        kind, *fields = line.split()
        if kind == "event":
            seq, event_id = int(fields[0]), fields[1]
            assert seq not in reported, f"seq {seq} handed out twice"
            reported[seq] = event_id
        elif kind == "ack":
            acked_reported = max(acked_reported, int(fields[0]))

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, str(WRITER), str(db), CART, session],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None
        want, seen = rng.randint(5, 40), 0
        while seen < want:
            line = child.stdout.readline()
            assert line, "writer died on its own"
            note(line)
            seen += line.startswith("event")
        time.sleep(rng.uniform(0, 0.02))  # land the kill at a random point of a write
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
        for line in rest.splitlines():
            note(line)

        with Outbox(db, CART) as ob:
            unacked = ob.unacked()
            acked = ob.acked_seq
            last = ob.last_seq
        assert acked >= acked_reported
        assert last >= max(reported)
        # Nothing above the ack is missing: unacked is exactly acked+1..last, no holes.
        assert [e.seq for e in unacked] == list(range(acked + 1, last + 1))
        for e in unacked:
            if e.seq in reported:
                assert e.event_id == reported[e.seq], "an event's id changed"
    assert len(set(reported.values())) == len(reported), "an event id was minted twice"


def test_pending_is_the_stored_bytes_above_a_seq(db: Path) -> None:
    session = str(uuid.uuid4())
    with Outbox(db, CART) as ob:
        events = [ob.append(change(), session) for _ in range(4)]
        ob.acknowledge(1)
        assert [s.seq for s in ob.pending()] == [2, 3, 4]
        assert [s.seq for s in ob.pending(above_seq=3)] == [4]
        assert [s.payload for s in ob.pending()] == [encode(e) for e in events[1:]]
        assert ob.has_unacked()
        ob.acknowledge(4)
        assert not ob.has_unacked() and ob.pending() == []
