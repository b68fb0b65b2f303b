"""The dashboard's read models, staff forms and phone pairing, on SQLite and PostgreSQL.

The host runs without a broker (the ``host`` fixture): cart messages go in through
``HostWorker.apply_messages``, the worker's own path minus MQTT, and the dashboard is driven
through the host's real FastAPI app with Starlette's test client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hostkit import STAFF, CartScript, replies, wire
from sqlalchemy import func, select

from host import accounts
from host.api import create_app
from host.dashboard import queries
from host.dashboard.errors import BadForm, PairingRefused
from host.dashboard.pairing import PairingSettings, check_code, pair
from host.dashboard.router import parse_kr
from host.db.models import Customer
from host.db.models import Session as ShoppingSession
from host.worker import HostWorker
from smartcart.contract import messages as m

SECRET = b"dashboard-test-secret"
SETTINGS = PairingSettings(secret=SECRET.decode(), code_ttl_s=600, clock_skew_s=30)


def code_for(cart_id: str, issued_at: datetime, key: bytes | None = None) -> m.PairingCode:
    key = key or m.cart_pairing_key(SECRET, cart_id)
    issued_at = issued_at.replace(microsecond=0)
    nonce = "ab" * 16
    sig = m.pairing_sig(key, m.pairing_text(cart_id, nonce, issued_at))
    return m.PairingCode(cart_id=cart_id, nonce=nonce, issued_at=issued_at, sig=sig)


def shop(
    host: HostWorker, name: str = "Ann", balance_minor: int = 10_000
) -> tuple[str, CartScript]:
    customer_id = host.create_customer(name, balance_minor)
    session_id = host.start_session("cart-0001", customer_id)
    return customer_id, CartScript(session_id)


@pytest.mark.parametrize(
    ("text", "minor"),
    [("12,50", 1250), ("12.5", 1250), ("12", 1200), ("1 234,05 kr", 123405), ("", None)],
)
def test_staff_amounts_are_read_as_kronor(text: str, minor: int | None) -> None:
    assert parse_kr(text) == minor


@pytest.mark.parametrize("text", ["12,505", "-3", "abc", "1,2,3", "9999999999"])
def test_unreadable_amounts_are_refused(text: str) -> None:
    with pytest.raises(BadForm):
        parse_kr(text)


NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "refused"),
    [
        (code_for("cart-0001", NOW - timedelta(seconds=5)), None),
        (code_for("cart-0001", NOW - timedelta(seconds=599)), None),
        (code_for("cart-0001", NOW - timedelta(seconds=601)), "expired"),
        (code_for("cart-0001", NOW + timedelta(seconds=20)), None),
        (code_for("cart-0001", NOW + timedelta(seconds=60)), "future"),
        (code_for("cart-0001", NOW, key=b"another cart's key"), "not made by that cart"),
        # A code signed for cart-0002 does not open a session on cart-0001.
        (
            code_for("cart-0002", NOW).model_copy(update={"cart_id": "cart-0001"}),
            "not made by that cart",
        ),
    ],
)
def test_pairing_codes_are_checked(code: m.PairingCode, refused: str | None) -> None:
    if refused is None:
        check_code(code, SECRET, NOW, SETTINGS)
        return
    with pytest.raises(PairingRefused, match=refused):
        check_code(code, SECRET, NOW, SETTINGS)


def customer_with_token(host: HostWorker, name: str) -> tuple[str, str]:
    customer_id = host.create_customer(name, 0)
    with host.transaction() as s:
        return customer_id, accounts.issue_pairing_token(s, customer_id)


def test_a_code_starts_one_session_once(host: HostWorker) -> None:
    _, token = customer_with_token(host, "Ann")
    code = code_for("cart-0001", datetime.now(UTC) - timedelta(seconds=2))
    paired = pair(host, code, token, SETTINGS, datetime.now(UTC))
    assert (paired.cart_id, paired.customer_name) == ("cart-0001", "Ann")
    assert host.session_status(paired.session_id) == "active"
    with pytest.raises(PairingRefused, match="already used"):
        pair(host, code, token, SETTINGS, datetime.now(UTC))
    with pytest.raises(PairingRefused, match="not configured"):
        pair(host, code, token, PairingSettings(secret=None), datetime.now(UTC))


def test_a_customer_id_alone_cannot_pair(host: HostWorker) -> None:
    """Someone who knows Ann's id (or an old token of hers) cannot put a cart on her wallet."""
    ann, old_token = customer_with_token(host, "Ann")
    with host.transaction() as s:
        token = accounts.issue_pairing_token(s, ann)  # a lost phone: the old token is replaced
    never_issued = host.create_customer("Bo", 0)
    code = code_for("cart-0001", datetime.now(UTC))
    for guess in (ann, old_token, "", never_issued):
        with pytest.raises(PairingRefused, match="pairing token is not valid"):
            pair(host, code, guess, SETTINGS, datetime.now(UTC))
    with host.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ShoppingSession)) == 0
        row = s.get(Customer, ann)
        assert row is not None and row.pairing_token_sha256 not in (None, token)  # a hash only
    assert pair(host, code, token, SETTINGS, datetime.now(UTC)).customer_name == "Ann"


