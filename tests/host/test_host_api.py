"""The HTTP API: the staff and customer flows work, and bad input gets a 4xx with a message."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hostkit import STAFF, STAFF_SHA256, STAFF_TOKEN, CartScript, wire
from sqlalchemy import func, select

from host import accounts
from host.api import create_app
from host.db.models import Customer, Session
from host.settings import HostSettings
from host.worker import HostWorker


@pytest.fixture
def api(host: HostWorker) -> Iterator[TestClient]:
    # Server exceptions come back as 500s (not raised), as a real client would see them.
    with TestClient(create_app(host), raise_server_exceptions=False, headers=STAFF) as client:
        yield client


@pytest.fixture(scope="module")
def read_mostly_api(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One SQLite-backed API for the table of bad requests (they change nothing)."""
    path = tmp_path_factory.mktemp("api") / "host.db"
    shutil.copyfile(sqlite_template, path)
    worker = HostWorker(
        HostSettings(
            database_url=f"sqlite:///{path}", worker_id="test-api", staff_token_sha256=STAFF_SHA256
        )
    )
    worker.prepare_database()
    with TestClient(create_app(worker), raise_server_exceptions=False, headers=STAFF) as client:
        yield client
    worker.engine.dispose()


def test_customer_session_basket_receipt_refund(api: TestClient, host: HostWorker) -> None:
    r = api.post("/customers", json={"name": "Alice", "top_up_minor": 10_000})
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    assert (
        api.post(f"/customers/{customer_id}/top-ups", json={"amount_minor": 500}).json()[
            "balance_minor"
        ]
        == 10_500
    )
    r = api.post("/sessions", json={"cart_id": "cart-0001", "customer_id": customer_id})
    assert r.status_code == 201, r.text
    session_id = r.json()["session_id"]
    cart = CartScript(session_id)
    host.apply_messages([wire(cart.add("avocado")), wire(cart.add("golden-delicious", 250))])
    basket = api.get(f"/sessions/{session_id}/basket").json()
    assert basket["total_minor"] == 1500 + 800
    assert {(x["sku"], x["grams"]) for x in basket["lines"]} == {
        ("avocado", None),
        ("golden-delicious", 250),
    }
    assert api.get(f"/sessions/{session_id}/receipt").status_code == 404
    host.apply_messages([wire(cart.checkout())])
    receipt = api.get(f"/sessions/{session_id}/receipt").json()
    assert receipt["total_minor"] == 2300 and receipt["balance_after_minor"] == 10_500 - 2300
    r = api.post(f"/receipts/{receipt['receipt_id']}/lines/1/refund", json={"reason": "returned"})
    assert r.status_code == 200, r.text
    assert r.json()["amount_minor"] == receipt["lines"][0]["amount_minor"]
    again = api.get(f"/receipts/{receipt['receipt_id']}").json()
    assert again["lines"][0]["effective_amount_minor"] == 0
    assert (
        api.get(f"/customers/{customer_id}").json()["balance_minor"]
        == 10_500 - 2300 + again["lines"][0]["amount_minor"]
    )
    assert api.get("/carts/cart-0001").json()["applied_seq"] == 2


NOBODY = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("post", "/customers", {"name": ""}, 422),
        ("post", "/customers", {"name": "A", "top_up_minor": -5}, 422),
        ("post", "/customers", {"name": "A", "extra": 1}, 422),
        ("post", "/customers", {"name": "A", "top_up_minor": 10**30}, 422),
        ("post", "/customers", "not json", 422),
        ("get", "/customers/not-a-uuid", None, 422),
        ("get", f"/customers/{NOBODY}", None, 404),
        ("post", f"/customers/{NOBODY}/top-ups", {"amount_minor": 100}, 404),
        ("post", f"/customers/{NOBODY}/top-ups", {"amount_minor": 0}, 422),
        ("post", "/sessions", {"cart_id": "Cart 1", "customer_id": NOBODY}, 422),
        ("post", "/sessions", {"cart_id": "cart-0001", "customer_id": NOBODY}, 404),
        ("get", f"/sessions/{NOBODY}/basket", None, 404),
        ("get", f"/receipts/{NOBODY}", None, 404),
        ("post", f"/receipts/{NOBODY}/lines/1/refund", {"reason": "x"}, 404),
        ("post", f"/receipts/{NOBODY}/lines/0/refund", {"reason": "x"}, 422),
        ("post", f"/receipts/{NOBODY}/lines/1/correction", {"quantity": -1, "reason": "x"}, 422),
        ("get", "/carts/cart-9999", None, 404),
        ("get", "/dead-letters?limit=0", None, 422),
    ],
)
def test_bad_requests_get_4xx_with_a_message(
    read_mostly_api: TestClient, method: str, path: str, body: object, code: int
) -> None:
    api = read_mostly_api
    if isinstance(body, str):
        r = api.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        r = api.request(method, path, json=body)
    assert r.status_code == code, r.text
    assert r.json()["detail"]


