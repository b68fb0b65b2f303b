"""The host's HTTP API (FastAPI) for staff and customers.

Customers and their wallets (top-ups), shopping sessions with their live baskets, receipts,
refunds and corrections of receipt lines, dead letters. Every handler is one database
transaction through the ``HostWorker`` it was built with, so the API and the MQTT worker share
one engine and one set of rules.

Bad requests get a 4xx with a message, never a 500: request bodies and path parameters are
validated by pydantic (422), and the host's own errors map to statuses in ``_STATUS``
(``NotFound`` 404, ``Conflict`` 409, ``LedgerError`` 422). The OpenAPI document is served at
``/openapi.json`` (interactive at ``/docs``).

Everything but ``/health``, the phone's pairing pages and the staff sign-in page is for staff:
it needs ``Authorization: Bearer <staff token>``, a token whose SHA-256 is listed in
``HostSettings.staff_token_sha256`` (401 otherwise, before the handler runs, so a refused
request changes nothing). A browser cannot send that header, so the dashboard's sign-in
(``/dashboard/login``) puts the same token in an HttpOnly, SameSite=Strict cookie, which the
guard accepts too; SameSite=Strict keeps other sites' pages from posting staff forms with it.
The OpenAPI document declares both schemes.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Literal, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from host import accounts, checkout
from host.dashboard.router import dashboard_router
from host.db.models import Cart, DeadLetter, Receipt, ReceiptAdjustment
from host.errors import Conflict, Declined, HostError, LedgerError, NotFound, Rejected
from host.params import UUID_PATTERN, CartPath, LineNo, UuidPath
from host.payments import LedgerGateway
from host.settings import staff_token_sha256
from host.worker import HostWorker
from smartcart.contract.topics import CART_ID_PATTERN

T = TypeVar("T")

# Far above any real basket; keeps sums inside 64-bit columns whatever a client sends.
MAX_MINOR = 100_000_000_00

_STATUS: dict[type[HostError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Declined: status.HTTP_402_PAYMENT_REQUIRED,
    LedgerError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Rejected: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


_BEARER = HTTPBearer(
    auto_error=False,  # our own 401 with WWW-Authenticate, for a missing and a wrong token alike
    scheme_name="staffToken",
    description="A staff token; the host lists its SHA-256 (HostSettings.staff_token_sha256).",
)
STAFF_COOKIE = "smartcart_staff"
_COOKIE = APIKeyCookie(
    name=STAFF_COOKIE,
    auto_error=False,
    scheme_name="staffCookie",
    description="The dashboard's sign-in cookie (POST /dashboard/login): the same staff token.",
)
_LOGIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SmartCart staff sign-in</title>
<link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>
<body><main><h1>SmartCart staff</h1>{error}
<form method="post" action="/dashboard/login">
<label>Staff token <input name="token" type="password" required autocomplete="off"></label>
<button class="btn primary" type="submit">Sign in</button></form></main></body></html>"""
_UNAUTHORIZED: dict[int | str, dict[str, object]] = {
    401: {"description": "No staff bearer token, or not one the host knows"}
}


def is_staff_token(token: str, known_sha256: tuple[str, ...]) -> bool:
    """True when ``token`` hashes to one of ``known_sha256``; compares every entry in
    constant time, so the answer's timing says nothing about which or how much matched."""
    digest = staff_token_sha256(token)
    found = False
    for known in known_sha256:
        found |= hmac.compare_digest(digest, known)
    return found


def staff_guard(known_sha256: tuple[str, ...]) -> Callable[..., None]:
    """A FastAPI dependency that refuses (401) any request without a known staff token."""

    def require_staff(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
        cookie: Annotated[str | None, Depends(_COOKIE)],
    ) -> None:
        token = credentials.credentials if credentials is not None else cookie
        if token is None or not is_staff_token(token, known_sha256):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a staff bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_staff


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewCustomer(_In):
    name: str = Field(min_length=1, max_length=120)
    top_up_minor: int = Field(0, ge=0, le=MAX_MINOR, description="Opening balance, minor units.")


class TopUp(_In):
    amount_minor: int = Field(gt=0, le=MAX_MINOR)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=64, description="Reuse on retry: posts once."
    )


class NewSession(_In):
    cart_id: str = Field(pattern=CART_ID_PATTERN)
    customer_id: str = Field(pattern=UUID_PATTERN)