def test_carts_and_session_detail_follow_the_events(host: HostWorker) -> None:
    customer_id, cart = shop(host)
    host.apply_messages([wire(cart.add("banana", 412)), wire(cart.add("oatly-oat-milk"))])
    ask = cart.event(
        "unresolved",
        action="add",
        grams=190,
        candidates=(m.Candidate(sku="granny-smith", score=0.5),),
    )
    host.apply_messages([wire(ask)])
    with host.transaction() as s:
        (row,) = queries.carts(s, host.catalog)
        detail = queries.session_detail(s, host.catalog, cart.session_id)
        before = queries.fingerprint(s)
    assert (row.cart_id, row.state, row.customer_name) == ("cart-0001", "unresolved", "Ann")
    assert (row.item_count, row.total_minor) == (2, 1030 + 2400)
    assert [e.kind for e in detail.events] == ["add", "add", "unresolved"]
    assert detail.open_unresolved == 1 and detail.receipt is None

    host.apply_messages([wire(cart.event("resolution", sku="granny-smith", resolves=ask.event_id))])
    out = host.apply_messages([wire(cart.checkout())])
    assert replies(out, "receipt")
    with host.transaction() as s:
        (row,) = queries.carts(s, host.catalog)
        detail = queries.session_detail(s, host.catalog, cart.session_id)
        after = queries.fingerprint(s)
    assert row.state == "checked out"
    assert detail.receipt is not None and detail.receipt.total_minor == 1030 + 2400 + 608
    assert detail.events[-1].text == "paid"
    assert detail.balance_minor == 10_000 - 4038
    assert after != before  # the live stream re-renders


