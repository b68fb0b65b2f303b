"""Schemathesis against the host's own OpenAPI document, in-process (ASGI), positive and negative
inputs: no 500 ever, every response as documented, and a refused request (4xx) changes nothing.

The database is seeded with a customer, a session and a charged receipt, and generated ids are
swapped for those about half the time (deterministically, from the generated value), so the
fuzzer reaches refunds, corrections and top-ups of things that exist, not only 404s.
``SMARTCART_FUZZ_EXAMPLES`` raises the examples per operation; the count is printed with ``-s``.

The fuzzer sends a staff bearer token; a second run sends none (and a wrong one) and shows that
every operation but ``/health`` and the phone's pairing pages answers 401 and changes nothing.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from seckit import CartMessages, state, wire
from sqlalchemy import func, select

from host.api import create_app
from host.db import migrate
from host.db.models import Customer, Session
from host.settings import HostSettings, staff_token_sha256
from host.worker import HostWorker

EXAMPLES = int(os.environ.get("SMARTCART_FUZZ_EXAMPLES", "3"))
TRIED: Counter[str] = Counter()
KNOWN: dict[str, str] = {}
UNDOCUMENTED = [status_code_conformance, content_type_conformance]
STAFF_TOKEN = "fuzz-staff-token-0c9d"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
PUBLIC = {"GET /health", "GET /pair", "POST /pair", "POST /pair/form"} | {
    "GET /dashboard/login",  # the staff sign-in page, and the form that checks the token
    "POST /dashboard/login",
}


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostWorker]:
    d = tmp_path_factory.mktemp("api-fuzz")
    url = f"sqlite:///{d / 'host.db'}"
    migrate(url)
    settings = HostSettings(
        database_url=url,
        worker_id="api-fuzz",
        staff_token_sha256=(staff_token_sha256(STAFF_TOKEN),),
    )
    host = HostWorker(settings)
    host.prepare_database()
    customer_id = host.create_customer("Fuzz", top_up_minor=1_000_000)
    session_id = host.start_session("cart-0001", customer_id)
    cart = CartMessages("cart-0001", session_id, None)
    host.apply_messages([wire(cart.add("kiwi")), wire(cart.add("avocado"))])
    (receipt,) = [
        o.message
        for o in host.apply_messages([wire(cart.checkout())])
        if o.message.type == "receipt"
    ]
    open_session = host.start_session("cart-0001", customer_id)
    KNOWN.update(
        customer_id=customer_id,
        session_id=open_session,
        receipt_id=receipt.receipt_id,
        cart_id="cart-0001",
    )
    yield host
    host.engine.dispose()
    print(f"\nfuzzed API requests: {dict(TRIED)} total {sum(TRIED.values())}")
    shutil.rmtree(d, ignore_errors=True)


def world(worker: HostWorker) -> tuple[object, int, int]:
    with worker.transaction() as s:
        customers = s.scalar(select(func.count()).select_from(Customer)) or 0
        sessions = s.scalar(select(func.count()).select_from(Session)) or 0
    return state(worker), customers, sessions


def fuzz(worker: HostWorker, operation, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    """Up to EXAMPLES generated requests against one operation, as staff."""
    label = operation.label

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case) -> None:  # type: ignore[no-untyped-def]
        for name, value in list((case.path_parameters or {}).items()):
            if name in KNOWN and isinstance(value, str) and value[:1] in "02468ace":
                case.path_parameters[name] = KNOWN[name]
        before = world(worker)
        response = case.call(headers=STAFF)
        TRIED[f"{mode.value} {label}"] += 1
        assert response.status_code < 500, (label, response.text)
        if response.status_code >= 400:
            assert world(worker) == before, (label, response.status_code)
        if mode is GenerationMode.POSITIVE:
            # Bodies must match the document. The document does not list the API's 404/409
            # answers nor the dashboard's HTML (gaps reported to their owner), so status codes
            # and content types are not held to it here: "never a 500" is checked above.
            case.validate_response(response, excluded_checks=UNDOCUMENTED)

    try:
        one()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        # Nothing to break in a request without parameters or body (GET /health).


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_never_500s_and_refusals_change_nothing(
    worker: HostWorker, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(worker))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        fuzz(worker, operation, mode)


@pytest.mark.slow
@pytest.mark.parametrize("auth", [None, "Bearer a-guessed-token", "Basic c3RhZmY6c3RhZmY="])
def test_without_a_staff_token_every_private_operation_is_refused(
    worker: HostWorker, auth: str | None
) -> None:
    """Valid requests (positive mode) without a known token: 401 and no change, all but PUBLIC."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(worker))
    operations = [result.ok() for result in schema.get_all_operations()]
    headers = {} if auth is None else {"Authorization": auth}
    private = [op for op in operations if op.label not in PUBLIC]
    assert {op.label for op in operations} - {op.label for op in private} == PUBLIC

    for operation in private:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        def one(case) -> None:  # type: ignore[no-untyped-def]
            for name, value in list((case.path_parameters or {}).items()):
                if name in KNOWN and isinstance(value, str):
                    case.path_parameters[name] = KNOWN[name]  # things that exist
            case.headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            before = world(worker)
            response = case.call(headers=headers)
            TRIED[f"no-token {case.operation.label}"] += 1
            assert response.status_code == 401, (case.operation.label, response.text)
            assert world(worker) == before

        one()