class Refund(_In):
    amount_minor: int | None = Field(
        None, gt=0, le=MAX_MINOR, description="None: all that is left."
    )
    reason: str = Field(min_length=1, max_length=200)


class Correction(_In):
    quantity: int = Field(ge=0, le=1000)
    grams: int | None = Field(None, ge=0, le=100_000, description="Required for per-kg lines.")
    reason: str = Field(min_length=1, max_length=200)


class CustomerOut(BaseModel):
    customer_id: str
    name: str
    balance_minor: int
    currency: str
    created_at: datetime


class NewCustomerOut(CustomerOut):
    pairing_token: str = Field(
        description="The customer's secret for pairing a cart from their phone (POST /pair). "
        "Shown only here: the host keeps its SHA-256."
    )


class PairingTokenOut(BaseModel):
    customer_id: str
    pairing_token: str = Field(description="Replaces the customer's earlier token; shown once.")


class SessionOut(BaseModel):
    session_id: str
    cart_id: str
    customer_id: str
    status: Literal["active", "unresolved", "checked_out", "abandoned"]
    started_at: datetime
    closed_at: datetime | None
    open_unresolved: int
    acked_seq: int


class BasketLineOut(BaseModel):
    sku: str
    name: str
    pricing: Literal["per_unit", "per_kg"]
    quantity: int
    grams: int | None
    unit_price_minor: int
    amount_minor: int


class BasketOut(BaseModel):
    session: SessionOut
    lines: list[BasketLineOut]
    total_minor: int
    currency: str


class AdjustmentOut(BaseModel):
    adjustment_id: int
    kind: Literal["refund", "correction"]
    amount_minor: int = Field(description="> 0 back to the customer, < 0 charged extra.")
    reason: str
    transaction_id: str
    created_at: datetime


class ReceiptLineOut(BasketLineOut):
    line_no: int
    adjustments: list[AdjustmentOut]
    effective_amount_minor: int


class ReceiptOut(BaseModel):
    receipt_id: str
    session_id: str
    request_id: str
    customer_id: str
    cart_id: str
    lines: list[ReceiptLineOut]
    total_minor: int
    currency: str
    balance_after_minor: int
    charged_at: datetime


class AdjustmentResult(BaseModel):
    adjustment_id: int
    receipt_id: str
    line_no: int
    kind: str
    amount_minor: int
    transaction_id: str
    balance_minor: int
    created_at: datetime


class CartOut(BaseModel):
    cart_id: str
    applied_seq: int
    online: bool
    firmware: str | None
    status_at: datetime | None
    current_session_id: str | None


class DeadLetterOut(BaseModel):
    id: int
    topic: str
    reason: str
    detail: str
    payload_base64: str
    received_at: datetime