def test_a_refund_form_goes_through_the_ledger(host: HostWorker) -> None:
    customer_id, cart = shop(host, "Bo", 20_000)
    host.apply_messages([wire(cart.add("banana", 412)), wire(cart.add("oatly-oat-milk"))])
    (receipt,) = replies(host.apply_messages([wire(cart.checkout())]), "receipt")
    client = TestClient(create_app(host), headers=STAFF)
    url = f"/dashboard/receipts/{receipt.receipt_id}/lines/2/refund"

    # A plain form (no script): redirect back to the session's page.
    r = client.post(
        url,
        data={"amount": "12,50", "reason": "leaking", "session": cart.session_id},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith(cart.session_id)
    assert host.balance_minor(customer_id) == 20_000 - 3430 + 1250
    page = client.get("/dashboard", params={"session": cart.session_id}).text
    assert "refund: leaking" in page and "178,20 kr" in page

    # The page's script asks for JSON: 204, or the refusal with its reason.
    json = {"accept": "application/json"}
    too_much = client.post(url, data={"amount": "20", "reason": "x"}, headers=json)
    assert too_much.status_code == 409 and "exceeds" in too_much.json()["detail"]
    unreadable = client.post(url, data={"amount": "lots", "reason": "x"}, headers=json)
    assert unreadable.status_code == 422
    rest = client.post(url, data={"amount": "", "reason": "all of it"}, headers=json)
    assert rest.status_code == 204
    assert host.balance_minor(customer_id) == 20_000 - 3430 + 2400

    fix = f"/dashboard/receipts/{receipt.receipt_id}/lines/1/correction"
    r = client.post(
        fix, data={"quantity": "1", "grams": "400", "reason": "re-weighed"}, headers=json
    )
    assert r.status_code == 204  # 412 g -> 400 g of bananas at 25,00 kr/kg: 0,30 kr back
    assert host.balance_minor(customer_id) == 20_000 - 3430 + 2400 + 30


def test_a_refund_or_correction_of_an_impossible_line_is_refused_before_any_query(
    host: HostWorker,
) -> None:
    """The fuzzer's case: a line number past 64 bits crashed SQLite (a 500); a malformed
    receipt id is refused the same way."""
    customer_id, cart = shop(host, "Di", 20_000)
    host.apply_messages([wire(cart.add("oatly-oat-milk"))])
    (receipt,) = replies(host.apply_messages([wire(cart.checkout())]), "receipt")
    client = TestClient(create_app(host), headers=STAFF)
    balance = host.balance_minor(customer_id)
    for path in (
        f"/dashboard/receipts/{receipt.receipt_id}/lines/9223372036854775808/refund",
        f"/dashboard/receipts/{receipt.receipt_id}/lines/0/correction",
        "/dashboard/receipts/not-a-receipt/lines/1/refund",
    ):
        r = client.post(path, data={"amount": "1", "quantity": "1", "reason": "x"})
        assert r.status_code == 422, path
    assert host.balance_minor(customer_id) == balance


def test_the_phone_endpoint_pairs_and_refuses(host: HostWorker, monkeypatch) -> None:
    monkeypatch.setenv("SMARTCART_PAIRING_SECRET", SECRET.decode())
    client = TestClient(create_app(host))  # no staff token: the phone's pages are public
    customer_id, token = customer_with_token(host, "Cy")
    code = code_for("cart-0001", datetime.now(UTC))
    body = {**code.model_dump(mode="json"), "customer_token": token}
    body["issued_at"] = int(code.issued_at.timestamp())  # as the QR URL carries it

    page = client.get(
        "/pair",
        params={"cart": code.cart_id, "nonce": code.nonce, "t": body["issued_at"], "sig": code.sig},
    )
    assert page.status_code == 200 and "Start shopping on" in page.text
    r = client.post("/pair", json=body)
    assert r.status_code == 201 and r.json()["customer_name"] == "Cy"
    assert client.post("/pair", json=body).status_code == 403  # used
    forged = {**body, "sig": "0" * 32}
    assert client.post("/pair", json=forged).status_code == 403
    by_id = client.post("/pair", json={**body, "customer_token": customer_id})
    assert by_id.status_code == 403 and "pairing token" in by_id.json()["detail"]
    fresh = code_for("cart-0001", datetime.now(UTC) + timedelta(seconds=1))
    form = {"cart": fresh.cart_id, "nonce": fresh.nonce, "sig": fresh.sig}
    form["t"] = str(int(fresh.issued_at.timestamp()))
    refused = client.post("/pair/form", data={**form, "customer_token": customer_id})
    assert refused.status_code == 403 and "pairing token is not valid" in refused.text
    old = {k: v for k, v in body.items() if k != "customer_token"} | {"customer_id": customer_id}
    assert client.post("/pair", json=old).status_code == 422  # the old request shape is gone
    assert client.post("/pair", json={**body, "nonce": "short"}).status_code == 403
