"""The wire contract: payloads round-trip, bad ones are refused with a reason, and the published
JSON Schemas stay in step with the models."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest

from smartcart.contract import ContractError, decode, encode, topics
from smartcart.contract import messages as m
from smartcart.contract.schema import SCHEMA_DIR, generate, render
from smartcart.contract.topics import Channel

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def event(**over) -> m.CartEvent:
    fields = dict(
        event_id=str(uuid.uuid4()),
        cart_id="cart-0042",
        session_id=str(uuid.uuid4()),
        seq=1,
        occurred_at=NOW,
        type="add",
        sku="banana",
        grams=131,
    )
    fields.update(over)
    return m.CartEvent(**fields)


def test_event_round_trips_bytes_exactly():
    e = event()
    payload = encode(e)
    assert decode(Channel.EVENTS, payload, cart_id="cart-0042") == e
    assert encode(decode(Channel.EVENTS, payload)) == payload


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not_json"),
        (b"[1,2]", "invalid"),
        (b'{"v": 2, "kind": "cart_event"}', "unknown_version"),
        (b'{"kind": "cart_event"}', "unknown_version"),
        (b"{" + b" " * (70 * 1024) + b"}", "oversized"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload, reason):
    with pytest.raises(ContractError) as err:
        decode(Channel.EVENTS, payload)
    assert err.value.reason == reason


def test_schema_violations_are_refused():
    raw = json.loads(encode(event()))
    for bad in (
        {"seq": 0},
        {"sku": "Not A Sku"},
        {"grams": -1},
        {"extra": 1},
        {"cart_id": "X"},
        {"occurred_at": "2026-11-25T09:00:00"},
    ):  # naive time
        with pytest.raises(ContractError) as err:
            decode(Channel.EVENTS, json.dumps({**raw, **bad}).encode())
        assert err.value.reason == "invalid", bad


def test_a_cart_cannot_speak_for_another():
    with pytest.raises(ContractError) as err:
        decode(Channel.EVENTS, encode(event()), cart_id="cart-0007")
    assert err.value.reason == "topic_mismatch"


@pytest.mark.parametrize(
    "over",
    [
        {"type": "add", "sku": None},
        {"type": "unresolved", "sku": None, "action": "add"},  # no candidates
        {"type": "resolution", "sku": "lime"},  # no resolves
    ],
)
def test_event_shape_depends_on_type(over):
    with pytest.raises(ValueError):
        event(**over)


def test_host_messages_are_told_apart_by_type():
    ack = m.Ack(cart_id="cart-0042", acked_seq=7)
    assert decode(Channel.HOST, encode(ack)) == ack
    refused = m.CheckoutRefused(
        cart_id="cart-0042",
        request_id=str(uuid.uuid4()),
        reason="insufficient_funds",
        message="Top up your account.",
    )
    assert isinstance(decode(Channel.HOST, encode(refused)), m.CheckoutRefused)


def test_committed_schemas_match_the_models():
    for name, schema in generate().items():
        committed = (SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8")
        assert committed == render(schema), f"run `smartcart contract export` ({name})"


def test_encoded_messages_validate_against_the_published_schemas():
    schemas = {p.stem: json.loads(p.read_text()) for p in SCHEMA_DIR.glob("*.json")}
    samples = {
        "cart-event": event(),
        "basket-snapshot": m.BasketSnapshot(
            cart_id="cart-0042",
            session_id=str(uuid.uuid4()),
            seq=3,
            taken_at=NOW,
            lines=(m.BasketLine(sku="banana", quantity=2, grams=260),),
        ),
        "cart-status": m.CartStatus(cart_id="cart-0042", state="offline"),
        "checkout-request": m.CheckoutRequest(
            request_id=str(uuid.uuid4()),
            cart_id="cart-0042",
            session_id=str(uuid.uuid4()),
            last_seq=3,
            requested_at=NOW,
        ),
        "host-message": m.Ack(cart_id="cart-0042", acked_seq=3),
    }
    for name, msg in samples.items():
        jsonschema.Draft202012Validator(schemas[name]).validate(json.loads(encode(msg)))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schemas["cart-event"]).validate({"v": 1, "seq": 0})


def test_topics_round_trip_and_reject_strangers():
    t = topics.topic("cart-0042", Channel.EVENTS)
    assert t == "smartcart/v1/carts/cart-0042/events"
    assert topics.parse(t) == topics.ParsedTopic("cart-0042", Channel.EVENTS)
    for bad in (
        "smartcart/v2/carts/cart-0042/events",
        "smartcart/v1/carts/cart-0042/nope",
        "smartcart/v1/carts/BAD/events",
        "smartcart/v1/carts/a/b/events",
    ):
        with pytest.raises(topics.TopicError):
            topics.parse(bad)
    assert topics.subscription(Channel.EVENTS, shared=True).startswith("$share/checkout/")