def create_app(worker: HostWorker, *, manage_worker: bool = False) -> FastAPI:
    """The API over ``worker``; with ``manage_worker`` the app starts and stops it too."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_worker:
            worker.start()
        try:
            yield
        finally:
            if manage_worker:
                worker.stop()

    app = FastAPI(
        title="smartcart checkout host",
        version="1",
        summary="Customers, wallets, sessions, live baskets, receipts, refunds, dead letters.",
        lifespan=lifespan,
    )
    currency = worker.settings.currency
    staff_only = [Depends(staff_guard(worker.settings.staff_token_sha256))]
    staff = APIRouter(dependencies=staff_only, responses=_UNAUTHORIZED)

    @app.exception_handler(HostError)
    async def host_error(_request: Request, exc: HostError) -> JSONResponse:
        code = next(
            (c for t, c in _STATUS.items() if isinstance(exc, t)), status.HTTP_400_BAD_REQUEST
        )
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=code)

    def tx(fn: Callable[[Session], T]) -> T:
        with worker.transaction() as s:
            return fn(s)

    def customer_out(s: Session, customer_id: str) -> CustomerOut:
        c = accounts.customer(s, customer_id)
        return CustomerOut(
            customer_id=c.id,
            name=c.name,
            balance_minor=accounts.balance_minor(s, c.id),
            currency=currency,
            created_at=c.created_at,
        )

    def session_out(s: Session, session_id: str) -> SessionOut:
        x = accounts.shopping_session(s, session_id)
        cart = s.get(Cart, x.cart_id)
        return SessionOut(
            session_id=x.id,
            cart_id=x.cart_id,
            customer_id=x.customer_id,
            status=x.status,  # CHECK-constrained in the database
            started_at=x.started_at,
            closed_at=x.closed_at,
            open_unresolved=x.open_unresolved,
            acked_seq=0 if cart is None else cart.applied_seq,
        )

    def receipt_out(s: Session, receipt: Receipt) -> ReceiptOut:
        lines = []
        for r in checkout.receipt_lines(s, receipt.id):
            adjustments = s.scalars(
                select(ReceiptAdjustment)
                .where(ReceiptAdjustment.receipt_line_id == r.id)
                .order_by(ReceiptAdjustment.id)
            )
            lines.append(
                ReceiptLineOut(
                    line_no=r.line_no,
                    sku=r.sku,
                    name=r.name,
                    pricing=r.pricing,
                    quantity=r.quantity,
                    grams=r.grams,
                    unit_price_minor=r.unit_price_minor,
                    amount_minor=r.amount_minor,
                    adjustments=[
                        AdjustmentOut(
                            adjustment_id=a.id,
                            kind=a.kind,
                            amount_minor=a.amount_minor,
                            reason=a.reason,
                            transaction_id=a.transaction_id,
                            created_at=a.created_at,
                        )
                        for a in adjustments
                    ],
                    effective_amount_minor=checkout.effective_amount_minor(s, r),
                )
            )
        return ReceiptOut(
            receipt_id=receipt.id,
            session_id=receipt.session_id,
            request_id=receipt.request_id,
            customer_id=receipt.customer_id,
            cart_id=receipt.cart_id,
            lines=lines,
            total_minor=receipt.total_minor,
            currency=receipt.currency,
            balance_after_minor=receipt.balance_after_minor,
            charged_at=receipt.charged_at,
        )

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @staff.post("/customers", status_code=201, tags=["customers"])
    def create_customer(body: NewCustomer) -> NewCustomerOut:
        def create(s: Session) -> NewCustomerOut:
            customer_id = accounts.create_customer(s, body.name, body.top_up_minor, currency)
            token = accounts.issue_pairing_token(s, customer_id)
            return NewCustomerOut(**customer_out(s, customer_id).model_dump(), pairing_token=token)

        return tx(create)

    @staff.post("/customers/{customer_id}/pairing-token", status_code=201, tags=["customers"])
    def new_pairing_token(customer_id: UuidPath) -> PairingTokenOut:
        """A new pairing token for a lost phone; the earlier token stops working at once."""
        token = tx(lambda s: accounts.issue_pairing_token(s, customer_id))
        return PairingTokenOut(customer_id=customer_id, pairing_token=token)

    @staff.get("/customers/{customer_id}", tags=["customers"])
    def get_customer(customer_id: UuidPath) -> CustomerOut:
        return tx(lambda s: customer_out(s, customer_id))

    @staff.post("/customers/{customer_id}/top-ups", tags=["customers"])
    def top_up(customer_id: UuidPath, body: TopUp) -> CustomerOut:
        worker.top_up(customer_id, body.amount_minor, body.idempotency_key)
        return tx(lambda s: customer_out(s, customer_id))

    @staff.get("/customers/{customer_id}/receipts", tags=["receipts"])
    def customer_receipts(customer_id: UuidPath) -> list[ReceiptOut]:
        def read(s: Session) -> list[ReceiptOut]:
            accounts.customer(s, customer_id)
            rows = s.scalars(
                select(Receipt)
                .where(Receipt.customer_id == customer_id)
                .order_by(Receipt.charged_at)
            )
            return [receipt_out(s, r) for r in rows]

        return tx(read)

    @staff.post("/sessions", status_code=201, tags=["sessions"])
    def start_session(body: NewSession) -> SessionOut:
        session_id = worker.start_session(body.cart_id, body.customer_id)
        return tx(lambda s: session_out(s, session_id))

    @staff.get("/sessions/{session_id}", tags=["sessions"])
    def get_session(session_id: UuidPath) -> SessionOut:
        return tx(lambda s: session_out(s, session_id))

    @staff.get("/sessions/{session_id}/basket", tags=["sessions"])
    def get_basket(session_id: UuidPath) -> BasketOut:
        def read(s: Session) -> BasketOut:
            lines = [
                BasketLineOut(
                    sku=x.sku,
                    name=x.name,
                    pricing=x.pricing.value,
                    quantity=x.quantity,
                    grams=x.grams,
                    unit_price_minor=x.unit_price_minor,
                    amount_minor=x.amount_minor,
                )
                for x in accounts.basket(s, worker.catalog, session_id)
            ]
            return BasketOut(
                session=session_out(s, session_id),
                lines=lines,
                total_minor=sum(x.amount_minor for x in lines),
                currency=currency,
            )

        return tx(read)

    @staff.get("/sessions/{session_id}/receipt", tags=["receipts"])
    def session_receipt(session_id: UuidPath) -> ReceiptOut:
        def read(s: Session) -> ReceiptOut:
            accounts.shopping_session(s, session_id)
            row = checkout.receipt_for_session(s, session_id)
            if row is None:
                raise NotFound(f"session {session_id} has not checked out")
            return receipt_out(s, row)

        return tx(read)

    @staff.get("/receipts/{receipt_id}", tags=["receipts"])
    def get_receipt(receipt_id: UuidPath) -> ReceiptOut:
        def read(s: Session) -> ReceiptOut:
            row = s.get(Receipt, receipt_id)
            if row is None:
                raise NotFound(f"no receipt {receipt_id}")
            return receipt_out(s, row)

        return tx(read)

    @staff.post("/receipts/{receipt_id}/lines/{line_no}/refund", tags=["receipts"])
    def refund(receipt_id: UuidPath, line_no: LineNo, body: Refund) -> AdjustmentResult:
        adj = tx(
            lambda s: checkout.refund_line(
                s, receipt_id, line_no, body.amount_minor, body.reason, LedgerGateway
            )
        )
        return AdjustmentResult.model_validate(adj, from_attributes=True)

    @staff.post("/receipts/{receipt_id}/lines/{line_no}/correction", tags=["receipts"])
    def correct(receipt_id: UuidPath, line_no: LineNo, body: Correction) -> AdjustmentResult:
        adj = tx(
            lambda s: checkout.correct_line(
                s, receipt_id, line_no, body.quantity, body.grams, body.reason, LedgerGateway
            )
        )
        return AdjustmentResult.model_validate(adj, from_attributes=True)

    @staff.get("/carts/{cart_id}", tags=["carts"])
    def get_cart(cart_id: CartPath) -> CartOut:
        def read(s: Session) -> CartOut:
            cart = s.get(Cart, cart_id)
            if cart is None:
                raise NotFound(f"no cart {cart_id}")
            return CartOut(
                cart_id=cart.id,
                applied_seq=cart.applied_seq,
                online=cart.online,
                firmware=cart.firmware,
                status_at=cart.status_at,
                current_session_id=cart.current_session_id,
            )

        return tx(read)

    @staff.get("/dead-letters", tags=["ops"])
    def dead_letters(
        reason: Annotated[str | None, Query(max_length=32)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterOut]:
        def read(s: Session) -> list[DeadLetterOut]:
            stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
            if reason is not None:
                stmt = stmt.where(DeadLetter.reason == reason)
            return [
                DeadLetterOut(
                    id=d.id,
                    topic=d.topic,
                    reason=d.reason,
                    detail=d.detail,
                    payload_base64=base64.b64encode(d.payload).decode(),
                    received_at=d.received_at,
                )
                for d in s.scalars(stmt)
            ]

        return tx(read)

    @app.get("/dashboard/login", response_class=HTMLResponse, tags=["dashboard"])
    def login_page() -> HTMLResponse:
        return HTMLResponse(_LOGIN_HTML.format(error=""))

    @app.post(
        "/dashboard/login",
        response_class=HTMLResponse,
        status_code=303,
        tags=["dashboard"],
        responses={401: {"description": "Not a staff token", "content": {"text/html": {}}}},
    )
    async def login(request: Request) -> Response:
        """Sign a staff browser in: the form's token goes into the staff cookie."""
        form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
        token = form.get("token", [""])[0].strip()
        if not is_staff_token(token, worker.settings.staff_token_sha256):
            error = '<p class="flash">That is not a staff token.</p>'
            return HTMLResponse(_LOGIN_HTML.format(error=error), status.HTTP_401_UNAUTHORIZED)
        answer = RedirectResponse("/dashboard", status.HTTP_303_SEE_OTHER)
        answer.set_cookie(
            STAFF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=12 * 3600,  # one shift
        )
        return answer

    app.include_router(staff)
    # /dashboard (staff) and the phone's /pair (public): host/dashboard
    app.include_router(dashboard_router(worker, staff=staff_only))
    return app
