"""The host verifies a cart's signature before applying anything it says.

Each attack is a message a broker might let through (a misconfigured ACL, a leaked password):
it must land in the dead-letter table with its reason and change nothing else. Replays and
re-orderings of genuinely signed messages are harmless by seq, event id and request id.
"""

from __future__ import annotations

import json

import pytest
from seckit import CartMessages, dead_letters, state, wire

from host.worker import HostWorker
from smartcart.contract import encode
from smartcart.contract.signing import Keyring, KeyringFile, Signer

CART, OTHER = "cart-0001", "cart-0002"
AVOCADO = "avocado"  # per unit, 1500 öre
KIWI = "kiwi"  # per unit, 500 öre


def shopper(host: HostWorker, signer: Signer | None, cart_id: str = CART) -> CartMessages:
    customer_id = host.create_customer("Alice", top_up_minor=50_000)
    return CartMessages(cart_id, host.start_session(cart_id, customer_id), signer)


def test_signed_events_and_checkout_are_applied(
    signed_host: HostWorker, cart_signer: Signer
) -> None:
    cart = shopper(signed_host, cart_signer)
    out = signed_host.apply_messages([wire(cart.add(AVOCADO)), wire(cart.add(KIWI))])
    out += signed_host.apply_messages([wire(cart.checkout())])
    receipt = [o.message for o in out if o.message.type == "receipt"]
    assert [r.total_minor for r in receipt] == [2000]
    assert dead_letters(signed_host) == []


@pytest.mark.parametrize(
    "forge,reason",
    [
        ("unsigned", "unsigned"),
        ("stranger_key", "unknown_key"),
        ("other_carts_key", "unknown_key"),
        ("tampered", "bad_signature"),
        ("garbage_sig", "invalid"),
    ],
)
def test_forged_events_are_dead_lettered_with_no_state_change(
    signed_host: HostWorker, cart_signer: Signer, keyring_path, forge: str, reason: str
) -> None:
    cart = shopper(signed_host, cart_signer)
    signed_host.apply_messages([wire(cart.add(KIWI))])
    before = state(signed_host)
    if forge == "unsigned":
        payload = encode(CartMessages(CART, cart.session_id, None).add(AVOCADO, seq=2))
    elif forge == "stranger_key":
        payload = encode(CartMessages(CART, cart.session_id, Signer.generate(CART)).add(AVOCADO))
    elif forge == "other_carts_key":
        other = Signer.generate(OTHER)  # enrolled, but for cart-0002
        ring = Keyring.load(keyring_path)
        ring.enrol(OTHER, other.public)
        ring.save(keyring_path)
        payload = encode(other.sign(CartMessages(CART, cart.session_id, None).add(AVOCADO, seq=2)))
    elif forge == "tampered":
        raw = json.loads(encode(cart.add(KIWI)))
        raw["sku"] = AVOCADO  # a signed kiwi turned into an avocado
        payload = json.dumps(raw).encode()
    else:
        raw = json.loads(encode(cart.add(KIWI)))
        raw["sig"] = "not a signature"
        payload = json.dumps(raw).encode()
    topic = wire(cart.add(KIWI, seq=2))[0]
    out = signed_host.apply_messages([(topic, payload)])
    assert state(signed_host) == before
    assert dead_letters(signed_host) == [(reason, topic)]
    assert all(o.message.type != "receipt" for o in out)


def test_forged_checkout_and_snapshot_change_nothing(
    signed_host: HostWorker, cart_signer: Signer
) -> None:
    cart = shopper(signed_host, cart_signer)
    signed_host.apply_messages([wire(cart.add(AVOCADO))])
    before = state(signed_host)
    forger = CartMessages(CART, cart.session_id, Signer.generate(CART), seq=cart.seq)
    out = signed_host.apply_messages(
        [
            wire(forger.checkout()),  # an early checkout, charged to Alice
            wire(forger.snapshot([(AVOCADO, 40)], seq=5)),  # 40 avocados on her bill
            wire(CartMessages(CART, cart.session_id, None).snapshot([], seq=9)),  # unsigned
        ]
    )
    assert out == [] or all(o.message.type == "ack" for o in out)
    assert state(signed_host) == before
    assert [r for r, _ in dead_letters(signed_host)] == ["unknown_key", "unknown_key", "unsigned"]


def test_replayed_and_reordered_signed_events_are_harmless(
    signed_host: HostWorker, cart_signer: Signer
) -> None:
    cart = shopper(signed_host, cart_signer)
    e1, e2, e3 = cart.add(KIWI), cart.add(KIWI), cart.add(AVOCADO)
    # Re-ordered, and every one replayed (a capture played back later, twice).
    signed_host.apply_messages([wire(e3), wire(e1)])
    signed_host.apply_messages([wire(e2), wire(e3), wire(e1), wire(e2)])
    after = state(signed_host)
    signed_host.apply_messages([wire(e) for e in (e1, e2, e3) * 3])
    assert state(signed_host) == after
    assert after.applied == 3 and after.applied_seqs[CART] == 3
    assert sorted((sku, q) for _, sku, q in after.lines) == [(AVOCADO, 1), (KIWI, 2)]
    checkout = cart.checkout()
    first = signed_host.apply_messages([wire(checkout)])
    again = signed_host.apply_messages([wire(checkout), wire(checkout)])  # replayed checkout
    receipts = [o.message for o in first + again if o.message.type == "receipt"]
    assert {r.receipt_id for r in receipts} == {receipts[0].receipt_id}
    assert state(signed_host).receipts == 1
    assert dead_letters(signed_host) == []


def test_a_rotated_key_is_honoured_at_once_and_the_retired_one_refused(
    signed_host: HostWorker, cart_signer: Signer, keyring_path
) -> None:
    cart = shopper(signed_host, cart_signer)
    signed_host.apply_messages([wire(cart.add(KIWI))])
    new = Signer.generate(CART)
    ring = Keyring.load(keyring_path)
    ring.enrol(CART, new.public)
    ring.retire(CART, cart_signer.kid)
    ring.save(keyring_path)  # the running host re-reads the file: no restart
    cart.signer = new
    signed_host.apply_messages([wire(cart.add(KIWI))])
    old = CartMessages(CART, cart.session_id, cart_signer, seq=cart.seq)
    signed_host.apply_messages([wire(old.add(AVOCADO))])
    assert state(signed_host).applied == 2
    assert [r for r, _ in dead_letters(signed_host)] == ["unknown_key"]
    assert isinstance(signed_host.keyring, KeyringFile)
