"""Property-based tests of the host's MQTT handler (``HostWorker.apply_messages``, the worker
thread's path minus the broker) with signature checking on.

Every input is either applied correctly or dead-lettered with a reason; nothing raises, and a
rejected input changes nothing but the dead-letter table. Inputs: random bytes, random topics,
single-field mutations of genuinely signed messages, and shuffled, duplicated streams of signed
events (which must all be applied exactly once). ``SMARTCART_FUZZ_EXAMPLES`` raises the number
of examples per property (CI: the default); the count tried is printed with ``-s``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from seckit import CartMessages, state, wire
from sqlalchemy import func, select

from host.db import migrate
from host.db.models import DeadLetter
from host.settings import HostSettings
from host.worker import HostWorker
from smartcart.contract import topics
from smartcart.contract.signing import Keyring, KeyringFile, Signer

CART = "cart-0001"
EXAMPLES = int(os.environ.get("SMARTCART_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SKUS = ("kiwi", "lemon", "lime", "avocado", "mango")
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostWorker, Signer]]:
    d = tmp_path_factory.mktemp("fuzz")
    migrate(f"sqlite:///{d / 'host.db'}")
    signer = Signer.generate(CART)
    ring = Keyring()
    ring.enrol(CART, signer.public)
    ring.save(d / "keys.json")
    host = HostWorker(
        HostSettings(database_url=f"sqlite:///{d / 'host.db'}", worker_id="fuzz"),
        keyring=KeyringFile(d / "keys.json"),
    )
    host.prepare_database()
    yield host, signer
    host.engine.dispose()
    print(f"\nfuzzed MQTT inputs: {dict(TRIED)} total {sum(TRIED.values())}")
    shutil.rmtree(d, ignore_errors=True)


def dead_count(host: HostWorker) -> int:
    with host.transaction() as s:
        return s.scalar(select(func.count()).select_from(DeadLetter)) or 0


def fresh_cart(host: HostWorker, signer: Signer) -> CartMessages:
    customer = host.create_customer("Fuzz", top_up_minor=10_000_000)
    session_id = host.start_session(CART, customer)
    # seqs are per cart across sessions: carry on from what the host has applied.
    return CartMessages(CART, session_id, signer, seq=state(host).applied_seqs.get(CART, 0))


def rejected_without_effect(host: HostWorker, items: list[tuple[str, bytes]], kind: str) -> None:
    before, dead_before = state(host), dead_count(host)
    out = host.apply_messages(items)
    TRIED[kind] += len(items)
    assert state(host) == before
    assert dead_count(host) == dead_before + len(items)
    assert all(o.message.type == "ack" for o in out)


channels = st.sampled_from(list(topics.CART_TO_HOST))


@FUZZ
@given(payload=st.binary(max_size=2048), channel=channels)
def test_random_bytes_are_dead_lettered(world, payload: bytes, channel) -> None:
    host, _ = world
    rejected_without_effect(host, [(topics.topic(CART, channel), payload)], "random bytes")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


@FUZZ
@given(obj=st.dictionaries(st.text(max_size=12), json_values, max_size=12), channel=channels)
def test_random_json_objects_are_dead_lettered(world, obj: dict[str, Any], channel) -> None:
    host, _ = world
    payload = json.dumps(obj).encode()
    rejected_without_effect(host, [(topics.topic(CART, channel), payload)], "random JSON")


@FUZZ
@given(data=st.data())
def test_mutated_signed_messages_are_dead_lettered(world, data: st.DataObject) -> None:
    host, signer = world
    cart = fresh_cart(host, signer)
    host.apply_messages([wire(cart.add("kiwi"))])
    build = data.draw(st.sampled_from(["event", "checkout", "snapshot"]))
    msg = {
        "event": lambda: cart.add(data.draw(st.sampled_from(SKUS))),
        "checkout": cart.checkout,
        "snapshot": lambda: cart.snapshot([("kiwi", 5)], seq=cart.seq),
    }[build]()
    topic_name, payload = wire(msg)
    raw = json.loads(payload)
    key = data.draw(st.sampled_from(sorted(raw)))
    how = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if how == "replace":
        raw[key] = data.draw(json_values)
    elif how == "delete":
        del raw[key]
    else:
        raw[data.draw(st.text(min_size=1, max_size=10))] = data.draw(json_values)
    assume(raw != json.loads(payload))  # a "mutation" that changed nothing is the real message
    rejected_without_effect(host, [(topic_name, json.dumps(raw).encode())], f"mutated {build}")


@FUZZ
@given(name=st.text(max_size=80), channel=channels)
def test_signed_messages_on_foreign_or_junk_topics_are_dead_lettered(
    world, name: str, channel
) -> None:
    host, signer = world
    cart = fresh_cart(host, signer)
    _, payload = wire(cart.add("lime"))
    proper = topics.topic(CART, topics.Channel.EVENTS)
    assume(name != proper)
    rejected_without_effect(host, [(name, payload)], "junk topic")


@FUZZ
@given(data=st.data())
def test_shuffled_duplicated_signed_streams_apply_exactly_once(world, data: st.DataObject) -> None:
    host, signer = world
    cart = fresh_cart(host, signer)
    skus = data.draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=12))
    events = [cart.add(s) for s in skus]
    copies = data.draw(st.lists(st.sampled_from(events), max_size=12))
    stream = data.draw(st.permutations(events + copies))
    cut = data.draw(st.integers(0, len(stream)))
    before = state(host)
    host.apply_messages([wire(e) for e in stream[:cut]])
    host.apply_messages([wire(e) for e in stream[cut:]])
    TRIED["shuffled signed events"] += len(stream)
    after = state(host)
    assert after.applied - before.applied == len(events)
    lines = Counter({sku: q for sid, sku, q in after.lines if sid == cart.session_id and q})
    assert lines == Counter(skus)