def test_refund_beyond_the_line_is_a_conflict(api: TestClient, host: HostWorker) -> None:
    customer_id = api.post("/customers", json={"name": "Bo", "top_up_minor": 5000}).json()[
        "customer_id"
    ]
    session_id = api.post(
        "/sessions", json={"cart_id": "cart-0001", "customer_id": customer_id}
    ).json()["session_id"]
    cart = CartScript(session_id)
    host.apply_messages([wire(cart.add("kiwi")), wire(cart.checkout())])
    receipt_id = api.get(f"/sessions/{session_id}/receipt").json()["receipt_id"]
    r = api.post(
        f"/receipts/{receipt_id}/lines/1/refund", json={"amount_minor": 501, "reason": "x"}
    )
    assert r.status_code == 409 and "exceeds" in r.json()["detail"]
    r = api.post(
        f"/receipts/{receipt_id}/lines/1/correction", json={"quantity": 1, "reason": "same"}
    )
    assert r.status_code == 409


def test_openapi_document_is_served(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["info"]["title"] == "smartcart checkout host"
    assert "/receipts/{receipt_id}/lines/{line_no}/refund" in doc["paths"]


def test_dead_letters_are_listed(api: TestClient, host: HostWorker) -> None:
    host.apply_messages([("smartcart/v1/carts/cart-0001/events", b"{oops")])
    letters = api.get("/dead-letters").json()
    assert [(d["reason"], d["topic"]) for d in letters] == [
        ("not_json", "smartcart/v1/carts/cart-0001/events")
    ]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-staff-token"}])
def test_staff_endpoints_refuse_a_missing_or_wrong_token(
    host: HostWorker, headers: dict[str, str]
) -> None:
    customer_id = host.create_customer("Ann", 1000)
    client = TestClient(create_app(host), headers=headers)
    writes = [
        ("post", "/customers", {"name": "Mallory", "top_up_minor": 10**8}),
        ("post", f"/customers/{customer_id}/top-ups", {"amount_minor": 10**8}),
        ("post", "/sessions", {"cart_id": "cart-0001", "customer_id": customer_id}),
        ("post", f"/receipts/{NOBODY}/lines/1/refund", {"reason": "free money"}),
        ("post", f"/receipts/{NOBODY}/lines/1/correction", {"quantity": 0, "reason": "x"}),
    ]
    reads = [f"/customers/{customer_id}", f"/customers/{customer_id}/receipts", "/dead-letters"]
    for method, path, body in writes:
        r = client.request(method, path, json=body)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    for path in reads + ["/dashboard", "/dashboard/fragment"]:
        assert client.get(path).status_code == 401, path
    refund = client.post(f"/dashboard/receipts/{NOBODY}/lines/1/refund", data={"amount": "5"})
    assert refund.status_code == 401
    # Nothing changed: one customer, its balance, no session.
    with host.transaction() as s:
        assert list(s.scalars(select(Customer.id))) == [customer_id]
        assert s.scalar(select(func.count()).select_from(Session)) == 0
    assert host.balance_minor(customer_id) == 1000


def test_health_and_the_phone_pages_need_no_token(host: HostWorker) -> None:
    client = TestClient(create_app(host))
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/dashboard/login").status_code == 200
    assert client.get("/pair").status_code == 403  # public: refused for the bad code, not 401
    assert client.get("/dashboard/static/dashboard.css").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_the_openapi_document_declares_the_staff_scheme(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert (schemes["staffToken"]["type"], schemes["staffToken"]["scheme"]) == ("http", "bearer")
    assert (schemes["staffCookie"]["in"], schemes["staffCookie"]["name"]) == (
        "cookie",
        "smartcart_staff",
    )
    ops = {(p, m): op for p, methods in doc["paths"].items() for m, op in methods.items()}
    staff_only = [{"staffToken": []}, {"staffCookie": []}]  # either one
    public = {key for key, op in ops.items() if op.get("security") != staff_only}
    assert public == {
        ("/health", "get"),
        ("/pair", "get"),
        ("/pair", "post"),
        ("/pair/form", "post"),
        ("/dashboard/login", "get"),
        ("/dashboard/login", "post"),
    }
    assert ("/customers", "post") in ops and ("/dashboard", "get") in ops


def test_a_staff_browser_signs_in_with_its_token_and_gets_a_strict_cookie(
    host: HostWorker,
) -> None:
    browser = TestClient(create_app(host))
    assert "Staff token" in browser.get("/dashboard/login").text
    wrong = browser.post("/dashboard/login", data={"token": "guess"}, follow_redirects=False)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert browser.get("/dashboard").status_code == 401
    ok = browser.post("/dashboard/login", data={"token": STAFF_TOKEN}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert browser.get("/dashboard").status_code == 200  # the cookie is the staff credential
    assert browser.get("/dead-letters").status_code == 200
    browser.cookies.set("smartcart_staff", "forged")
    assert browser.get("/dashboard").status_code == 401


def test_a_new_customer_gets_a_pairing_token_once(api: TestClient, host: HostWorker) -> None:
    created = api.post("/customers", json={"name": "Ann"}).json()
    token = created["pairing_token"]
    assert len(token) >= 32 and token not in api.get(f"/customers/{created['customer_id']}").text
    with host.transaction() as s:
        found = accounts.customer_by_pairing_token(s, token)
        assert found is not None and found.id == created["customer_id"]
    again = api.post(f"/customers/{created['customer_id']}/pairing-token")
    assert again.status_code == 201
    with host.transaction() as s:
        assert accounts.customer_by_pairing_token(s, token) is None  # replaced
        found = accounts.customer_by_pairing_token(s, again.json()["pairing_token"])
        assert found is not None and found.id == created["customer_id"]
    assert api.post(f"/customers/{NOBODY}/pairing-token").status_code == 404
