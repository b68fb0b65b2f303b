"""The AsyncAPI document is valid AsyncAPI 3.0, names exactly the contract's topics, and its
examples are valid payloads (by the published JSON Schemas and by the Python models)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from smartcart.contract import decode, topics
from smartcart.contract.schema import ASYNCAPI, SCHEMA_DIR
from smartcart.contract.topics import Channel

VENDOR = Path(__file__).parent / "vendor" / "asyncapi-3.0.0.schema.json"
DOC = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))


def test_document_is_valid_asyncapi_3():
    meta = json.loads(VENDOR.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(meta).validate(DOC)


def test_channels_are_exactly_the_contract_topics():
    addresses = {c["address"] for c in DOC["channels"].values()}
    expected = {topics.topic("cart-0042", ch).replace("cart-0042", "{cartId}") for ch in Channel}
    assert addresses == expected


def test_operations_use_qos_1_and_retain_what_the_contract_retains():
    for op in DOC["operations"].values():
        channel = op["channel"]["$ref"].split("/")[-1]
        address = DOC["channels"][channel]["address"]
        mqtt = op["bindings"]["mqtt"]
        assert mqtt["qos"] == topics.QOS
        ch = Channel(address.rsplit("/", 1)[1])
        if op["action"] == "send":
            assert mqtt["retain"] == (ch in topics.RETAINED), address


def _examples():
    for name, message in DOC["components"]["messages"].items():
        ref = message["payload"]["$ref"]
        for ex in message["examples"]:
            yield pytest.param(ref, ex["payload"], id=f"{name}-{ex.get('name', 'example')}")


@pytest.mark.parametrize(("ref", "payload"), list(_examples()))
def test_examples_are_valid_payloads(ref, payload):
    schema = json.loads((SCHEMA_DIR / Path(ref).name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(payload)
    channel = {
        "cart-event.json": Channel.EVENTS,
        "basket-snapshot.json": Channel.BASKET,
        "cart-status.json": Channel.STATUS,
        "checkout-request.json": Channel.CHECKOUT,
        "host-message.json": Channel.HOST,
    }[Path(ref).name]
    decode(channel, json.dumps(payload).encode(), cart_id="cart-0042")


def test_the_meta_schema_does_catch_a_broken_document():
    meta = json.loads(VENDOR.read_text(encoding="utf-8"))
    broken = {**DOC, "operations": {"x": {"action": "publish", "channel": {"$ref": "#/c"}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(meta).validate(broken)
