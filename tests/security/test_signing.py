"""Ed25519 signatures on cart messages: what verifies, and every way a forgery is refused."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smartcart.contract import decode, encode
from smartcart.contract import messages as m
from smartcart.contract.signing import Keyring, KeyringError, KeyringFile, SignatureError, Signer
from smartcart.contract.topics import Channel

CART, OTHER = "cart-0001", "cart-0002"


def event(cart_id: str = CART, seq: int = 1) -> m.CartEvent:
    return m.CartEvent(
        event_id=str(uuid.uuid4()),
        cart_id=cart_id,
        session_id=str(uuid.uuid4()),
        seq=seq,
        occurred_at=datetime.now(UTC),
        type="add",
        sku="granny-smith",
        confidence=0.87,
    )


@pytest.fixture
def signer() -> Signer:
    return Signer.generate(CART)


@pytest.fixture
def ring(signer: Signer) -> Keyring:
    k = Keyring()
    k.enrol(CART, signer.public)
    return k


def reason(ring: Keyring, payload: bytes, cart_id: str = CART, ch: Channel = Channel.EVENTS) -> str:
    with pytest.raises(SignatureError) as e:
        ring.verify(ch, payload, cart_id)
    return e.value.reason


def test_signed_event_round_trips_and_verifies(signer: Signer, ring: Keyring) -> None:
    signed = signer.sign(event())
    payload = encode(signed)
    assert decode(Channel.EVENTS, payload, cart_id=CART) == signed
    assert ring.verify(Channel.EVENTS, payload, CART) == signer.kid
    assert encode(signer.sign(signed)) == payload  # deterministic: a re-sign is byte-identical


def test_every_signed_channel_verifies(signer: Signer, ring: Keyring) -> None:
    sid = str(uuid.uuid4())
    now = datetime.now(UTC)
    snap = m.BasketSnapshot(cart_id=CART, session_id=sid, seq=3, taken_at=now)
    req = m.CheckoutRequest(
        request_id=str(uuid.uuid4()), cart_id=CART, session_id=sid, last_seq=3, requested_at=now
    )
    assert ring.verify(Channel.BASKET, encode(signer.sign(snap)), CART) == signer.kid
    assert ring.verify(Channel.CHECKOUT, encode(signer.sign(req)), CART) == signer.kid
    status = m.CartStatus(cart_id=CART, state="offline")
    assert ring.verify(Channel.STATUS, encode(status), CART) is None  # status is not signed


@pytest.mark.parametrize(
    "field,value", [("seq", 2), ("sku", "banana"), ("confidence", 0.88), ("type", "remove")]
)
def test_any_edit_breaks_the_signature(
    signer: Signer, ring: Keyring, field: str, value: object
) -> None:
    raw = json.loads(encode(signer.sign(event())))
    raw[field] = value
    assert reason(ring, json.dumps(raw).encode()) == "bad_signature"


def test_key_order_and_whitespace_do_not_matter(signer: Signer, ring: Keyring) -> None:
    raw = json.loads(encode(signer.sign(event())))
    shuffled = json.dumps(dict(reversed(list(raw.items()))), indent=3).encode()
    assert ring.verify(Channel.EVENTS, shuffled, CART) == signer.kid


def test_unsigned_unknown_and_foreign_keys_are_refused(signer: Signer, ring: Keyring) -> None:
    assert reason(ring, encode(event())) == "unsigned"
    stranger = Signer.generate(CART)  # right cart id, key never enrolled
    assert reason(ring, encode(stranger.sign(event()))) == "unknown_key"
    # cart-0002's own enrolled key cannot speak for cart-0001 ...
    other = Signer.generate(OTHER)
    ring.enrol(OTHER, other.public)
    assert reason(ring, encode(other.sign(event(CART)))) == "unknown_key"
    # ... and cart-0001's signature copied onto cart-0002's message does not verify.
    mine = json.loads(encode(signer.sign(event(CART))))
    theirs = json.loads(encode(event(OTHER)))
    theirs["sig"] = mine["sig"].replace(signer.kid, other.kid)
    assert reason(ring, json.dumps(theirs).encode(), OTHER) == "bad_signature"


def test_signature_cannot_move_between_channels(signer: Signer, ring: Keyring) -> None:
    sid = str(uuid.uuid4())
    snap = signer.sign(
        m.BasketSnapshot(cart_id=CART, session_id=sid, seq=1, taken_at=datetime.now(UTC))
    )
    raw = json.loads(encode(snap))
    raw["kind"] = "checkout_request"  # the kind is signed
    assert reason(ring, json.dumps(raw).encode(), ch=Channel.CHECKOUT) == "bad_signature"


def test_rotation_through_the_keyring_file(tmp_path: Path) -> None:
    path = tmp_path / "cart-keys.json"
    live = KeyringFile(path)
    old, new = Signer.generate(CART), Signer.generate(CART)
    ring = Keyring.load(path)
    ring.enrol(CART, old.public)
    ring.save(path)
    assert live.verify(Channel.EVENTS, encode(old.sign(event())), CART) == old.kid
    ring.enrol(CART, new.public)  # overlap: both keys valid while the cart switches
    ring.save(path)
    assert live.verify(Channel.EVENTS, encode(new.sign(event())), CART) == new.kid
    assert live.verify(Channel.EVENTS, encode(old.sign(event())), CART) == old.kid
    ring.retire(CART, old.kid)
    ring.save(path)
    with pytest.raises(SignatureError):
        live.verify(Channel.EVENTS, encode(old.sign(event())), CART)
    assert Keyring.load(path).kids(CART) == [new.kid]


def test_private_key_file_round_trip(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "cart.key"
    signer.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = Signer.load(path)
    assert (again.cart_id, again.kid) == (CART, signer.kid)
    (tmp_path / "junk.key").write_text("hello\n")
    with pytest.raises(KeyringError):
        Signer.load(tmp_path / "junk.key")


def test_keyring_refuses_a_kid_that_is_not_its_key(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"version": 1, "carts": {CART: {"0" * 16: signer.public}}}))
    with pytest.raises(KeyringError):
        Keyring.load(path)
